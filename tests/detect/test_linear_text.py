"""Parsers of a file's text run in time linear in its length: backtracking bait is cheap."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.detect import detect_file
from provenance.detect.families.parameters_text import a1111_settings, parse_a1111
from tests.fixtures_media import (
    A1111_PARAMETERS,
    exif_bytes,
    jpeg,
    png_with_chunks,
    user_comment,
    xmp_packet,
    ztxt_chunk,
)

pytestmark = pytest.mark.timeout(20)

#: A long run of word characters with no colon after ``Steps:`` made the old pattern
#: backtrack quadratically: 20,000 characters took 2.75 s, 1 MB hours.
BAIT = "Steps: 20, Sampler: " + "a" * 1_000_000


def _timed(function, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def test_a1111_settings_keep_quoted_commas_and_skip_keys_that_are_not_words() -> None:
    line = 'Steps: 20, Sampler: Euler a, Odd (key): 1, Lora hashes: "x: 1, y: 2", Seed: 3'
    assert a1111_settings(line) == {
        "Steps": "20",
        "Sampler": "Euler a",
        "Lora hashes": "x: 1, y: 2",
        "Seed": "3",
    }


def test_a1111_settings_with_an_unclosed_or_escaped_quote() -> None:
    assert a1111_settings('Steps: 2, Model: "open, Seed: 3') == {
        "Steps": "2",
        "Model": "open",
        "Seed": "3",
    }
    assert a1111_settings(r'Steps: 2, Model: "a \"b\" c", Seed: 3')["Model"] == r"a \"b\" c"


@pytest.mark.parametrize(
    "bait",
    [
        BAIT,
        "Steps: " + "a" * 1_000_000,
        "Steps: " + "a b-c/" * 200_000 + ", Seed: 1",
        "Steps: 1, " + 'k: "\\' * 200_000,
        "Steps: 1, " + ":" * 1_000_000,
        "Steps: 1, " + "a:" * 500_000,
        "Steps: 1\n" * 200_000,
    ],
    ids=["letters", "no-colon", "words", "quotes", "colons", "pairs", "lines"],
)
def test_parse_a1111_is_linear_on_backtracking_bait(bait: str) -> None:
    _, seconds = _timed(parse_a1111, bait)
    assert seconds < 1.0


def test_bait_in_a_compressed_png_parameters_chunk_is_read_quickly(tmp_path: Path) -> None:
    data = png_with_chunks([ztxt_chunk("parameters", BAIT)])
    assert len(data) < 10_000
    verdict, seconds = _timed(detect_file, tmp_path / "bait.png", data)
    assert seconds < 2.0
    assert verdict.ai_class in ("ai", "none")


def test_bait_in_a_jpeg_comment_and_exif_user_comment_is_read_quickly(tmp_path: Path) -> None:
    # The segments are written raw: Pillow before 11.2 cannot write markers this big.
    exif = exif_bytes(comment=user_comment(BAIT[:30_000]))
    comment = BAIT[:60_000].encode()
    plain = jpeg()
    data = (
        plain[:2]
        + b"\xff\xe1"
        + struct.pack(">H", len(exif) + 2)
        + exif
        + b"\xff\xfe"
        + struct.pack(">H", len(comment) + 2)
        + comment
        + plain[2:]
    )
    _, seconds = _timed(detect_file, tmp_path / "bait.jpg", data)
    assert seconds < 2.0


def test_a1111_still_reads_real_parameters() -> None:
    fields = parse_a1111(A1111_PARAMETERS)
    assert fields is not None
    assert fields["steps"] is not None


def test_a_utf16_packet_with_a_long_run_of_spaces_is_read_quickly(tmp_path: Path) -> None:
    packet = xmp_packet(creator_tool="x").replace("<?xml", "<?xml" + " " * 30_000, 1)
    data = jpeg(xmp=packet.encode("utf-16"))
    _, seconds = _timed(detect_file, tmp_path / "spaces.jpg", data)
    assert seconds < 2.0


_PIECES = st.text(alphabet='ab :,"\\\n-/_S', min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(_PIECES, st.text(alphabet='ab :,"\\\n', max_size=40))
def test_any_repeated_piece_parses_in_linear_time(piece: str, tail: str) -> None:
    # whatever the file repeats 100,000 times, the parser answers within a second
    text = "Steps: 1, " + piece * (100_000 // len(piece)) + tail
    _, seconds = _timed(parse_a1111, text)
    assert seconds < 1.0
    assert all(key for key in a1111_settings(text))
