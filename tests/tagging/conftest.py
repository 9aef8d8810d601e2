"""Fixtures for the tagging tests: a record and real images written by Pillow."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from provenance.tagging import TagRecord

from .helpers import make_record, sample_image


@pytest.fixture
def record() -> TagRecord:
    return make_record()


@pytest.fixture
def png_file(tmp_path: Path) -> Path:
    """A real PNG with a text chunk, as an image generator leaves it."""
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a castle at dusk, Steps: 20, Sampler: Euler a")
    path = tmp_path / "shot.png"
    sample_image().save(path, pnginfo=info)
    return path


@pytest.fixture
def jpeg_file(tmp_path: Path) -> Path:
    """A real JPEG with JFIF and an Exif segment."""
    exif = Image.Exif()
    exif[0x0131] = "ComfyUI"  # Software
    path = tmp_path / "shot.jpg"
    sample_image().save(path, quality=90, exif=exif)
    return path
