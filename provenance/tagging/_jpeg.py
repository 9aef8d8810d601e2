"""Read a JPEG's segments up to the image data; encode an XMP APP1 segment."""

from __future__ import annotations

import struct
from typing import BinaryIO

from provenance.tagging._layout import FormatError, Layout

SOI = b"\xff\xd8"
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
#: The largest packet XMP Specification Part 3 allows in one APP1 segment (no Extended XMP).
MAX_PACKET = 65502
_APP0, _APP1, _APP11, _SOS, _EOI = 0xE0, 0xE1, 0xEB, 0xDA, 0xD9
_STANDALONE = {0x01, *range(0xD0, 0xD8)}
_MAX_HEAD = 64 * 1024 * 1024


def _is_c2pa(payload: bytes) -> bool:
    """A JUMBF box (ISO 19566-5) in APP11 whose description box is labelled c2pa."""
    return payload[:2] == b"JP" and b"jumb" in payload[:32] and b"c2pa" in payload[:128]


def scan(handle: BinaryIO) -> Layout:
    """Return the layout of the JPEG in ``handle``; raises FormatError when it is broken."""
    if handle.read(2) != SOI:
        raise FormatError("not a JPEG (no SOI marker)")
    parts: list[tuple[int, int]] = []
    xmp: bytes | None = None
    xmp_index: int | None = None
    insert_at, c2pa, total = 0, False, 0
    while True:
        start = handle.tell()
        byte = handle.read(1)
        if byte != b"\xff":
            raise FormatError(f"expected a marker at byte {start}, found {byte!r}")
        marker = 0xFF
        while marker == 0xFF:  # fill bytes may precede a marker
            next_byte = handle.read(1)
            if not next_byte:
                raise FormatError("truncated before the image data")
            marker = next_byte[0]
        if marker in (_SOS, _EOI):
            return Layout(SOI, tuple(parts), start, xmp, xmp_index, insert_at, c2pa)
        if marker in _STANDALONE:
            parts.append((start, handle.tell()))
            continue
        size_bytes = handle.read(2)
        if len(size_bytes) < 2 or (size := struct.unpack(">H", size_bytes)[0]) < 2:
            raise FormatError(f"bad segment length at byte {start}")
        payload = handle.read(size - 2)
        total += size
        if len(payload) < size - 2:
            raise FormatError(f"segment at byte {start} is truncated")
        if total > _MAX_HEAD:
            raise FormatError(f"more than {_MAX_HEAD} bytes of segments before the image")
        if marker == _APP1 and payload.startswith(XMP_HEADER):
            if xmp is not None:
                raise FormatError("more than one XMP packet (APP1)")
            xmp, xmp_index = payload[len(XMP_HEADER) :], len(parts)
        elif marker == _APP11 and _is_c2pa(payload):
            c2pa = True
        parts.append((start, handle.tell()))
        if marker in (_APP0, _APP1) and insert_at == len(parts) - 1:
            insert_at = len(parts)  # after JFIF and Exif, which readers expect first


def encode(packet: bytes) -> bytes:
    """Return an APP1 segment holding ``packet``; raises FormatError if it is too large."""
    if len(packet) > MAX_PACKET:
        raise FormatError(f"XMP packet of {len(packet)} bytes exceeds one APP1 segment")
    body = XMP_HEADER + packet
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
