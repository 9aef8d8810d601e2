"""read_tag: the sidecar first, then embedded XMP."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from provenance.errors import ReadError
from provenance.tagging import TagRecord, embed_xmp, read_tag, sidecar_path, write_sidecar

from .helpers import BILLION_LAUGHS, make_record


def test_read_tag_prefers_the_sidecar(png_file: Path) -> None:
    embed_xmp(png_file, make_record(status="temporary"))
    write_sidecar(png_file, make_record(status="cleared"))
    tag = read_tag(png_file)
    assert tag is not None
    assert tag.status == "cleared"


def test_read_tag_falls_back_to_embedded(jpeg_file: Path, record: TagRecord) -> None:
    embed_xmp(jpeg_file, record)
    assert read_tag(jpeg_file) == record


def test_read_tag_uses_the_pattern(png_file: Path, record: TagRecord) -> None:
    write_sidecar(png_file, record, "{stem}.xmp")
    assert read_tag(png_file) is None
    assert read_tag(png_file, "{stem}.xmp") == record


def test_read_tag_without_any_tag_is_none(png_file: Path) -> None:
    assert read_tag(png_file) is None


def test_broken_sidecar_does_not_hide_an_embedded_record(
    png_file: Path, record: TagRecord, caplog: pytest.LogCaptureFixture
) -> None:
    embed_xmp(png_file, record)
    sidecar_path(png_file).write_bytes(BILLION_LAUGHS)
    with caplog.at_level(logging.WARNING):
        assert read_tag(png_file) == record
    assert "using the embedded record" in caplog.text


def test_broken_sidecar_without_embedded_record_is_a_read_error(png_file: Path) -> None:
    sidecar_path(png_file).write_bytes(BILLION_LAUGHS)
    with pytest.raises(ReadError) as caught:
        read_tag(png_file)
    assert caught.value.path == sidecar_path(png_file)
