"""Walk a FLAC file's metadata blocks: its Vorbis comments, and a C2PA APPLICATION block;
an ID3v2 tag before the stream (where the C2PA library puts a FLAC's manifest) is walked
as an MP3's.

Reads headers only, as every audio and video walk (see ``blocks.TAG_KEYWORDS``).
"""

from __future__ import annotations

import logging
import struct

from provenance.detect.buffers import Buffer
from provenance.detect.formats.blocks import MAX_BLOCK, MAX_ELEMENTS, Parts
from provenance.detect.formats.id3 import tag_end, walk_id3

log = logging.getLogger(__name__)


def walk_flac(data: Buffer, parts: Parts) -> None:
    """Add the Vorbis comments of a FLAC file to ``parts``; note a C2PA block."""
    start = tag_end(data)
    if start:
        walk_id3(data, parts)
    position = start + 4
    for _ in range(MAX_ELEMENTS):
        if position + 4 > len(data):
            return
        header = data[position]
        length = int.from_bytes(bytes(data[position + 1 : position + 4]), "big")
        body, stop = position + 4, position + 4 + length
        if stop > len(data):
            parts.problems.append("FLAC: metadata block runs past the end; file truncated")
            return
        kind = header & 0x7F
        if kind == 4 and length <= MAX_BLOCK:
            _read_vorbis_comments(bytes(data[body:stop]), parts)
        elif kind == 2 and b"c2pa" in bytes(data[body : min(stop, body + 64)]).lower():
            parts.c2pa_marker = "FLAC APPLICATION c2pa"
        if header & 0x80:  # the last metadata block; audio frames follow
            return
        position = stop
    parts.problems.append("FLAC: too many metadata blocks; walk stopped")


def _read_vorbis_comments(body: bytes, parts: Parts) -> None:
    vendor_length = struct.unpack_from("<I", body, 0)[0]
    position = 4 + vendor_length
    count = struct.unpack_from("<I", body, position)[0]
    position += 4
    for _ in range(min(count, MAX_ELEMENTS)):
        length = struct.unpack_from("<I", body, position)[0]
        entry = body[position + 4 : position + 4 + length].decode("utf-8", errors="replace")
        position += 4 + length
        name, _, value = entry.partition("=")
        parts.add_tag(name, value, f"FLAC Vorbis comment {name!r}")
