"""Walk an MP3's ID3v2 tag: its text frames, and a C2PA manifest in a GEOB frame.

The same tag may open a FLAC file (the C2PA library stores a FLAC's manifest that way):
``tag_end`` says where the file's own bytes begin.

Reads headers only, as every audio and video walk (see ``blocks.TAG_KEYWORDS``).
"""

from __future__ import annotations

import logging
import struct

from provenance.detect.buffers import Buffer
from provenance.detect.formats.blocks import MAX_BLOCK, MAX_ELEMENTS, Parts

log = logging.getLogger(__name__)


def walk_id3(data: Buffer, parts: Parts) -> None:
    """Add the text frames (TXXX, COMM, TSSE, TIT3) of an MP3's ID3v2 tag to ``parts``, and
    note a C2PA manifest in a GEOB frame."""
    if len(data) < 10 or bytes(data[:3]) != b"ID3":
        return
    version = data[3]
    if version not in (3, 4):
        return
    size = _syncsafe(bytes(data[6:10]))
    end = min(len(data), 10 + size)
    position = 10
    if data[5] & 0x40:  # extended header
        extended = bytes(data[10:14])
        position += _syncsafe(extended) if version == 4 else struct.unpack(">I", extended)[0] + 4
    for _ in range(MAX_ELEMENTS):
        if position + 10 > end or data[position] == 0:
            return
        frame_id = bytes(data[position : position + 4])
        raw = bytes(data[position + 4 : position + 8])
        length = _syncsafe(raw) if version == 4 else struct.unpack(">I", raw)[0]
        body, stop = position + 10, position + 10 + length
        if stop > end:
            parts.problems.append(f"ID3: frame {frame_id!r} runs past the tag; walk stopped")
            return
        if length <= MAX_BLOCK:
            _read_id3_frame(frame_id, bytes(data[body:stop]), parts)
        position = stop
    parts.problems.append("ID3: too many frames; walk stopped")


def _read_id3_frame(frame_id: bytes, body: bytes, parts: Parts) -> None:
    if not body:
        return
    if frame_id == b"GEOB":
        if b"c2pa" in body[:256].lower():  # mime type application/c2pa or a c2pa file name
            parts.c2pa_marker = "ID3 GEOB c2pa"
        return
    encoding, rest = body[0], body[1:]
    if frame_id == b"TXXX":
        name, value = _id3_split(encoding, rest)
        parts.add_tag(name, value, f"ID3 TXXX {name!r}")
    elif frame_id == b"COMM":
        _, value = _id3_split(encoding, rest[3:])  # a language code, then description\0text
        parts.add_tag("comment", value, "ID3 COMM")
    elif frame_id in (b"TSSE", b"TENC"):
        parts.add_tag("software", _id3_text(encoding, rest), f"ID3 {frame_id.decode()}")
    elif frame_id == b"TIT3":
        parts.add_tag("description", _id3_text(encoding, rest), "ID3 TIT3")


def _id3_split(encoding: int, raw: bytes) -> tuple[str, str]:
    terminator = b"\x00\x00" if encoding in (1, 2) else b"\x00"
    at = 0
    while True:
        at = raw.find(terminator, at)
        if at == -1 or terminator == b"\x00" or at % 2 == 0:
            break
        at += 1
    if at == -1:
        return "", _id3_text(encoding, raw)
    return _id3_text(encoding, raw[:at]), _id3_text(encoding, raw[at + len(terminator) :])


def _id3_text(encoding: int, raw: bytes) -> str:
    codec = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}.get(encoding, "latin-1")
    return raw.decode(codec, errors="replace").strip("\x00")


def tag_end(data: Buffer) -> int:
    """Return the offset just past an ID3v2 tag that opens ``data`` (its footer included),
    or 0 when there is none."""
    if len(data) < 10 or bytes(data[:3]) != b"ID3":
        return 0
    footer = 10 if data[5] & 0x10 else 0
    return 10 + _syncsafe(bytes(data[6:10])) + footer


def _syncsafe(raw: bytes) -> int:
    return raw[0] << 21 | raw[1] << 14 | raw[2] << 7 | raw[3]
