"""EXIF tool fields name generators; cameras and editors are not generators."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.detect import detect_file
from provenance.detect.vocab import find_generator
from tests.fixtures_media import exif_bytes, jpeg


@pytest.mark.parametrize(
    ("software", "family"),
    [
        ("NovelAI Diffusion V4.5 C02D4F98", "novelai"),
        ("Midjourney", "midjourney"),
        ("DALL-E 3", "openai"),
        ("Adobe Firefly", "adobe"),
        ("Draw Things", "drawthings"),
    ],
)
def test_exif_software_naming_a_generator_is_ai(software: str, family: str) -> None:
    verdict = detect_file(Path("a.jpg"), jpeg(exif=exif_bytes(software=software)), sidecar=False)
    assert verdict.ai_class == "ai"
    assert verdict.family == family
    assert verdict.signals[0].kind == "exif"


@pytest.mark.parametrize(
    ("make", "software"),
    [
        ("Google", "HDR+ 1.0.540104766zd"),
        ("Apple", "17.1"),
        ("Canon", "Adobe Lightroom Classic 13.0"),
        ("NIKON CORPORATION", "Adobe Photoshop 25.0 (Macintosh)"),
        ("Panasonic", "Ver.1.0"),
    ],
)
def test_cameras_and_editors_are_not_generators(make: str, software: str) -> None:
    data = jpeg(exif=exif_bytes(make=make, software=software))
    assert detect_file(Path("a.jpg"), data, sidecar=False).ai_class == "none"


@pytest.mark.parametrize("text", ["Google", "Pixel 8 Pro", "Soracom", "Sorayama", "Lightroom"])
def test_find_generator_needs_a_whole_word(text: str) -> None:
    assert find_generator(text) is None
