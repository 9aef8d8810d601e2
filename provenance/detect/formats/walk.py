"""Pick the walker for a sniffed media type; formats with no walker of their own are searched
for a bare XMP packet and a C2PA manifest store."""

from __future__ import annotations

import logging

from provenance.detect.buffers import Buffer
from provenance.detect.formats.blocks import MAX_BLOCK, Block, Parts
from provenance.detect.formats.bmff import walk_bmff
from provenance.detect.formats.dpx import walk_dpx
from provenance.detect.formats.exr import walk_exr
from provenance.detect.formats.flac import walk_flac
from provenance.detect.formats.id3 import walk_id3
from provenance.detect.formats.jpeg import walk_jpeg
from provenance.detect.formats.matroska import walk_matroska
from provenance.detect.formats.mxf import walk_mxf
from provenance.detect.formats.png import walk_png
from provenance.detect.formats.riff import walk_riff

log = logging.getLogger(__name__)

#: How much of the start and the end of an unstructured file the bare XMP scan reads.
_SCAN_WINDOW = 4 * 1024 * 1024
#: Formats without a walker of their own place for XMP: the bare packet scan covers them.
_UNSTRUCTURED = (
    "application/pdf",
    "application/octet-stream",
    "image/gif",
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
    elif media_type == "image/x-exr":
        walk_exr(data, parts)
    elif media_type == "image/x-dpx":
        walk_dpx(data, parts)
    elif media_type == "application/mxf":
        walk_mxf(data, parts)
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
