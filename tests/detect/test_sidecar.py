"""A .xmp sidecar beside a file is read like any other XMP, unless turned off."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provenance.detect import detect_file
from tests.fixtures_media import IPTC_DST, plain_png, xmp_packet

AI_PACKET = xmp_packet(digital_source_type=IPTC_DST + "trainedAlgorithmicMedia")


@pytest.mark.parametrize("sidecar_name", ["shot.png.xmp", "shot.xmp"])
def test_sidecar_beside_the_file_is_read(tmp_path: Path, sidecar_name: str) -> None:
    image = tmp_path / "shot.png"
    image.write_bytes(plain_png())
    (tmp_path / sidecar_name).write_text(AI_PACKET, encoding="utf-8")
    verdict = detect_file(image)
    assert verdict.ai_class == "ai"
    assert [signal.kind for signal in verdict.signals] == ["sidecar"]
    assert sidecar_name in verdict.signals[0].source


def test_sidecar_false_ignores_the_sidecar(tmp_path: Path) -> None:
    image = tmp_path / "shot.png"
    image.write_bytes(plain_png())
    (tmp_path / "shot.png.xmp").write_text(AI_PACKET, encoding="utf-8")
    assert detect_file(image, sidecar=False).ai_class == "none"


def test_hostile_sidecar_is_a_problem(tmp_path: Path) -> None:
    image = tmp_path / "shot.png"
    image.write_bytes(plain_png())
    (tmp_path / "shot.xmp").write_bytes(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>")
    verdict = detect_file(image)
    assert verdict.ai_class == "none"
    assert any("sidecar shot.xmp" in problem for problem in verdict.problems)


def test_an_empty_sidecar_is_no_problem(tmp_path: Path) -> None:
    image = tmp_path / "shot.png"
    image.write_bytes(plain_png())
    (tmp_path / "shot.png.xmp").write_bytes(b"")
    verdict = detect_file(image)
    assert (verdict.ai_class, verdict.signals, verdict.problems) == ("none", (), ())


def test_a_sidecar_file_itself_is_read_as_xmp(tmp_path: Path) -> None:
    path = tmp_path / "loose.xmp"
    path.write_text(AI_PACKET, encoding="utf-8")
    verdict = detect_file(path)
    assert verdict.media_type == "application/rdf+xml"
    assert verdict.ai_class == "ai"


def test_a_fifo_named_like_a_sidecar_is_refused_without_waiting(tmp_path: Path) -> None:
    image = tmp_path / "poster.png"
    image.write_bytes(plain_png())
    os.mkfifo(tmp_path / "poster.png.xmp")
    verdict = detect_file(image)
    assert verdict.ai_class == "none"
    assert any("poster.png.xmp: is not a regular file (a FIFO)" in p for p in verdict.problems)


def test_a_symlinked_sidecar_is_not_followed(tmp_path: Path) -> None:
    image = tmp_path / "poster.png"
    image.write_bytes(plain_png())
    elsewhere = tmp_path / "secret.txt"
    elsewhere.write_text(AI_PACKET, encoding="utf-8")
    (tmp_path / "poster.xmp").symlink_to(elsewhere)
    verdict = detect_file(image)
    assert verdict.ai_class == "none"
    assert any("poster.xmp: is a symlink; not followed" in p for p in verdict.problems)
