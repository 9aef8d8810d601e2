"""The PNG walk reads every text chunk, wherever it sits, and caps what it inflates."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from provenance.detect import detect_file
from provenance.detect.formats.blocks import MAX_BLOCK
from provenance.detect.formats.walk import walk
from tests.fixtures_media import (
    A1111_PARAMETERS,
    itxt_chunk,
    png_chunk,
    png_with_chunks,
    text_chunk,
    ztxt_chunk,
)


@pytest.mark.parametrize(
    "chunk",
    [
        text_chunk("parameters", A1111_PARAMETERS),
        ztxt_chunk("parameters", A1111_PARAMETERS),
        itxt_chunk("parameters", A1111_PARAMETERS),
        itxt_chunk("parameters", A1111_PARAMETERS, compressed=True),
    ],
    ids=["tEXt", "zTXt", "iTXt", "iTXt-compressed"],
)
def test_png_parameters_in_any_text_chunk_is_ai(chunk: bytes) -> None:
    verdict = detect_file(Path("render.png"), png_with_chunks([chunk]), sidecar=False)
    assert verdict.ai_class == "ai"
    assert verdict.family == "a1111"
    assert verdict.model == "testModel_v1"
    assert verdict.prompt == "a lighthouse at dusk, oil painting"


def test_png_text_chunk_after_idat_counts() -> None:
    data = png_with_chunks(after_idat=[text_chunk("parameters", A1111_PARAMETERS)])
    parts = walk(data, "image/png")
    assert [entry.keyword for entry in parts.texts] == ["parameters"]
    assert detect_file(Path("late.png"), data, sidecar=False).ai_class == "ai"


def test_png_itxt_xmp_goes_to_the_xmp_reader() -> None:
    from tests.fixtures_media import IPTC_DST, xmp_packet

    packet = xmp_packet(digital_source_type=IPTC_DST + "trainedAlgorithmicMedia")
    data = png_with_chunks([itxt_chunk("XML:com.adobe.xmp", packet)])
    verdict = detect_file(Path("x.png"), data, sidecar=False)
    assert verdict.ai_class == "ai"
    assert verdict.signals[0].kind == "xmp-iptc"


def test_png_cabx_chunk_is_a_c2pa_marker() -> None:
    data = png_with_chunks([png_chunk(b"caBX", b"junk")])
    assert walk(data, "image/png").c2pa_marker == "PNG caBX"


@pytest.mark.timeout(10)
def test_png_zlib_bomb_text_is_skipped_with_a_problem() -> None:
    # 64 MB of zeros compresses to ~65 KB; the cap stops inflation at 16 MB.
    inflater = zlib.compressobj(9)
    chunk_of_zeros = b"\x00" * (1024 * 1024)
    body = b"".join(inflater.compress(chunk_of_zeros) for _ in range(64)) + inflater.flush()
    bomb = png_chunk(b"zTXt", b"parameters\x00\x00" + body)
    data = png_with_chunks([bomb, text_chunk("Software", "test")])
    parts = walk(data, "image/png")
    assert any(f"more than {MAX_BLOCK} bytes" in problem for problem in parts.problems)
    assert [entry.keyword for entry in parts.texts] == ["Software"]
