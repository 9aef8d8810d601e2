"""detect_file reads headers only: no pixel decode unless deep, bytes/mmap/path agree."""

from __future__ import annotations

import io
import mmap
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from provenance.detect import detect_file
from provenance.detect.buffers import MMAP_THRESHOLD


def _noise_image(format_name: str, size: int = 800) -> bytes:
    image = Image.frombytes("RGB", (size, size), os.urandom(size * size * 3))
    buffer = io.BytesIO()
    image.save(buffer, format_name, **({"quality": 95} if format_name == "JPEG" else {}))
    return buffer.getvalue()


@pytest.mark.parametrize("format_name", ["JPEG", "PNG"])
def test_plain_image_is_read_without_decoding_pixels(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, format_name: str
) -> None:
    data = _noise_image(format_name, size=1100 if format_name == "JPEG" else 800)
    assert 1024 * 1024 < len(data) < 3 * 1024 * 1024
    path = tmp_path / f"plain.{format_name.lower()}"
    path.write_bytes(data)

    def refuse(self: Image.Image) -> None:
        raise AssertionError("pixels decoded on the header-only path")

    monkeypatch.setattr(Image.Image, "load", refuse)
    monkeypatch.setattr(Image, "open", refuse)
    assert detect_file(path).ai_class == "none"
    assert detect_file(path, data).ai_class == "none"


def test_big_file_is_memory_mapped_and_agrees_with_bytes(tmp_path: Path) -> None:
    from tests.fixtures_media import A1111_PARAMETERS, png_with_chunks, text_chunk

    base = _noise_image("PNG", size=1300)
    data = png_with_chunks(after_idat=[text_chunk("parameters", A1111_PARAMETERS)], base=base)
    assert len(data) > MMAP_THRESHOLD
    path = tmp_path / "big.png"
    path.write_bytes(data)
    from_path = detect_file(path)
    from_bytes = detect_file(path, data)
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        from_mmap = detect_file(path, m)
    assert from_path == from_bytes == from_mmap
    assert from_path.ai_class == "ai"


def test_c2pa_and_pillow_load_only_for_the_files_that_need_them(tmp_path: Path) -> None:
    # each reader process would pay for them at its start; few files need them
    plain, marked = tmp_path / "plate.png", tmp_path / "marked.png"
    plain.write_bytes(_noise_image("PNG", size=16))
    body = plain.read_bytes()
    chunk = b"\x00\x00\x00\x04caBXjunk\x00\x00\x00\x00"  # a C2PA box (garbage, still a marker)
    marked.write_bytes(body[:33] + chunk + body[33:])
    script = (
        "import sys\n"
        "from provenance.detect import detect_file\n"
        f"detect_file({str(plain)!r})\n"
        "print('c2pa' in sys.modules, 'PIL' in sys.modules)\n"
        f"detect_file({str(marked)!r})\n"
        f"detect_file({str(plain)!r}, deep=True)\n"
        "print('c2pa' in sys.modules, 'PIL' in sys.modules)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert shown[:2] == ["False False", "True True"]
