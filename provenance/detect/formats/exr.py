"""Walk an OpenEXR file's header attributes (every part of a multi-part file) and read its
string attributes: ``comments``, ``owner``, ``software``, and the custom ones tools write
(``prompt``, ``workflow``, ``parameters``, ``generator``, an XMP packet, a C2PA store).

A header is a list of attributes, each ``name\\0 type\\0 size(int32 LE) value``, ended by a
NUL byte; a multi-part file has one header per part and an empty header after the last.
Only the header is read: the walk stops at its end and never touches the offset table or a
pixel. At most :data:`MAX_HEADER` bytes and :data:`MAX_ELEMENTS` attributes are walked.
"""

from __future__ import annotations

import logging
import struct

from provenance.detect.buffers import Buffer
from provenance.detect.formats.blocks import MAX_BLOCK, MAX_ELEMENTS, Parts

log = logging.getLogger(__name__)

MAGIC = b"v/1\x01"
#: The most header bytes walked, all parts together (a real header is kilobytes; one that
#: carries an XMP packet or a workflow, some hundreds of kilobytes).
MAX_HEADER = 16 * 1024 * 1024
_MULTIPART = 0x1000
#: Attribute and type names are at most 255 bytes (31 without the long-names flag).
_MAX_NAME = 256
_STRING_TYPES = ("string", "stringvector")
_INT32 = struct.Struct("<i")


def walk_exr(data: Buffer, parts: Parts) -> None:
    """Add the string attributes of an OpenEXR file's header (or headers) to ``parts``."""
    size = len(data)
    if size < 8:
        parts.problems.append("OpenEXR: file truncated before its header")
        return
    multipart = bool(int.from_bytes(bytes(data[4:8]), "little") & _MULTIPART)
    limit = min(size, 8 + MAX_HEADER)
    position, part = 8, 0
    for _ in range(MAX_ELEMENTS):
        if position >= limit:
            _stopped(parts, position, size, "the header runs")
            return
        if data[position] == 0:  # the end of one header
            position += 1
            if not multipart or (position < size and data[position] == 0):
                return  # a single part, or the empty header after the last part
            part += 1
            continue
        attribute = _attribute(data, position, limit, parts, size)
        if attribute is None:
            return
        name, kind, start, length = attribute
        position = start + length
        if kind in _STRING_TYPES:
            where = f"OpenEXR part {part} {name!r}" if multipart else f"OpenEXR header {name!r}"
            _read_string(data, start, length, kind, name, where, parts)
    parts.problems.append(f"OpenEXR: over {MAX_ELEMENTS} header attributes; walk stopped")


def _attribute(
    data: Buffer, position: int, limit: int, parts: Parts, size: int
) -> tuple[str, str, int, int] | None:
    """Return (name, type, value start, value size) of the attribute at ``position``."""
    name_end = data.find(b"\x00", position, min(limit, position + _MAX_NAME))
    type_end = name_end
    if name_end >= 0:
        type_end = data.find(b"\x00", name_end + 1, min(limit, name_end + 1 + _MAX_NAME))
    if type_end < 0 or type_end + 5 > limit:
        reach = max(position, name_end) + _MAX_NAME if type_end < 0 else type_end + 5
        if reach < limit:
            parts.problems.append(
                f"OpenEXR: an attribute name or type at offset {position} is over"
                f" {_MAX_NAME - 1} bytes; walk stopped"
            )
        else:
            _stopped(parts, reach, size, f"an attribute at offset {position} runs")
        return None
    name = bytes(data[position:name_end]).decode("latin-1")
    kind = bytes(data[name_end + 1 : type_end]).decode("latin-1")
    length = _INT32.unpack_from(data, type_end + 1)[0]
    start = type_end + 5
    if length < 0 or start + length > limit:
        what = f"attribute {name!r} claims {length} bytes"
        _stopped(parts, start + max(length, 0), size, what)
        return None
    return name, kind, start, length


def _stopped(parts: Parts, reach: int, size: int, what: str) -> None:
    if reach >= size:
        parts.problems.append(f"OpenEXR: {what} past the end of the file; header truncated")
    else:
        parts.problems.append(
            f"OpenEXR: {what} past the {MAX_HEADER} byte header cap; walk stopped"
        )


def _read_string(
    data: Buffer, start: int, length: int, kind: str, name: str, where: str, parts: Parts
) -> None:
    if name.lower().startswith("c2pa"):
        parts.c2pa_marker = where  # no C2PA binding for OpenEXR: read as a mark to look at
        return
    if length > MAX_BLOCK:
        parts.problems.append(f"{where}: {length} bytes over the {MAX_BLOCK} byte cap; skipped")
        return
    if parts.over_cap or not parts.take(length, where):
        return
    raw = bytes(data[start : start + length])
    if kind == "string":
        texts = [raw]
    else:  # stringvector: each string is a size (int32 LE) and its bytes
        texts, at = [], 0
        while at + 4 <= len(raw):
            item = _INT32.unpack_from(raw, at)[0]
            if item < 0 or at + 4 + item > len(raw):
                parts.problems.append(f"{where}: a string runs past its attribute; skipped")
                break
            texts.append(raw[at + 4 : at + 4 + item])
            at += 4 + item
    text = "\n".join(item.decode("utf-8", errors="replace") for item in texts)
    parts.add_field(name, text, where)
