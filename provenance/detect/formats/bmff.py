"""Walk an ISO-BMFF file (MP4, MOV, M4A, HEIF, AVIF): its top-level C2PA and XMP ``uuid``
boxes and the movie metadata of its ``moov`` box (``udta``, ``meta``/``keys``/``ilst``).

Reads headers only, as every audio and video walk (see ``blocks.TAG_KEYWORDS``).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator

from provenance.detect.buffers import Buffer
from provenance.detect.formats.blocks import MAX_BLOCK, MAX_ELEMENTS, Block, Parts

log = logging.getLogger(__name__)

_C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
_XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
_MAX_BOXES = 100_000
#: QuickTime/iTunes item atoms -> tag names.
_ATOMS = {
    b"\xa9cmt": "comment",
    b"\xa9des": "description",
    b"desc": "description",
    b"ldes": "description",
    b"\xa9too": "software",
    b"\xa9swr": "software",
    b"\xa9enc": "encoder",
}
_BOX = struct.Struct(">I4s")


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


def boxes(
    data: Buffer, start: int, end: int, problems: list[str]
) -> Iterator[tuple[bytes, int, int]]:
    """Yield (type, body start, body end) of the boxes in ``data[start:end]``, by their sizes."""
    position = start
    for _ in range(MAX_ELEMENTS):
        if position + 8 > end:
            return
        size, kind = _BOX.unpack_from(data, position)
        header = 8
        if size == 1:
            if position + 16 > end:
                return
            size = struct.unpack_from(">Q", data, position + 8)[0]
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            problems.append(
                f"BMFF: box {kind.decode('latin-1')!r} at {position} runs past its parent"
            )
            return
        yield kind, position + header, position + size
        position += size
    problems.append("BMFF: too many boxes; walk stopped")


def read_movie_metadata(data: Buffer, start: int, end: int, parts: Parts) -> None:
    """Add the text tags of a ``moov`` box's ``udta`` and ``meta`` to ``parts``."""
    for kind, body, stop in boxes(data, start, end, parts.problems):
        if kind == b"udta":
            _read_udta(data, body, stop, parts, 1)
        elif kind == b"meta":
            _read_meta(data, body, stop, parts)
        elif kind == b"trak":
            # a track may carry its own udta (QuickTime writes titles and comments there)
            for inner, inner_body, inner_stop in boxes(data, body, stop, parts.problems):
                if inner == b"udta":
                    _read_udta(data, inner_body, inner_stop, parts, 2)


def _read_udta(data: Buffer, start: int, end: int, parts: Parts, depth: int) -> None:
    for kind, body, stop in boxes(data, start, end, parts.problems):
        if kind == b"meta":
            _read_meta(data, body, stop, parts)
        elif kind in _ATOMS:
            # QuickTime user data text: 2-byte length, 2-byte language, then the text
            # (an iTunes-style item holds a ``data`` box instead)
            text = _item_text(data, body, stop, parts) or _quicktime_text(data, body, stop)
            if text:
                parts.add_tag(_ATOMS[kind], text, f"BMFF udta {kind.decode('latin-1')!r}")


def _quicktime_text(data: Buffer, start: int, end: int) -> str | None:
    if end - start < 4 or end - start > MAX_BLOCK:
        return None
    length = struct.unpack_from(">H", data, start)[0]
    raw = bytes(data[start + 4 : min(end, start + 4 + length)])
    return raw.decode("utf-8", errors="replace") if raw else None


def _read_meta(data: Buffer, start: int, end: int, parts: Parts) -> None:
    """Read a ``meta`` box: ``keys`` names (``mdta`` handler) and the ``ilst`` items."""
    # ISO ``meta`` is a full box (4 bytes of version and flags); QuickTime's is not
    if end - start >= 8 and bytes(data[start + 4 : start + 8]) in (b"hdlr", b"keys", b"ilst"):
        first = start
    else:
        first = start + 4
    names: list[str] = []
    for kind, body, stop in boxes(data, first, end, parts.problems):
        if kind == b"keys":
            names = _read_keys(data, body, stop, parts.problems)
        elif kind == b"ilst":
            for item, item_body, item_stop in boxes(data, body, stop, parts.problems):
                name = _item_name(item, names)
                if name is None:
                    continue
                text = _item_text(data, item_body, item_stop, parts)
                if text:
                    parts.add_tag(name, text, f"BMFF ilst {name!r}")


def _read_keys(data: Buffer, start: int, end: int, problems: list[str]) -> list[str]:
    """Return the names of a QuickTime ``keys`` box (``mdta`` keys such as ``comment``)."""
    names = []
    for kind, body, stop in boxes(data, start + 8, end, problems):
        del kind  # the namespace (``mdta``); the key is what names the tag
        names.append(bytes(data[body : min(stop, body + 256)]).decode("utf-8", errors="replace"))
    return names


def _item_name(item: bytes, names: list[str]) -> str | None:
    if item in _ATOMS:
        return _ATOMS[item]
    index = int.from_bytes(item, "big")
    if 1 <= index <= len(names):  # an ``mdta`` item is named by its 1-based key index
        return names[index - 1].rsplit(".", 1)[-1]
    return None


def _item_text(data: Buffer, start: int, end: int, parts: Parts) -> str | None:
    """Return the UTF-8 text of an item's ``data`` box (type 1), or None."""
    for kind, body, stop in boxes(data, start, end, []):
        if kind != b"data" or stop - body < 8:
            continue
        if stop - body > MAX_BLOCK:
            parts.problems.append("BMFF: metadata item over the cap; skipped")
            return None
        value_type = struct.unpack_from(">I", data, body)[0] & 0xFFFFFF
        if value_type in (1, 0):  # UTF-8 (0 is "implicit", written by some muxers for text)
            return bytes(data[body + 8 : stop]).decode("utf-8", errors="replace")
    return None
