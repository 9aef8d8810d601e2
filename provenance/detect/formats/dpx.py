"""Read a DPX file's generic header text fields and its user-defined data block.

The generic file header (SMPTE 268M) sits at fixed offsets in either byte order (magic
``SDPX`` big endian, ``XPDS`` little endian): the creator (the tool that wrote the file)
is a tool field, the project and copyright fields are text; the user-defined data block
starts at byte 2048 with a 32-byte user identification, its size stated by the header.
At most :data:`MAX_USER_DATA` bytes of it are read (the standard allows one megabyte):
an XMP packet there goes to the IPTC family, text to the text families. The image data is
never read.
"""

from __future__ import annotations

import logging
from typing import Literal

from provenance.detect.buffers import Buffer
from provenance.detect.formats.blocks import TAG_KEYWORDS, TOOL_FIELDS, Parts

log = logging.getLogger(__name__)

MAGICS = (b"SDPX", b"XPDS")
#: The most user-defined data read (SMPTE 268M caps the block at 1,000,000 bytes).
MAX_USER_DATA = 1024 * 1024
_USER_DATA = 2048  # where the user-defined data starts: after the generic and industry headers
_USER_ID = 32  # its first bytes: a user identification (ASCII)
_UNDEFINED = 0xFFFFFFFF
#: Generic header text fields: (offset, length, field name handed to the families).
_FIELDS = ((160, 100, "creator"), (260, 200, "project"), (460, 200, "copyright"))


def walk_dpx(data: Buffer, parts: Parts) -> None:
    """Add a DPX file's creator, project, copyright and user-defined data to ``parts``."""
    if len(data) < 768:
        parts.problems.append("DPX: file truncated before the end of its generic header")
        return
    order: Literal["big", "little"] = "big" if bytes(data[:4]) == b"SDPX" else "little"
    for offset, length, name in _FIELDS:
        text = _ascii(bytes(data[offset : offset + length]))
        if text:
            # the creator names the tool; project and copyright are text (JSON there is read)
            parts.add_field(name if name == "creator" else "description", text, f"DPX {name}")
    image_offset = int.from_bytes(bytes(data[4:8]), order)
    if len(data) < image_offset != _UNDEFINED:
        parts.problems.append(
            f"DPX: image data offset {image_offset} is past the end of the file; truncated"
        )
    declared = int.from_bytes(bytes(data[32:36]), order)
    if declared in (0, _UNDEFINED) or declared <= _USER_ID:
        return
    _read_user_data(data, declared, image_offset, parts)


def _read_user_data(data: Buffer, declared: int, image_offset: int, parts: Parts) -> None:
    end = _USER_DATA + declared
    if _USER_DATA < image_offset < end:
        parts.problems.append(
            f"DPX: user data of {declared} bytes runs into the image data; read to its start"
        )
        end = image_offset
    if end > len(data):
        parts.problems.append(f"DPX: user data of {declared} bytes runs past the end; truncated")
        end = len(data)
    if end - _USER_DATA > MAX_USER_DATA:
        parts.problems.append(
            f"DPX: user data of {declared} bytes; only the first {MAX_USER_DATA} read"
        )
        end = _USER_DATA + MAX_USER_DATA
    if end <= _USER_DATA + _USER_ID or not parts.take(end - _USER_DATA, "DPX user data"):
        return
    user_id = _ascii(bytes(data[_USER_DATA : _USER_DATA + _USER_ID]))
    body = bytes(data[_USER_DATA + _USER_ID : end]).rstrip(b"\x00")
    source = f"DPX user data {user_id!r}" if user_id else "DPX user data"
    packet = body.find(b"<x:xmpmeta")
    if packet >= 0:
        close = body.find(b"</x:xmpmeta>", packet)
        if close < 0:
            parts.problems.append(f"{source}: XMP packet start found without its end; skipped")
            return
        parts.add_field("xmp", body[packet : close + 12].decode("utf-8", "replace"), source)
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return  # binary user data (a vendor's own structure): nothing for the families
    if "\x00" in text:
        return
    key = user_id.lower()
    parts.add_field(key if key in TAG_KEYWORDS or key in TOOL_FIELDS else "comment", text, source)


def _ascii(raw: bytes) -> str:
    """A fixed-size header string: up to its first NUL, printable or empty."""
    text = raw.split(b"\x00", 1)[0].decode("latin-1").strip()
    return text if text.isprintable() else ""
