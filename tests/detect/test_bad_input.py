"""Hostile and broken files end quickly in a verdict with problems, or in ReadError."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from provenance.detect import detect_file
from provenance.errors import ReadError
from tests.fixtures_media import (
    A1111_PARAMETERS,
    exif_bytes,
    jpeg,
    plain_png,
    png_chunk,
    png_claiming_300_mb,
    png_with_chunks,
    split_png,
    text_chunk,
    user_comment,
    xmp_packet,
    ztxt_bomb,
)

pytestmark = pytest.mark.timeout(10)


def _detect(data: bytes, name: str = "bad.bin") -> tuple[str, tuple[str, ...]]:
    verdict = detect_file(Path(name), data, sidecar=False)
    return verdict.ai_class, verdict.problems


def test_truncated_png_keeps_what_came_before_the_cut() -> None:
    data = png_with_chunks([text_chunk("parameters", A1111_PARAMETERS)])
    cut = data[: data.index(b"IDAT") + 10]
    ai_class, problems = _detect(cut)
    assert ai_class == "ai"
    assert any("truncated" in problem for problem in problems)


def test_png_cut_inside_a_text_chunk_is_a_problem() -> None:
    data = png_with_chunks([text_chunk("parameters", A1111_PARAMETERS)])
    ai_class, problems = _detect(data[: data.index(b"tEXt") + 40])
    assert ai_class == "none"
    assert any("truncated" in problem for problem in problems)


def test_truncated_jpeg_is_a_problem() -> None:
    data = jpeg(exif=exif_bytes(comment=user_comment(A1111_PARAMETERS)))
    ai_class, problems = _detect(data[:40])
    assert ai_class == "none"
    assert any("past the end" in problem for problem in problems)


def test_png_chunk_claiming_300_mb_past_the_end() -> None:
    ai_class, problems = _detect(png_claiming_300_mb())
    assert ai_class == "none"
    assert any("past the end" in problem for problem in problems)


def test_sparse_300_mb_text_chunk_is_skipped_unread(tmp_path: Path) -> None:
    # A real 300 MB file, sparse on disk: the chunk is over the cap and never read.
    size = 300 * 1024 * 1024
    chunks = split_png(plain_png())
    path = tmp_path / "huge.png"
    with path.open("wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n" + chunks[0])
        handle.write(struct.pack(">I", size) + b"tEXt" + b"parameters\x00")
        handle.seek(size - len(b"parameters\x00"), 1)
        handle.write(b"\x00\x00\x00\x00")  # CRC (unchecked)
        handle.write(b"".join(chunks[1:]))
    verdict = detect_file(path, sidecar=False)
    # a generator's chunk is there, unread: not nothing, a person looks (suspect)
    assert verdict.ai_class == "suspect"
    assert any("over the" in problem and "cap" in problem for problem in verdict.problems)


def test_zlib_bomb_ztxt_through_detect_file() -> None:
    ai_class, problems = _detect(ztxt_bomb(64))
    assert ai_class == "none"
    assert any("inflates to more than" in problem for problem in problems)


def _bomb_chunk(keyword: str, megabytes: int = 32) -> bytes:
    """A zTXt chunk under ``keyword`` that inflates to ``megabytes`` MB (over every cap)."""
    body = zlib.compress(b"a" * (megabytes * 1024 * 1024), 9)
    return png_chunk(b"zTXt", keyword.encode() + b"\x00\x00" + body)


@pytest.mark.parametrize("keyword", ["parameters", "prompt", "workflow", "invokeai_metadata"])
def test_a_generators_text_chunk_that_cannot_be_read_is_suspect(keyword: str) -> None:
    # a zlib bomb in a generator's chunk: skipped, but the mark is there; a person looks
    verdict = detect_file(Path("bomb.png"), png_with_chunks([_bomb_chunk(keyword)]), sidecar=False)
    assert verdict.ai_class == "suspect"
    (signal,) = verdict.signals
    assert (signal.kind, signal.ai_class) == ("sd-text", "suspect")
    assert signal.source == f"PNG zTXt {keyword!r}"
    assert "inflates to more than" in signal.detail["unreadable"]


def test_corrupt_compressed_parameters_are_suspect() -> None:
    chunk = png_chunk(b"zTXt", b"parameters\x00\x00" + b"not zlib at all")
    verdict = detect_file(Path("corrupt.png"), png_with_chunks([chunk]), sidecar=False)
    assert verdict.ai_class == "suspect"
    assert "corrupt compressed text" in verdict.signals[0].detail["unreadable"]


def test_parameters_after_the_files_text_cap_are_suspect_not_nothing() -> None:
    # padding chunks spend the file's cap on text first: the parameters after them are
    # not read, but they are there
    padding = [_bomb_chunk(f"pad{n}", 15) for n in range(2)]
    data = png_with_chunks([*padding, text_chunk("parameters", A1111_PARAMETERS)])
    verdict = detect_file(Path("padded.png"), data, sidecar=False)
    assert verdict.ai_class == "suspect"
    assert verdict.signals[0].source == "PNG tEXt 'parameters'"


def test_a_read_generator_chunk_wins_over_an_unread_one() -> None:
    data = png_with_chunks([text_chunk("parameters", A1111_PARAMETERS), _bomb_chunk("workflow")])
    verdict = detect_file(Path("both.png"), data, sidecar=False)
    assert verdict.ai_class == "ai" and verdict.generator == "AUTOMATIC1111"
    assert [signal.ai_class for signal in verdict.signals] == ["ai"]


def test_billion_laughs_xmp_in_jpeg() -> None:
    packet = (
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + xmp_packet(creator_tool="&b;")
    )
    ai_class, problems = _detect(jpeg(xmp=packet))
    assert ai_class == "none"
    assert any("hostile XML" in problem for problem in problems)


def test_garbage_jumbf_in_jpeg_app11() -> None:
    segment = b"JP\x00\x01\x00\x00\x00\x01\x00\x00\x00\x20jumb\x00\x00\x00\x10jumdc2pa" + b"x" * 64
    data = jpeg()
    data = data[:2] + b"\xff\xeb" + struct.pack(">H", len(segment) + 2) + segment + data[2:]
    ai_class, problems = _detect(data)
    assert ai_class == "suspect"  # a manifest is there, unreadable: a person looks
    assert any(problem.startswith("C2PA (JPEG APP11 JUMBF)") for problem in problems)


def test_garbage_png_cabx_chunk() -> None:
    data = png_with_chunks([png_chunk(b"caBX", b"\x00\x00\x00\x20jumbjunkc2pa" * 4)])
    ai_class, problems = _detect(data)
    assert ai_class == "suspect"  # a manifest is there, unreadable: a person looks
    assert any(problem.startswith("C2PA (PNG caBX)") for problem in problems)


def test_garbage_exif_ifd_is_a_problem() -> None:
    exif = b"Exif\x00\x00II*\x00\xff\xff\x00\x00"  # IFD offset far outside the block
    data = jpeg()
    app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    ai_class, problems = _detect(data[:2] + app1 + data[2:])
    assert ai_class == "none"
    assert any("outside the block" in problem for problem in problems)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    verdict = detect_file(path)
    assert verdict.ai_class == "none"
    assert verdict.media_type == "application/octet-stream"
    assert verdict.problems == ("file is empty",)


def test_directory_is_a_read_error(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match=r"not a regular file \(a folder\)"):
        detect_file(tmp_path)


def test_missing_file_is_a_read_error(tmp_path: Path) -> None:
    with pytest.raises(ReadError) as caught:
        detect_file(tmp_path / "gone.png")
    assert caught.value.path == tmp_path / "gone.png"
