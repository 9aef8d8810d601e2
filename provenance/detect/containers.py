"""Walk the segments, chunks or boxes of a container and collect its metadata blocks."""

from __future__ import annotations

import logging
import struct

from provenance.detect.av import read_movie_metadata, walk_flac, walk_id3, walk_matroska
from provenance.detect.buffers import Buffer
from provenance.detect.parts import MAX_BLOCK, Block, Parts, TextEntry
from provenance.detect.png import walk_png

log = logging.getLogger(__name__)

_EXIF_HEADER = b"Exif\x00\x00"
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
_XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
#: How much of the start and the end of an unstructured file the bare XMP scan reads.
_SCAN_WINDOW = 4 * 1024 * 1024
_MAX_BOXES = 100_000
_RIFF_CHUNK = struct.Struct("<4sI")
#: Formats without a walker of their own place for XMP: the bare packet scan covers them.
_UNSTRUCTURED = (
    "application/pdf",
    "application/octet-stream",
    "image/gif",
    "image/x-exr",
    "video/mp4",
    "video/quicktime",
)
#: Formats the C2PA library reads and no walker here knows the manifest's place in: their
#: head and tail are searched for a manifest store's JUMBF description box (``jumd`` with
#: the label ``c2pa``), or SVG's ``<c2pa:manifest>`` element.
_C2PA_SEARCHED = (
    "application/octet-stream",
    "application/c2pa",
    "audio/flac",
    "audio/mpeg",
    "image/gif",
    "image/jxl",
    "image/svg+xml",
    "image/tiff",
    "video/x-msvideo",
)


def walk(data: Buffer, media_type: str) -> Parts:
    """Return the metadata blocks found in ``data``, read by its sniffed ``media_type``."""
    parts = Parts()
    if media_type == "image/png":
        walk_png(data, parts)
    elif media_type == "image/jpeg":
        walk_jpeg(data, parts)
    elif media_type in ("image/webp", "audio/wav"):
        walk_riff(data, parts)
    elif media_type in ("video/mp4", "video/quicktime", "audio/mp4", "image/heic", "image/avif"):
        walk_bmff(data, parts)
    elif media_type in ("video/webm", "video/x-matroska"):
        walk_matroska(data, parts)
    elif media_type == "audio/mpeg":
        walk_id3(data, parts)
    elif media_type == "audio/flac":
        walk_flac(data, parts)
    elif media_type == "image/tiff":
        parts.add_exif(data, 0, len(data), "TIFF IFD0")
    elif media_type == "application/rdf+xml":
        if len(data) > MAX_BLOCK:
            parts.problems.append(f"XMP: packet of {len(data)} bytes is over the cap; skipped")
        else:
            parts.xmp.append(Block(bytes(data), "XMP file"))
    elif media_type == "application/pdf" and data.find(b"c2pa") != -1:
        parts.c2pa_marker = "PDF c2pa manifest"
    if not parts.xmp and media_type in _UNSTRUCTURED:
        _scan_bare_xmp(data, parts)
    if parts.c2pa_marker is None and media_type in _C2PA_SEARCHED:
        _search_c2pa(data, media_type, parts)
    return parts


def walk_jpeg(data: Buffer, parts: Parts) -> None:
    """Add the APP1 EXIF/XMP, APP11 JUMBF and COM segments of a JPEG to ``parts``.

    The walk stops at the first scan (SOS): metadata segments come before image data.
    """
    position = 2
    size = len(data)
    while position < size:
        # indexing bytes or a mapping gives an int, with no copy of the header
        left = size - position
        if left < 2 or data[position] != 0xFF:
            parts.problems.append(f"JPEG: no segment marker at offset {position}; walk stopped")
            return
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        if marker in (0xD9, 0xDA):
            return
        if left < 4:
            parts.problems.append(f"JPEG: truncated segment header at offset {position}")
            return
        length = data[position + 2] << 8 | data[position + 3]
        body_start, body_end = position + 4, position + 2 + length
        if length < 2 or body_end > size:
            parts.problems.append(f"JPEG: segment at offset {position} runs past the end")
            return
        if marker in (0xE1, 0xEB, 0xFE) and parts.take(length, f"JPEG segment {marker:#x}"):
            _read_jpeg_segment(marker, bytes(data[body_start:body_end]), parts)
        position = body_end
    parts.problems.append("JPEG: file ends before the image data")


def _read_jpeg_segment(marker: int, body: bytes, parts: Parts) -> None:
    if marker == 0xE1 and body.startswith(_EXIF_HEADER):
        parts.add_exif(body, len(_EXIF_HEADER), len(body), "JPEG APP1 Exif")
    elif marker == 0xE1 and body.startswith(_XMP_HEADER):
        parts.xmp.append(Block(body[len(_XMP_HEADER) :], "JPEG APP1 XMP"))
    elif marker == 0xEB and body.startswith(b"JP") and b"jumb" in body:
        if b"c2pa" in body:
            parts.c2pa_marker = "JPEG APP11 JUMBF"
    elif marker == 0xFE:
        text = body.decode("utf-8", errors="replace").strip("\x00 ")
        if text:
            parts.texts.append(TextEntry("Comment", text, "JPEG COM"))


def walk_riff(data: Buffer, parts: Parts) -> None:
    """Add the EXIF, XMP and C2PA chunks of a RIFF file (WebP, WAV) to ``parts``."""
    size = min(len(data), 8 + struct.unpack("<I", bytes(data[4:8]))[0])
    position = 12
    while position + 8 <= size:
        chunk_id, length = _RIFF_CHUNK.unpack_from(data, position)
        body_start, body_end = position + 8, position + 8 + length
        name = chunk_id.decode("latin-1")
        if body_end > len(data):
            parts.problems.append(f"RIFF: {name!r} chunk runs past the end; file truncated")
            return
        if chunk_id in (b"EXIF", b"XMP ", b"_PMX"):
            if length > MAX_BLOCK:
                parts.problems.append(f"RIFF: {name!r} chunk over the cap; skipped")
            elif chunk_id == b"EXIF":
                body = bytes(data[body_start:body_end]).removeprefix(_EXIF_HEADER)
                parts.add_exif(body, 0, len(body), "WebP EXIF")
            else:
                parts.xmp.append(Block(bytes(data[body_start:body_end]), f"RIFF {name!r}"))
        elif chunk_id == b"C2PA":
            parts.c2pa_marker = "RIFF C2PA"
        position = body_end + (length & 1)


def walk_bmff(data: Buffer, parts: Parts) -> None:
    """Add the top-level C2PA and XMP ``uuid`` boxes of an ISO-BMFF file to ``parts``."""
    position = 0
    size = len(data)
    for _ in range(_MAX_BOXES):
        if position + 8 > size:
            return
        box_size, box_type = struct.unpack(">I4s", bytes(data[position : position + 8]))
        header = 8
        if box_size == 1:
            if position + 16 > size:
                break
            box_size = struct.unpack(">Q", bytes(data[position + 8 : position + 16]))[0]
            header = 16
        elif box_size == 0:
            box_size = size - position
        if box_size < header or position + box_size > size:
            parts.problems.append(
                f"BMFF: box {box_type.decode('latin-1')!r} at offset {position} runs past"
                " the end; file truncated"
            )
            return
        if box_type == b"moov":
            read_movie_metadata(data, position + header, position + box_size, parts)
        elif box_type == b"uuid":
            uuid = bytes(data[position + header : position + header + 16])
            if uuid == _C2PA_UUID:
                parts.c2pa_marker = "BMFF uuid c2pa"
            elif uuid == _XMP_UUID and box_size <= MAX_BLOCK:
                start = position + header + 16
                parts.xmp.append(Block(bytes(data[start : position + box_size]), "BMFF uuid XMP"))
        position += box_size
    parts.problems.append("BMFF: walk stopped (too many or malformed boxes)")


def _scan_bare_xmp(data: Buffer, parts: Parts) -> None:
    """Find an XMP packet by its ``<x:xmpmeta`` tag near the start or end of the file."""
    size = len(data)
    windows = [(0, min(size, _SCAN_WINDOW))]
    if size > _SCAN_WINDOW:
        windows.append((max(_SCAN_WINDOW, size - _SCAN_WINDOW), size))
    for start, end in windows:
        found = data.find(b"<x:xmpmeta", start, end)
        if found == -1:
            continue
        close = data.find(b"</x:xmpmeta>", found, min(size, found + MAX_BLOCK))
        if close == -1:
            parts.problems.append("XMP: packet start found without its end; skipped")
            return
        parts.xmp.append(Block(bytes(data[found : close + 12]), "bare XMP packet"))
        return


def _search_c2pa(data: Buffer, media_type: str, parts: Parts) -> None:
    """Note a C2PA manifest store found by its JUMBF label near the start or end of a file."""
    size = len(data)
    windows = [(0, min(size, _SCAN_WINDOW))]
    if size > _SCAN_WINDOW:
        windows.append((max(_SCAN_WINDOW, size - _SCAN_WINDOW), size))
    for start, end in windows:
        if media_type == "image/svg+xml":
            if data.find(b"c2pa:manifest", start, end) != -1:
                parts.c2pa_marker = "SVG c2pa:manifest"
                return
            continue
        found = data.find(b"jumd", start, end)
        while found != -1:
            # jumd, a 16-byte content type, a toggles byte, then the label
            if bytes(data[found + 21 : found + 25]) == b"c2pa":
                parts.c2pa_marker = f"{media_type} JUMBF c2pa"
                return
            found = data.find(b"jumd", found + 4, end)
