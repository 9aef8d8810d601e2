"""Small real media files for tests, written with Pillow (no committed binaries)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, PngImagePlugin

A1111_PARAMETERS = (
    "a castle on a hill at dawn\n"
    "Negative prompt: blurry\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 64x64, "
    "Model hash: abcdef1234, Model: sdxl_base_1.0, Version: v1.7.0"
)


def write_a1111_png(path: Path, parameters: str = A1111_PARAMETERS, color: str = "red") -> Path:
    """An AUTOMATIC1111-style PNG: a tEXt 'parameters' chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", parameters)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), color).save(path, pnginfo=info)
    return path


def write_plain_png(path: Path, color: str = "blue") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), color).save(path)
    return path


def write_plain_jpeg(path: Path, color: str = "green") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), color).save(path, quality=80)
    return path
