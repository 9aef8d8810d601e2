"""Helpers for the tagging tests: records, sample XMP, byte-level views of JPEG and PNG."""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image

from provenance.tagging import DIGITAL_SOURCE_TYPES, TagRecord
from tests.fixtures_media import BILLION_LAUGHS as BILLION_LAUGHS  # shared hostile packet
from tests.needs import unavailable

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


# A sidecar as darktable writes it (exiv2): attributes, nested arrays, its own namespace.
DARKTABLE_SIDECAR = b"""<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <!-- darktable keeps its edit history here -->
  <rdf:Description rdf:about=""
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:darktable="http://darktable.sf.net/"
   exif:DateTimeOriginal="2026:05:01 09:30:00"
   xmp:Rating="3"
   xmpMM:DerivedFrom="shot.png"
   darktable:import_timestamp="63848000000000000"
   darktable:xmp_version="5"
   darktable:history_end="1">
   <dc:title>
    <rdf:Alt>
     <rdf:li xml:lang="x-default">Plate 12 &amp; sky</rdf:li>
    </rdf:Alt>
   </dc:title>
   <darktable:masks_history>
    <rdf:Seq/>
   </darktable:masks_history>
   <darktable:history>
    <rdf:Seq>
     <rdf:li
      darktable:num="0"
      darktable:operation="exposure"
      darktable:enabled="1"
      darktable:params="0000000000000000"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

# The start of a C2PA manifest store: a JUMBF superbox whose description box has the
# C2PA type UUID and the label "c2pa". No manifest inside; nothing is signed.
_C2PA_UUID = b"c2pa" + bytes.fromhex("00110010800000aa00389b71")
_JUMD = b"jumd" + _C2PA_UUID + b"\x03" + b"c2pa\x00"
JUMBF_C2PA = (
    struct.pack(">I", 8 + 4 + len(_JUMD)) + b"jumb" + struct.pack(">I", 4 + len(_JUMD)) + _JUMD
)


def make_record(**changes: Any) -> TagRecord:
    record = TagRecord(
        asset_uid="6f1c0e1e-1111-4222-8333-444455556666",
        ai_class="ai",
        status="temporary",
        content_hash="blake3:" + "ab" * 32,
        first_seen=datetime(2026, 5, 1, 9, 30, tzinfo=UTC),
        deadline=datetime(2026, 6, 30, tzinfo=UTC),
        generator="ComfyUI",
        model="sd_xl_base_1.0",
        digital_source_type=DIGITAL_SOURCE_TYPES["ai"],
        signals=("sd-text", "exif"),
        approval_ref=None,
    )
    return replace(record, **changes)


def sample_image() -> Image.Image:
    image = Image.new("RGB", (32, 24))
    image.putdata(
        [(x * 8 % 256, y * 10 % 256, (x * y) % 256) for y in range(24) for x in range(32)]
    )
    return image


def jpeg_segments(data: bytes) -> tuple[list[bytes], bytes]:
    """Split a JPEG into its raw segments before SOS and everything from SOS on."""
    assert data[:2] == b"\xff\xd8"
    segments, offset = [], 2
    while data[offset + 1] != 0xDA:
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        segments.append(data[offset : offset + 2 + length])
        offset += 2 + length
    return segments, data[offset:]


def is_jpeg_xmp(segment: bytes) -> bool:
    return segment[:2] == b"\xff\xe1" and segment[4:].startswith(b"http://ns.adobe.com/xap/1.0/\0")


def png_chunks(data: bytes) -> list[bytes]:
    """Split a PNG into its raw chunks (length, type, data, CRC)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        chunks.append(data[offset : offset + 12 + length])
        offset += 12 + length
    return chunks


def is_png_xmp(chunk: bytes) -> bool:
    return chunk[4:8] == b"iTXt" and chunk[8:].startswith(b"XML:com.adobe.xmp\0")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def insert_png_chunk(path: Path, chunk: bytes) -> None:
    """Put ``chunk`` right after IHDR."""
    chunks = png_chunks(path.read_bytes())
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks[0] + chunk + b"".join(chunks[1:]))


def insert_jpeg_segment(path: Path, marker: int, payload: bytes) -> None:
    """Put an APPn segment right after SOI."""
    data = path.read_bytes()
    segment = bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    path.write_bytes(data[:2] + segment + data[2:])


def pixels(path: Path) -> bytes:
    with Image.open(path) as image:
        return image.tobytes()


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def exiftool_or_skip() -> str:
    tool = shutil.which("exiftool")
    if tool is None:
        unavailable("exiftool is not installed (apt-get install libimage-exiftool-perl)")
    return tool


def run_exiftool(*args: str | Path) -> str:
    tool = exiftool_or_skip()
    done = subprocess.run([tool, *map(str, args)], capture_output=True, text=True, check=True)
    return done.stdout


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make ``folder`` refuse new entries, also for root (immutable flag), or skip."""
    mode = folder.stat().st_mode
    os.chmod(folder, 0o555)
    immutable = False
    try:
        probe = folder / ".probe"
        try:
            probe.touch()
        except PermissionError:
            pass
        else:
            probe.unlink()
            chattr = shutil.which("chattr")
            if (
                chattr is None
                or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode
            ):
                unavailable("cannot make a folder read-only here (root without chattr +i)")
            immutable = True
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        os.chmod(folder, mode)


def rewrite(path: Path, change: Callable[[bytes], bytes]) -> None:
    path.write_bytes(change(path.read_bytes()))


def decode_png_itxt(chunk: bytes) -> bytes:
    body = chunk[8:-4]
    rest = body[len(b"XML:com.adobe.xmp\0") :]
    compressed, text = rest[0], rest[2:].split(b"\0", 2)[2]
    return zlib.decompress(text) if compressed else text
