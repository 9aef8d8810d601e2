"""Deep check: parameters hidden in alpha (or RGB) LSBs, column by column."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from PIL import Image

from provenance.detect import detect_file
from tests.fixtures_media import A1111_PARAMETERS


def stealth_png(text: str, *, magic: str = "stealth_pngcomp", size: int = 64) -> bytes:
    """Return an RGBA PNG whose alpha LSBs carry ``text`` as the A1111 extension writes it."""
    payload = text.encode("utf-8")
    if magic.endswith("comp"):
        payload = gzip.compress(payload)
    bits = "".join(f"{byte:08b}" for byte in magic.encode())
    bits += f"{len(payload) * 8:032b}" + "".join(f"{byte:08b}" for byte in payload)
    rgb_mode = "rgb" in magic
    per_pixel = 3 if rgb_mode else 1
    assert len(bits) <= size * size * per_pixel
    image = Image.new("RGBA", (size, size), (200, 200, 200, 254))
    pixels = image.load()
    assert pixels is not None
    index = 0
    for x in range(size):
        for y in range(size):
            red, green, blue, alpha = pixels[x, y]  # type: ignore[misc]
            if rgb_mode:
                channels = [red, green, blue]
                for channel in range(3):
                    bit = int(bits[index]) if index < len(bits) else 0
                    channels[channel] = (channels[channel] & ~1) | bit
                    index += 1
                pixels[x, y] = (*channels, 255)
            else:
                bit = int(bits[index]) if index < len(bits) else 0
                pixels[x, y] = (red, green, blue, (alpha & ~1) | bit)
                index += 1
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "magic", ["stealth_pngcomp", "stealth_pnginfo", "stealth_rgbinfo", "stealth_rgbcomp"]
)
def test_stealth_parameters_are_found_only_when_deep(magic: str) -> None:
    data = stealth_png(A1111_PARAMETERS, magic=magic)
    assert detect_file(Path("s.png"), data, sidecar=False).ai_class == "none"
    verdict = detect_file(Path("s.png"), data, deep=True, sidecar=False)
    assert verdict.ai_class == "ai"
    assert verdict.family == "a1111"
    assert verdict.signals[0].kind == "watermark"


def test_image_without_stealth_data_is_none_when_deep() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (32, 32), (1, 2, 3, 255)).save(buffer, "PNG")
    verdict = detect_file(Path("plain.png"), buffer.getvalue(), deep=True, sidecar=False)
    assert verdict.ai_class == "none"
    assert verdict.problems == ()


def test_undecodable_pixels_are_a_problem_when_deep() -> None:
    from tests.fixtures_media import plain_png, split_png

    chunks = split_png(plain_png())
    broken = b"\x89PNG\r\n\x1a\n" + chunks[0] + chunks[-1]  # IHDR + IEND, no IDAT
    verdict = detect_file(Path("broken.png"), broken, deep=True, sidecar=False)
    assert verdict.ai_class == "none"
    assert any("stealth" in problem for problem in verdict.problems)
