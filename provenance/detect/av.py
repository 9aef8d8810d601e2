"""Walk the metadata of audio and video containers: MP4/MOV movie metadata (``udta``,
``meta``/``keys``/``ilst``), Matroska/WebM tags, MP3 ID3v2 frames and FLAC Vorbis comments.

Video and audio generators (ComfyUI video nodes, Wan, Hunyuan, LTX workflows, SwarmUI,
audio models) write their prompt or workflow JSON into a comment or description tag, or
into a tag named ``prompt``/``workflow``. Every walk here reads only headers: it steps over
media data by the sizes the container states, stops after a fixed number of elements, and
decodes no value over ``MAX_BLOCK`` bytes. What it finds becomes text entries for the
SD-text and generator-JSON readers, and a C2PA marker where a manifest sits.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator

from provenance.detect.buffers import Buffer
from provenance.detect.parts import MAX_BLOCK, Parts, TextEntry

log = logging.getLogger(__name__)

#: The most boxes, elements or frames one walk looks at (a hostile file can claim millions).
MAX_ELEMENTS = 10_000
#: How deep a box or element tree is followed.
_MAX_DEPTH = 8
#: Tag names (lower case) -> the keyword the text readers expect.
_KEYWORDS = {
    "comment": "Comment",
    "comments": "Comment",
    "description": "Description",
    "desc": "Description",
    "synopsis": "Description",
    "prompt": "prompt",
    "workflow": "workflow",
    "parameters": "parameters",
    "software": "Software",
    "encoder": "Software",
    "encoded_by": "Software",
    "encodedby": "Software",
    "tool": "Software",
}
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


# --- ISO-BMFF (MP4, MOV, M4A) -------------------------------------------------------------


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
                _add(parts, _ATOMS[kind], text, f"BMFF udta {kind.decode('latin-1')!r}")


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
                    _add(parts, name, text, f"BMFF ilst {name!r}")


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


# --- Matroska / WebM ----------------------------------------------------------------------

_EBML_HEADER = 0x1A45DFA3
_SEGMENT = 0x18538067
_TAGS = 0x1254C367
_TAG = 0x7373
_SIMPLE_TAG = 0x67C8
_TAG_NAME = 0x45A3
_TAG_STRING = 0x4487
_CLUSTER = 0x1F43B675
#: Master elements the walk descends into on its way to the tags.
_MASTERS = (_SEGMENT, _TAGS, _TAG, _SIMPLE_TAG)


def walk_matroska(data: Buffer, parts: Parts) -> None:
    """Add the SimpleTag name/string pairs of a Matroska or WebM file to ``parts``.

    Clusters (the media) are stepped over by their sizes; a tag block written after them
    (at the end of the file, as muxers do) is still reached without reading a frame.
    """
    count = [0]
    _walk_ebml(data, 0, len(data), parts, 0, count)


def _walk_ebml(
    data: Buffer, start: int, end: int, parts: Parts, depth: int, count: list[int]
) -> None:
    position = start
    while position < end and depth <= _MAX_DEPTH:
        count[0] += 1
        if count[0] > MAX_ELEMENTS:
            parts.problems.append("Matroska: too many elements; walk stopped")
            return
        element = _vint(data, position, end, keep_marker=True)
        if element is None:
            return
        element_id, id_length = element
        size = _vint(data, position + id_length, end, keep_marker=False)
        if size is None:
            return
        length, size_length = size
        body = position + id_length + size_length
        unknown = length == (1 << (7 * size_length)) - 1  # "unknown size": runs to the parent's end
        stop = end if unknown else body + length
        if stop > end:
            if element_id != _SEGMENT:
                parts.problems.append("Matroska: element runs past the end; file truncated")
                return
            stop = end
        if element_id == _SIMPLE_TAG:
            _read_simple_tag(data, body, stop, parts)
        elif element_id in _MASTERS:
            _walk_ebml(data, body, stop, parts, depth + 1, count)
        elif element_id == _CLUSTER and unknown:
            return  # a live-written cluster of unknown size: its end cannot be found cheaply
        position = stop


def _read_simple_tag(data: Buffer, start: int, end: int, parts: Parts) -> None:
    name = value = None
    position = start
    while position < end:
        element = _vint(data, position, end, keep_marker=True)
        size = _vint(data, position + element[1], end, keep_marker=False) if element else None
        if element is None or size is None:
            return
        body = position + element[1] + size[1]
        stop = body + size[0]
        if stop > end or size[0] > MAX_BLOCK:
            return
        if element[0] == _TAG_NAME:
            name = bytes(data[body:stop]).decode("utf-8", errors="replace")
        elif element[0] == _TAG_STRING:
            value = bytes(data[body:stop]).decode("utf-8", errors="replace")
        position = stop
    if name and value:
        _add(parts, name, value, f"Matroska tag {name!r}")


def _vint(data: Buffer, position: int, end: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """Return (value, length) of an EBML variable-length integer at ``position``."""
    if position >= end:
        return None
    first = data[position]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or position + length > end:
        return None
    value = first if keep_marker else first & (0xFF >> length)
    for index in range(1, length):
        value = value << 8 | data[position + index]
    return value, length


# --- MP3 ID3v2 ----------------------------------------------------------------------------


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
        _add(parts, name, value, f"ID3 TXXX {name!r}")
    elif frame_id == b"COMM":
        _, value = _id3_split(encoding, rest[3:])  # a language code, then description\0text
        _add(parts, "comment", value, "ID3 COMM")
    elif frame_id in (b"TSSE", b"TENC"):
        _add(parts, "software", _id3_text(encoding, rest), f"ID3 {frame_id.decode()}")
    elif frame_id == b"TIT3":
        _add(parts, "description", _id3_text(encoding, rest), "ID3 TIT3")


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


def _syncsafe(raw: bytes) -> int:
    return raw[0] << 21 | raw[1] << 14 | raw[2] << 7 | raw[3]


# --- FLAC ---------------------------------------------------------------------------------


def walk_flac(data: Buffer, parts: Parts) -> None:
    """Add the Vorbis comments of a FLAC file to ``parts``; note a C2PA block."""
    position = 4
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
        _add(parts, name, value, f"FLAC Vorbis comment {name!r}")


def _add(parts: Parts, name: str, text: str, source: str) -> None:
    """Add one tag as a text entry, under the keyword the readers expect for its name."""
    keyword = _KEYWORDS.get(name.strip().lower())
    if keyword is None or not text.strip():
        return
    parts.texts.append(TextEntry(keyword, text.strip("\x00"), source))
