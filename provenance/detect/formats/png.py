"""Walk every chunk of a PNG file and decode its text chunks (tEXt, zTXt, iTXt)."""

from __future__ import annotations

import logging
import struct
import zlib

from provenance.detect.buffers import Buffer
from provenance.detect.formats.blocks import MAX_BLOCK, Block, Parts, TextEntry

log = logging.getLogger(__name__)

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_XMP_KEYWORD = "XML:com.adobe.xmp"
_TEXT_TYPES = (b"tEXt", b"zTXt", b"iTXt")
_CHUNK_HEADER = struct.Struct(">I4s")
#: Chunks walked at most: a file of millions of empty chunks is not walked to its end.
MAX_CHUNKS = 100_000


def walk_png(data: Buffer, parts: Parts) -> None:
    """Add the text, EXIF, XMP and C2PA chunks of a PNG to ``parts``.

    The whole file is walked, so text chunks written after the image data count; image
    data is stepped over, never read. A truncated file keeps what came before the cut.
    """
    position = len(_SIGNATURE)
    size = len(data)
    for _ in range(MAX_CHUNKS):
        if position >= size:
            break
        if size - position < 8:
            parts.problems.append(f"PNG: truncated chunk header at offset {position}")
            return
        length, chunk_type = _CHUNK_HEADER.unpack_from(data, position)
        body_start = position + 8
        name = chunk_type.decode("latin-1")
        if body_start + length > size:
            parts.problems.append(
                f"PNG: {name!r} chunk at offset {position} claims {length} bytes past the end;"
                " file truncated"
            )
            return
        if chunk_type in _TEXT_TYPES or chunk_type == b"eXIf":
            if parts.over_cap:
                _unread(data, body_start, length, name, parts, "the file's metadata cap")
            elif length > MAX_BLOCK:
                problem = f"PNG: {name!r} chunk of {length} bytes is over the {MAX_BLOCK} byte cap"
                parts.problems.append(f"{problem}; skipped")
                _unread(data, body_start, length, name, parts, problem)
            # compressed text counts as it inflates (``_inflate``), the rest as it is
            elif chunk_type in (b"zTXt", b"iTXt") or parts.take(length, f"PNG {name!r} chunk"):
                body = bytes(data[body_start : body_start + length])
                _read_chunk(chunk_type, body, parts)
            else:
                _unread(data, body_start, length, name, parts, "the file's metadata cap")
        elif chunk_type == b"caBX":
            parts.c2pa_marker = "PNG caBX"
        elif chunk_type == b"IEND":
            return
        position = body_start + length + 4
    else:
        parts.problems.append(f"PNG: over {MAX_CHUNKS} chunks; the rest not read")
        parts.text_left = -1
        return
    parts.problems.append("PNG: no IEND chunk; file truncated")


def _read_chunk(chunk_type: bytes, body: bytes, parts: Parts) -> None:
    if chunk_type == b"eXIf":
        parts.add_exif(body, 0, len(body), "PNG eXIf")
        return
    try:
        if chunk_type == b"tEXt":
            keyword, text = _split_keyword(body)
            _add_text(parts, keyword, text.decode("latin-1"), "tEXt")
        elif chunk_type == b"zTXt":
            keyword, rest = _split_keyword(body)
            text = _inflate(parts, rest[1:], f"zTXt {keyword!r}")
            _add_text(parts, keyword, text.decode("latin-1"), "zTXt")
        else:
            _read_itxt(body, parts)
    except ValueError as exc:
        name = chunk_type.decode("latin-1")
        parts.problems.append(f"PNG: {name} chunk skipped: {exc}")
        _unread(body, 0, len(body), name, parts, str(exc))


def _unread(data: Buffer, start: int, length: int, name: str, parts: Parts, why: str) -> None:
    """Note a text chunk not read, by its keyword (the first bytes of its body), so that a
    generator's chunk there is a mark present but unreadable, not nothing."""
    if name == "eXIf":
        return
    head = bytes(data[start : start + min(length, 80)])
    end = head.find(b"\x00")
    if end >= 1:
        keyword = head[:end].decode("latin-1")
        parts.unread_text(keyword, f"PNG {name} {keyword!r}", why)


def _read_itxt(body: bytes, parts: Parts) -> None:
    keyword, rest = _split_keyword(body)
    if len(rest) < 2:
        raise ValueError(f"iTXt {keyword!r} is truncated")
    compressed = rest[0] == 1
    language_end = rest.index(b"\x00", 2)
    translated_end = rest.index(b"\x00", language_end + 1)
    payload = rest[translated_end + 1 :]
    if compressed:
        payload = _inflate(parts, payload, f"iTXt {keyword!r}")
    elif not parts.take(len(payload), f"iTXt {keyword!r}"):
        return
    if keyword == _XMP_KEYWORD:
        parts.xmp.append(Block(payload, "PNG iTXt 'XML:com.adobe.xmp'"))
        return
    _add_text(parts, keyword, payload.decode("utf-8", errors="replace"), "iTXt")


def _add_text(parts: Parts, keyword: str, text: str, chunk: str) -> None:
    source = f"PNG {chunk} {keyword!r}"
    if keyword == _XMP_KEYWORD:
        parts.xmp.append(Block(text.encode("utf-8"), source))
    elif keyword.lower() in ("raw profile type exif", "raw profile type app1"):
        return
    else:
        parts.texts.append(TextEntry(keyword, text, source))


def _split_keyword(body: bytes) -> tuple[str, bytes]:
    end = body.find(b"\x00", 0, 80)
    if end < 1:
        raise ValueError("keyword missing or longer than 79 bytes")
    return body[:end].decode("latin-1"), body[end + 1 :]


def _inflate(parts: Parts, compressed: bytes, what: str) -> bytes:
    """Inflate a chunk's text within what the file may still give (``Parts.take``)."""
    room = min(MAX_BLOCK, max(parts.text_left, 0))
    if room == 0 or parts.blocks_left <= 0:  # (a cap of 0 would mean none to zlib)
        parts.take(1, what)
        raise InflatesPastCapError(f"{what}: the file's metadata cap is reached")
    try:
        text = inflate_capped(compressed, what, room)
    except InflatesPastCapError:
        if room < MAX_BLOCK:
            parts.take(room + 1, what)  # over the file's cap: say so, once
        raise
    parts.take(len(text), what)
    return text


class InflatesPastCapError(ValueError):
    """Compressed text that inflates past its cap (a zlib bomb, or the file's cap)."""


def inflate_capped(compressed: bytes, what: str, cap: int = MAX_BLOCK) -> bytes:
    """Return ``compressed`` inflated, raising ValueError past ``cap`` bytes (a zlib bomb)."""
    inflater = zlib.decompressobj()
    try:
        result = inflater.decompress(compressed, cap)
    except zlib.error as exc:
        raise ValueError(f"{what}: corrupt compressed text ({exc})") from exc
    if inflater.unconsumed_tail:
        raise InflatesPastCapError(f"{what}: inflates to more than {cap} bytes")
    return result
