"""Walk a JPEG's segments: APP1 EXIF and XMP, APP11 JUMBF (C2PA) and COM comments."""

from __future__ import annotations

import logging

from provenance.detect.buffers import Buffer
from provenance.detect.formats.blocks import Block, Parts, TextEntry

log = logging.getLogger(__name__)

EXIF_HEADER = b"Exif\x00\x00"
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"


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
    if marker == 0xE1 and body.startswith(EXIF_HEADER):
        parts.add_exif(body, len(EXIF_HEADER), len(body), "JPEG APP1 Exif")
    elif marker == 0xE1 and body.startswith(_XMP_HEADER):
        parts.xmp.append(Block(body[len(_XMP_HEADER) :], "JPEG APP1 XMP"))
    elif marker == 0xEB and body.startswith(b"JP") and b"jumb" in body:
        if b"c2pa" in body:
            parts.c2pa_marker = "JPEG APP11 JUMBF"
    elif marker == 0xFE:
        text = body.decode("utf-8", errors="replace").strip("\x00 ")
        if text:
            parts.texts.append(TextEntry("Comment", text, "JPEG COM"))
