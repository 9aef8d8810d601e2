"""Embedded XMP in JPEG and PNG: byte-exact rewrites, merges, C2PA refusals."""

from __future__ import annotations

import json
import logging
import os
import shutil
import zlib
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from provenance.errors import ReadError, WriteError
from provenance.tagging import (
    DIGITAL_SOURCE_TYPES,
    TagRecord,
    can_embed,
    embed_xmp,
    read_embedded,
)
from tests.needs import unavailable

from .helpers import (
    BILLION_LAUGHS,
    CORPUS,
    JUMBF_C2PA,
    decode_png_itxt,
    insert_jpeg_segment,
    insert_png_chunk,
    is_jpeg_xmp,
    is_png_xmp,
    jpeg_segments,
    make_record,
    pixels,
    png_chunk,
    png_chunks,
    read_only,
    run_exiftool,
    sample_image,
    snapshot,
)

FOREIGN_XMP = b"""<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:CreatorTool="Draw Things">
<dc:description><rdf:Alt>
<rdf:li xml:lang="x-default">a fish bowl head</rdf:li></rdf:Alt></dc:description>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def test_embed_in_png_changes_only_the_xmp_chunk(png_file: Path, record: TagRecord) -> None:
    before, before_pixels = png_file.read_bytes(), pixels(png_file)
    assert can_embed(png_file) == (True, "png")

    embed_xmp(png_file, record)

    after = png_chunks(png_file.read_bytes())
    added = [c for c in after if is_png_xmp(c)]
    assert len(added) == 1
    assert [c for c in after if not is_png_xmp(c)] == png_chunks(before)
    assert after.index(added[0]) < min(i for i, c in enumerate(after) if c[4:8] == b"IDAT")
    assert pixels(png_file) == before_pixels
    assert read_embedded(png_file) == record


def test_embed_in_jpeg_changes_only_the_xmp_segment(jpeg_file: Path, record: TagRecord) -> None:
    before = jpeg_file.read_bytes()
    before_segments, before_scan = jpeg_segments(before)
    before_pixels = pixels(jpeg_file)
    assert can_embed(jpeg_file) == (True, "jpeg")

    embed_xmp(jpeg_file, record)

    segments, scan = jpeg_segments(jpeg_file.read_bytes())
    assert scan == before_scan  # the entropy-coded image data, byte for byte
    assert [s for s in segments if not is_jpeg_xmp(s)] == before_segments
    kinds = [s[:2] for s in segments]
    assert kinds[:3] == [b"\xff\xe0", b"\xff\xe1", b"\xff\xe1"]  # JFIF, Exif, then XMP
    assert pixels(jpeg_file) == before_pixels
    with Image.open(jpeg_file) as image:
        assert image.getexif()[0x0131] == "ComfyUI"
    assert read_embedded(jpeg_file) == record


def test_embed_merges_with_the_files_own_xmp(tmp_path: Path, record: TagRecord) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", FOREIGN_XMP.decode("utf-8"))
    path = tmp_path / "drawthings.png"
    sample_image().save(path, pnginfo=info)
    others = [c for c in png_chunks(path.read_bytes()) if not is_png_xmp(c)]

    embed_xmp(path, record)

    chunks = png_chunks(path.read_bytes())
    xmp = decode_png_itxt(next(c for c in chunks if is_png_xmp(c))).decode("utf-8")
    assert 'xmp:CreatorTool="Draw Things"' in xmp
    assert '<rdf:li xml:lang="x-default">a fish bowl head</rdf:li>' in xmp
    assert [c for c in chunks if not is_png_xmp(c)] == others
    assert read_embedded(path) == record


def test_embed_replaces_an_earlier_record(jpeg_file: Path) -> None:
    embed_xmp(jpeg_file, make_record())
    cleared = make_record(status="cleared", approval_ref="CLR-1")
    embed_xmp(jpeg_file, cleared)
    segments, _ = jpeg_segments(jpeg_file.read_bytes())
    assert sum(is_jpeg_xmp(s) for s in segments) == 1
    assert read_embedded(jpeg_file) == cleared


def test_embed_twice_with_the_same_record_leaves_the_file_alone(
    png_file: Path, record: TagRecord
) -> None:
    embed_xmp(png_file, record)
    before = snapshot(png_file)
    embed_xmp(png_file, record)
    assert snapshot(png_file) == before


def test_embed_keeps_mode_and_updates_mtime(png_file: Path, record: TagRecord) -> None:
    """Chosen: mtime is not restored, since the bytes changed and backup tools rely on it."""
    png_file.chmod(0o640)
    os.utime(png_file, ns=(1_000_000_000, 1_000_000_000))
    embed_xmp(png_file, record)
    assert png_file.stat().st_mode & 0o777 == 0o640
    assert png_file.stat().st_mtime_ns > 1_000_000_000


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_embed_dry_run_writes_nothing(
    kind: str, png_file: Path, jpeg_file: Path, record: TagRecord, caplog: pytest.LogCaptureFixture
) -> None:
    path = png_file if kind == "png" else jpeg_file
    caplog.set_level(logging.INFO)
    before = snapshot(path)
    embed_xmp(path, record, dry_run=True)
    assert snapshot(path) == before
    assert "dry run" in caplog.text
    assert read_embedded(path) is None


def test_jpeg_with_c2pa_manifest_is_refused(jpeg_file: Path, record: TagRecord) -> None:
    insert_jpeg_segment(jpeg_file, 0xEB, b"JP" + b"\x00\x01" + b"\x00\x00\x00\x01" + JUMBF_C2PA)
    before = snapshot(jpeg_file)
    assert can_embed(jpeg_file) == (False, "carries a C2PA manifest")
    assert can_embed(jpeg_file, jpeg_file.read_bytes()) == (False, "carries a C2PA manifest")
    with pytest.raises(WriteError, match="carries a C2PA manifest") as caught:
        embed_xmp(jpeg_file, record)
    assert caught.value.path == jpeg_file
    assert snapshot(jpeg_file) == before


def test_png_with_c2pa_chunk_is_refused(png_file: Path, record: TagRecord) -> None:
    insert_png_chunk(png_file, png_chunk(b"caBX", JUMBF_C2PA))
    before = snapshot(png_file)
    assert can_embed(png_file) == (False, "carries a C2PA manifest")
    with pytest.raises(WriteError, match="carries a C2PA manifest"):
        embed_xmp(png_file, record)
    assert snapshot(png_file) == before


def test_file_with_a_c2pa_sidecar_is_refused(png_file: Path, record: TagRecord) -> None:
    png_file.with_suffix(".c2pa").write_bytes(JUMBF_C2PA)
    assert can_embed(png_file) == (False, "has a C2PA manifest beside it (.c2pa)")
    with pytest.raises(WriteError, match="C2PA"):
        embed_xmp(png_file, record)


def test_file_pointing_at_a_remote_c2pa_manifest_is_refused(tmp_path: Path) -> None:
    xmp = FOREIGN_XMP.replace(
        b'xmp:CreatorTool="Draw Things"',
        b'xmlns:dcterms="http://purl.org/dc/terms/" '
        b'dcterms:provenance="https://example.org/manifests/1.c2pa"',
    )
    path = tmp_path / "remote.jpg"
    sample_image().save(path, xmp=xmp)
    assert can_embed(path) == (False, "refers to a remote C2PA manifest (dcterms:provenance)")


@pytest.mark.parametrize(
    "name",
    [
        "c2pa_adobe_photoshop_genfill.jpg",
        "c2pa_microsoft_designer.jpg",
        "c2pa_openai_gpt-image.png",
    ],
)
def test_real_c2pa_files_are_refused(name: str, tmp_path: Path, record: TagRecord) -> None:
    source = CORPUS / name
    if not source.exists():
        unavailable(f"corpus file {name} is not available")
    path = tmp_path / name
    shutil.copyfile(source, path)
    assert can_embed(path) == (False, "carries a C2PA manifest")
    with pytest.raises(WriteError):
        embed_xmp(path, record)
    assert path.read_bytes() == source.read_bytes()


def test_unsupported_format_is_refused(tmp_path: Path, record: TagRecord) -> None:
    path = tmp_path / "frame.webp"
    sample_image().save(path)
    ok, reason = can_embed(path)
    assert not ok
    assert reason.startswith("format not supported")
    with pytest.raises(WriteError, match="not supported"):
        embed_xmp(path, record)
    assert read_embedded(path) is None


def test_png_bytes_under_a_jpeg_name_are_treated_as_png(png_file: Path, record: TagRecord) -> None:
    path = png_file.rename(png_file.with_suffix(".jpeg"))
    assert can_embed(path) == (True, "png")
    embed_xmp(path, record)
    assert read_embedded(path) == record


def test_hostile_embedded_xmp_is_refused_and_left_alone(png_file: Path, record: TagRecord) -> None:
    insert_png_chunk(png_file, png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + BILLION_LAUGHS))
    before = snapshot(png_file)
    ok, reason = can_embed(png_file)
    assert not ok
    assert "forbidden XML construct" in reason
    with pytest.raises(WriteError):
        embed_xmp(png_file, record)
    with pytest.raises(ReadError):
        read_embedded(png_file)
    assert snapshot(png_file) == before


def test_compressed_xmp_chunk_is_read(png_file: Path, record: TagRecord) -> None:
    embed_xmp(png_file, record)
    chunks = png_chunks(png_file.read_bytes())
    index = next(i for i, c in enumerate(chunks) if is_png_xmp(c))
    packet = decode_png_itxt(chunks[index])
    chunks[index] = png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\x01\x00\0\0" + zlib.compress(packet))
    png_file.write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(chunks))
    assert read_embedded(png_file) == record


def test_truncated_files_are_read_errors(png_file: Path, jpeg_file: Path) -> None:
    for path in (png_file, jpeg_file):
        path.write_bytes(path.read_bytes()[:40])
        assert can_embed(path)[0] is False
        with pytest.raises(ReadError):
            read_embedded(path)


def test_packet_too_large_for_a_jpeg_segment_is_refused(jpeg_file: Path) -> None:
    before = snapshot(jpeg_file)
    with pytest.raises(WriteError, match="APP1"):
        embed_xmp(jpeg_file, make_record(generator="x" * 70_000))
    assert snapshot(jpeg_file) == before


def test_symlink_is_not_rewritten(png_file: Path, record: TagRecord, tmp_path: Path) -> None:
    link = tmp_path / "link.png"
    link.symlink_to(png_file)
    with pytest.raises(WriteError, match="symbolic links are not rewritten"):
        embed_xmp(link, record)


def test_a_fifo_is_not_rewritten(record: TagRecord, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(WriteError, match="not a regular file"):
        embed_xmp(fifo, record)


def test_read_only_folder_is_a_write_error(png_file: Path, record: TagRecord) -> None:
    before = snapshot(png_file)
    with read_only(png_file.parent), pytest.raises(WriteError) as caught:
        embed_xmp(png_file, record)
    assert caught.value.path == png_file
    assert snapshot(png_file) == before


def test_exiftool_reads_embedded_xmp(png_file: Path, jpeg_file: Path, record: TagRecord) -> None:
    for path in (png_file, jpeg_file):
        # Pillow's minimal Exif draws warnings of its own; embedding must add none.
        (before,) = json.loads(run_exiftool("-j", "-validate", "-warning", "-a", path))
        embed_xmp(path, record)
        (tags,) = json.loads(run_exiftool("-j", "-G1", "-a", path))
        assert tags["XMP-provenance:AssetId"] == record.asset_uid
        assert tags["XMP-iptcExt:DigitalSourceType"] == DIGITAL_SOURCE_TYPES["ai"]
        (after,) = json.loads(run_exiftool("-j", "-validate", "-warning", "-a", path))
        assert after == before
