"""Walk a RIFF file (WebP, WAV): its EXIF, XMP and C2PA chunks."""

from __future__ import annotations

import logging
import struct

from provenance.detect.buffers import Buffer
from provenance.detect.formats.blocks import MAX_BLOCK, Block, Parts
from provenance.detect.formats.jpeg import EXIF_HEADER

log = logging.getLogger(__name__)

_RIFF_CHUNK = struct.Struct("<4sI")


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
                body = bytes(data[body_start:body_end]).removeprefix(EXIF_HEADER)
                parts.add_exif(body, 0, len(body), "WebP EXIF")
            else:
                parts.xmp.append(Block(bytes(data[body_start:body_end]), f"RIFF {name!r}"))
        elif chunk_id == b"C2PA":
            parts.c2pa_marker = "RIFF C2PA"
        position = body_end + (length & 1)
