"""XMP: IPTC DigitalSourceType against the vocabulary, generator fields, hostile XML."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.detect import detect_file
from provenance.detect.formats.blocks import Block
from provenance.detect.formats.xmp import parse_xmp
from provenance.detect.vocab import classify_source_type
from tests.fixtures_media import BILLION_LAUGHS, IPTC_DST, jpeg, xmp_packet


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("trainedAlgorithmicMedia", "ai"),
        ("compositeWithTrainedAlgorithmicMedia", "partial"),
        ("compositeSynthetic", "partial"),
        ("algorithmicMedia", "none"),
        ("digitalCapture", "none"),
    ],
)
def test_jpeg_xmp_digital_source_type(term: str, expected: str) -> None:
    data = jpeg(xmp=xmp_packet(digital_source_type=IPTC_DST + term))
    assert detect_file(Path("a.jpg"), data, sidecar=False).ai_class == expected


@pytest.mark.parametrize(
    "value", ["https://exiftool.org", "trainedAlgorithmicMedia", "http://example.com/trained"]
)
def test_unknown_digital_source_type_is_not_ai(value: str) -> None:
    assert classify_source_type(value) is None
    data = jpeg(xmp=xmp_packet(digital_source_type=value))
    verdict = detect_file(Path("a.jpg"), data, sidecar=False)
    assert verdict.ai_class == "none"
    assert verdict.signals[0].detail["unknown_digital_source_type"] == value


def test_creator_tool_naming_a_generator_is_ai() -> None:
    data = jpeg(xmp=xmp_packet(creator_tool="Draw Things"))
    verdict = detect_file(Path("a.jpg"), data, sidecar=False)
    assert (verdict.ai_class, verdict.family) == ("ai", "drawthings")


def test_creator_tool_naming_an_editor_is_not_ai() -> None:
    data = jpeg(xmp=xmp_packet(creator_tool="Adobe Photoshop Lightroom Classic 13.0"))
    assert detect_file(Path("a.jpg"), data, sidecar=False).ai_class == "none"


@pytest.mark.timeout(10)
def test_billion_laughs_is_refused_with_a_problem() -> None:
    properties, problems = parse_xmp(Block(BILLION_LAUGHS, "test"))
    assert properties == {}
    assert "hostile XML" in problems[0]
    verdict = detect_file(Path("lol.jpg"), jpeg(xmp=BILLION_LAUGHS.decode()), sidecar=False)
    assert verdict.ai_class == "none"
    assert any("hostile XML" in problem for problem in verdict.problems)


def test_utf16_packet_is_read() -> None:
    packet = xmp_packet(digital_source_type=IPTC_DST + "trainedAlgorithmicMedia")
    for encoding in ("utf-16-le", "utf-16-be"):
        properties, problems = parse_xmp(Block(packet.encode(encoding), "test"))
        assert problems == []
        assert properties


def test_garbage_xmp_is_a_problem() -> None:
    properties, problems = parse_xmp(Block(b"<x:xmpmeta><unclosed", "test"))
    assert properties == {}
    assert "unreadable XML" in problems[0]
