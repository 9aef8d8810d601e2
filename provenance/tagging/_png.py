"""Read a PNG's chunks up to IEND; encode an XMP iTXt chunk."""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

from provenance.tagging._layout import FormatError, Layout

SIGNATURE = b"\x89PNG\r\n\x1a\n"
XMP_KEYWORD = b"XML:com.adobe.xmp"
MAX_PACKET = 16 * 1024 * 1024


def _chunk_header(handle: BinaryIO, start: int) -> tuple[int, bytes]:
    header = handle.read(8)
    if len(header) < 8:
        raise FormatError(f"truncated at byte {start} (no IEND chunk)")
    length, kind = struct.unpack(">I4s", header)
    if length > 0x7FFFFFFF:
        raise FormatError(f"chunk at byte {start} has an impossible length {length}")
    return length, kind


def _xmp_text(data: bytes) -> bytes:
    """Return the packet in an iTXt chunk's data (keyword already checked)."""
    try:
        rest = data[len(XMP_KEYWORD) + 1 :]
        compressed, method = rest[0], rest[1]
        _language, _, rest = rest[2:].partition(b"\0")
        _translated, _, text = rest.partition(b"\0")
    except IndexError as exc:
        raise FormatError("XMP iTXt chunk is truncated") from exc
    if not compressed:
        return text
    if method != 0:
        raise FormatError(f"XMP iTXt chunk uses unknown compression {method}")
    inflater = zlib.decompressobj()
    try:
        packet = inflater.decompress(text, MAX_PACKET)
    except zlib.error as exc:
        raise FormatError(f"XMP iTXt chunk does not inflate: {exc}") from exc
    if inflater.unconsumed_tail:
        raise FormatError(f"XMP packet inflates to more than {MAX_PACKET} bytes")
    return packet


def scan(handle: BinaryIO) -> Layout:
    """Return the layout of the PNG in ``handle``; raises FormatError when it is broken."""
    if handle.read(8) != SIGNATURE:
        raise FormatError("not a PNG (bad signature)")
    parts: list[tuple[int, int]] = []
    xmp: bytes | None = None
    xmp_index: int | None = None
    insert_at, c2pa, seen_image = 1, False, False
    while True:
        start = handle.tell()
        length, kind = _chunk_header(handle, start)
        if not parts and kind != b"IHDR":
            raise FormatError("first chunk is not IHDR")
        end = start + 12 + length
        if kind == b"iTXt" and handle.read(len(XMP_KEYWORD) + 1) == XMP_KEYWORD + b"\0":
            if xmp is not None:
                raise FormatError("more than one XMP packet (iTXt)")
            if length > MAX_PACKET:
                raise FormatError(f"XMP iTXt chunk of {length} bytes is too large")
            handle.seek(start + 8)
            data, crc = handle.read(length), handle.read(4)
            if len(crc) < 4:
                raise FormatError(f"chunk at byte {start} is truncated")
            if struct.unpack(">I", crc)[0] != zlib.crc32(kind + data):
                raise FormatError("XMP iTXt chunk fails its CRC")
            xmp, xmp_index = _xmp_text(data), len(parts)
        elif kind == b"caBX":
            c2pa = True
        elif kind == b"IDAT" and not seen_image:
            insert_at, seen_image = len(parts), True  # XMP before the image data
        handle.seek(end)
        parts.append((start, end))
        if kind == b"IEND":
            if handle.seek(0, 2) < end:
                raise FormatError("IEND chunk is truncated")
            return Layout(SIGNATURE, tuple(parts), end, xmp, xmp_index, insert_at, c2pa)


def encode(packet: bytes) -> bytes:
    """Return an uncompressed iTXt chunk holding ``packet``."""
    if len(packet) > MAX_PACKET:
        raise FormatError(f"XMP packet of {len(packet)} bytes is too large")
    data = XMP_KEYWORD + b"\0\0\0\0\0" + packet
    return (
        struct.pack(">I", len(data))
        + b"iTXt"
        + data
        + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    )
