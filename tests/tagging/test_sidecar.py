"""XMP sidecars: path, round trip, merging foreign sidecars, refusals, exiftool."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from provenance.errors import ConfigError, ReadError, WriteError
from provenance.tagging import (
    DIGITAL_SOURCE_TYPES,
    NS_IPTC_EXT,
    NS_PROVENANCE,
    TagRecord,
    is_own_sidecar,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)
from provenance.tagging._xmp import PROPERTIES

from .helpers import (
    BILLION_LAUGHS,
    DARKTABLE_SIDECAR,
    make_record,
    read_only,
    run_exiftool,
    snapshot,
)
from .test_xmp import cleaned, records

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DESCRIPTION = f"{{{RDF}}}Description"
IPTC_DST = f"{{{NS_IPTC_EXT}}}DigitalSourceType"
CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


def test_sidecar_path_keeps_the_extension_by_default() -> None:
    assert sidecar_path(Path("/p/shot.0001.exr")) == Path("/p/shot.0001.exr.xmp")


def test_sidecar_path_with_stem_pattern() -> None:
    assert sidecar_path(Path("/p/shot.png"), "{stem}.xmp") == Path("/p/shot.xmp")


def test_sidecar_path_of_a_name_with_braces() -> None:
    assert sidecar_path(Path("/p/shot{v2}.png"), "{stem}.xmp") == Path("/p/shot{v2}.xmp")


@pytest.mark.parametrize("pattern", ["shot.xmp", "{name}.txt", "../{name}.xmp", "{name}{x}.xmp"])
def test_sidecar_path_refuses_bad_patterns(pattern: str) -> None:
    with pytest.raises(ConfigError, match="sidecar pattern"):
        sidecar_path(Path("/p/shot.png"), pattern)


def test_write_then_read_round_trips(png_file: Path, record: TagRecord) -> None:
    sidecar = write_sidecar(png_file, record)
    assert sidecar == png_file.with_name("shot.png.xmp")
    assert read_sidecar(png_file) == record


def test_new_sidecar_gets_the_usual_mode(png_file: Path, record: TagRecord) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    sidecar = write_sidecar(png_file, record)
    assert sidecar.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in png_file.parent.iterdir()) == ["shot.png", "shot.png.xmp"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_sidecar_round_trips_any_text(record: TagRecord) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "frame.png"
        path.write_bytes(b"not really a png; sidecars do not read the file")
        write_sidecar(path, record)
        assert read_sidecar(path) == cleaned(record)


def test_read_sidecar_without_one_is_none(png_file: Path) -> None:
    assert read_sidecar(png_file) is None


@pytest.mark.parametrize("empty", [b"", b"\n  \n"])
def test_an_empty_sidecar_counts_as_none(png_file: Path, record: TagRecord, empty: bytes) -> None:
    # what a new sidecar can be after a power cut: nothing in it to keep, so the tag is
    # written over it (it used to be refused as "not well-formed XML", for good)
    sidecar = sidecar_path(png_file)
    sidecar.write_bytes(empty)
    assert read_sidecar(png_file) is None
    write_sidecar(png_file, record)
    assert read_sidecar(png_file) == cleaned(record)


def test_read_foreign_sidecar_without_our_data_is_none(png_file: Path) -> None:
    sidecar_path(png_file).write_bytes(DARKTABLE_SIDECAR)
    assert read_sidecar(png_file) is None


def test_only_a_sidecar_that_replaces_another_is_synced_to_the_disk(
    png_file: Path, record: TagRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a new one can be written again after a power cut (the catalog has the record; see
    # test_a_rescan_puts_back_the_missing_tag_of_an_unchanged_ai_asset); one that replaces
    # another must never leave the old one lost and the new one empty
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    write_sidecar(png_file, record)
    assert synced == []
    write_sidecar(png_file, make_record(status="cleared"))
    assert len(synced) == 2  # the new content, then the folder's rename
    assert read_sidecar(png_file) == cleaned(make_record(status="cleared"))


def test_rewriting_the_same_record_leaves_the_file_alone(png_file: Path, record: TagRecord) -> None:
    sidecar = write_sidecar(png_file, record)
    os.utime(sidecar, ns=(1_000_000_000, 1_000_000_000))
    write_sidecar(png_file, record)
    assert sidecar.stat().st_mtime_ns == 1_000_000_000


def test_status_change_replaces_our_properties_only(png_file: Path, record: TagRecord) -> None:
    write_sidecar(png_file, record)
    cleared = make_record(status="cleared", approval_ref="CLR-7", deadline=None)
    write_sidecar(png_file, cleared)
    assert read_sidecar(png_file) == cleared
    assert sidecar_path(png_file).read_text().count("provenance:Status") == 2  # open + close tag


def test_tag_of_another_asset_is_replaced_with_a_warning(
    png_file: Path, record: TagRecord, caplog: pytest.LogCaptureFixture
) -> None:
    write_sidecar(png_file, make_record(asset_uid="00000000-0000-4000-8000-000000000000"))
    with caplog.at_level(logging.WARNING):
        write_sidecar(png_file, record)
    assert "replacing the tag of asset 00000000-0000-4000-8000-000000000000" in caplog.text
    assert read_sidecar(png_file) == record


def test_incomplete_record_of_ours_is_replaced(png_file: Path, record: TagRecord) -> None:
    sidecar = write_sidecar(png_file, record)
    sidecar.write_bytes(sidecar.read_bytes().replace(b"provenance:AssetId", b"provenance:Lost"))
    with pytest.raises(ReadError, match="missing AssetId"):
        read_sidecar(png_file)
    write_sidecar(png_file, record)
    assert read_sidecar(png_file) == record


def _shape(element: ET.Element, drop: set[str]) -> tuple[object, ...]:
    """The element's tree without whitespace and without the properties in ``drop``."""
    children = [c for c in element if c.tag not in drop]
    attributes = sorted((k, v) for k, v in element.attrib.items() if k not in drop)
    text = (element.text or "").strip()
    return (element.tag, attributes, text, [_shape(c, drop) for c in children])


def _ours() -> set[str]:
    return {f"{{{NS_PROVENANCE}}}{name}" for name in PROPERTIES}


def test_foreign_sidecar_is_merged_not_clobbered(png_file: Path, record: TagRecord) -> None:
    sidecar = sidecar_path(png_file)
    sidecar.write_bytes(DARKTABLE_SIDECAR)
    sidecar.chmod(0o640)

    write_sidecar(png_file, record)

    merged = sidecar.read_bytes()
    text = merged.decode("utf-8")
    assert _shape(ET.fromstring(merged), _ours() | {IPTC_DST}) == _shape(
        ET.fromstring(DARKTABLE_SIDECAR), set()
    )
    # darktable's prefixes, comment and mode survive, and our record is there.
    assert 'xmlns:darktable="http://darktable.sf.net/"' in text
    assert 'darktable:operation="exposure"' in text
    assert "<!-- darktable keeps its edit history here -->" in text
    assert 'x:xmptk="XMP Core 4.4.0-Exiv2"' in text
    assert sidecar.stat().st_mode & 0o777 == 0o640
    assert read_sidecar(png_file) == record
    assert is_own_sidecar(sidecar)


def test_merge_adds_digital_source_type_when_the_sidecar_has_none(
    png_file: Path, record: TagRecord
) -> None:
    sidecar_path(png_file).write_bytes(DARKTABLE_SIDECAR)
    write_sidecar(png_file, record)
    description = ET.parse(sidecar_path(png_file)).getroot().find(f"{{{RDF}}}RDF/{DESCRIPTION}")
    assert description is not None
    assert description.findtext(IPTC_DST) == DIGITAL_SOURCE_TYPES["ai"]


def test_merge_keeps_a_digital_source_type_another_tool_set(png_file: Path) -> None:
    """Chosen rule: a foreign IPTC DigitalSourceType is kept; ours lives in our namespace."""
    foreign = DARKTABLE_SIDECAR.replace(
        b'xmp:Rating="3"',
        f'xmp:Rating="3" xmlns:Iptc4xmpExt="{NS_IPTC_EXT}" '
        f'Iptc4xmpExt:DigitalSourceType="{CAPTURE}"'.encode(),
    )
    sidecar_path(png_file).write_bytes(foreign)
    record = make_record()

    write_sidecar(png_file, record)

    root = ET.parse(sidecar_path(png_file)).getroot()
    description = root.find(f"{{{RDF}}}RDF/{DESCRIPTION}")
    assert description is not None
    assert description.get(IPTC_DST) == CAPTURE
    assert description.find(IPTC_DST) is None
    assert (
        description.findtext(f"{{{NS_PROVENANCE}}}DigitalSourceType") == DIGITAL_SOURCE_TYPES["ai"]
    )
    assert read_sidecar(png_file) == record


def test_merge_updates_the_digital_source_type_we_set(png_file: Path) -> None:
    write_sidecar(png_file, make_record())
    partial = make_record(ai_class="partial", digital_source_type=DIGITAL_SOURCE_TYPES["partial"])
    write_sidecar(png_file, partial)
    text = sidecar_path(png_file).read_text()
    assert "trainedAlgorithmicMedia<" not in text.replace("compositeWithTrained", "")
    assert read_sidecar(png_file) == partial


@pytest.mark.parametrize(
    "hostile",
    [
        BILLION_LAUGHS,
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF",
        b"\xff\xfe garbage",
    ],
    ids=["billion-laughs", "external-entity", "truncated", "binary"],
)
def test_hostile_or_broken_sidecar_is_left_untouched(
    png_file: Path, record: TagRecord, hostile: bytes
) -> None:
    sidecar = sidecar_path(png_file)
    sidecar.write_bytes(hostile)
    before = snapshot(sidecar)

    with pytest.raises(WriteError, match="left untouched") as caught:
        write_sidecar(png_file, record)

    assert caught.value.path == sidecar
    assert snapshot(sidecar) == before
    assert sorted(p.name for p in png_file.parent.iterdir()) == ["shot.png", "shot.png.xmp"]
    with pytest.raises(ReadError):
        read_sidecar(png_file)


def test_dry_run_writes_nothing(
    png_file: Path, record: TagRecord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert write_sidecar(png_file, record, dry_run=True) == sidecar_path(png_file)
    assert not sidecar_path(png_file).exists()
    assert "dry run" in caplog.text


def test_dry_run_leaves_a_foreign_sidecar_alone(png_file: Path, record: TagRecord) -> None:
    sidecar = sidecar_path(png_file)
    sidecar.write_bytes(DARKTABLE_SIDECAR)
    before = snapshot(sidecar)
    write_sidecar(png_file, record, dry_run=True)
    assert snapshot(sidecar) == before


def test_dry_run_still_reports_a_hostile_sidecar(png_file: Path, record: TagRecord) -> None:
    sidecar_path(png_file).write_bytes(BILLION_LAUGHS)
    with pytest.raises(WriteError):
        write_sidecar(png_file, record, dry_run=True)


def test_read_only_folder_is_a_write_error_naming_the_sidecar(
    png_file: Path, record: TagRecord
) -> None:
    with read_only(png_file.parent), pytest.raises(WriteError) as caught:
        write_sidecar(png_file, record)
    assert caught.value.path == sidecar_path(png_file)
    assert str(sidecar_path(png_file)) in str(caught.value)
    assert not sidecar_path(png_file).exists()


def test_symlinked_sidecar_is_not_followed(
    png_file: Path, record: TagRecord, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere.xmp"
    target.write_bytes(DARKTABLE_SIDECAR)
    sidecar_path(png_file).symlink_to(target)
    with pytest.raises(WriteError, match="symbolic link"):
        write_sidecar(png_file, record)
    assert target.read_bytes() == DARKTABLE_SIDECAR


def test_missing_file_gets_no_sidecar(tmp_path: Path, record: TagRecord) -> None:
    with pytest.raises(WriteError, match="not found"):
        write_sidecar(tmp_path / "gone.png", record)
    assert list(tmp_path.iterdir()) == []


def test_is_own_sidecar(png_file: Path, record: TagRecord, tmp_path: Path) -> None:
    ours = write_sidecar(png_file, record)
    foreign = tmp_path / "other.png.xmp"
    foreign.write_bytes(DARKTABLE_SIDECAR)
    renamed = tmp_path / "ours.txt"
    renamed.write_bytes(ours.read_bytes())
    assert is_own_sidecar(ours)
    assert not is_own_sidecar(foreign)
    assert not is_own_sidecar(renamed)
    assert not is_own_sidecar(png_file)
    assert not is_own_sidecar(tmp_path / "missing.xmp")


def test_exiftool_reads_our_sidecar(png_file: Path) -> None:
    record = make_record(approval_ref="CLR-2026-0142")
    sidecar = write_sidecar(png_file, record)

    (tags,) = json.loads(run_exiftool("-j", "-G1", "-a", sidecar))

    assert tags["XMP-iptcExt:DigitalSourceType"] == DIGITAL_SOURCE_TYPES["ai"]
    assert {f"XMP-provenance:{name}" for name in PROPERTIES} <= set(tags)
    assert tags["XMP-provenance:AssetId"] == record.asset_uid
    assert tags["XMP-provenance:AiClass"] == "ai"
    assert tags["XMP-provenance:Status"] == "temporary"
    assert tags["XMP-provenance:FirstSeen"] == "2026:05:01 09:30:00Z"
    assert tags["XMP-provenance:Deadline"] == "2026:06:30 00:00:00Z"
    assert tags["XMP-provenance:Signals"] == ["sd-text", "exif"]
    assert tags["XMP-provenance:ApprovalRef"] == "CLR-2026-0142"
    assert tags["XMP-provenance:SchemaVersion"] == 1
    assert "XMP-xmp:CreatorTool" not in tags


def test_exiftool_reads_a_merged_darktable_sidecar(png_file: Path, record: TagRecord) -> None:
    sidecar_path(png_file).write_bytes(DARKTABLE_SIDECAR)
    sidecar = write_sidecar(png_file, record)
    (tags,) = json.loads(run_exiftool("-j", "-G1", "-a", "-struct", sidecar))
    assert tags["XMP-xmp:Rating"] == 3
    assert tags["XMP-dc:Title"] == "Plate 12 & sky"
    assert tags["XMP-provenance:AssetId"] == record.asset_uid
    assert tags["XMP-iptcExt:DigitalSourceType"] == DIGITAL_SOURCE_TYPES["ai"]


def test_sidecar_edited_by_exiftool_still_reads_and_merges(
    png_file: Path, record: TagRecord
) -> None:
    sidecar = write_sidecar(png_file, record)
    run_exiftool("-overwrite_original", "-XMP-xmp:Rating=4", "-XMP-dc:Subject=plate", sidecar)
    assert read_sidecar(png_file) == record
    later = make_record(status="flagged")
    write_sidecar(png_file, later)
    assert read_sidecar(png_file) == later
    (tags,) = json.loads(run_exiftool("-j", "-G1", sidecar))
    assert tags["XMP-xmp:Rating"] == 4
    assert tags["XMP-provenance:Status"] == "flagged"
