"""Read the text tags of a TIFF structure: EXIF blocks and TIFF files, without Pillow."""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field

from provenance.detect.buffers import Buffer

log = logging.getLogger(__name__)

#: Tags we read, by number. UserComment and the XMP packet live in the EXIF sub-IFD / IFD0.
TAG_NAMES = {
    0x010E: "ImageDescription",
    0x010F: "Make",
    0x0110: "Model",
    0x0131: "Software",
    0x013B: "Artist",
    0x02BC: "XMP",
    0x8298: "Copyright",
    0x9286: "UserComment",
    0x9C9B: "XPTitle",
    0x9C9C: "XPComment",
}
_EXIF_IFD = 0x8769
_STRING_TYPES = {1, 2, 7}  # BYTE, ASCII, UNDEFINED
_MAX_ENTRIES = 1000
_MAX_VALUE = 16 * 1024 * 1024


@dataclass(frozen=True)
class TiffTags:
    """Raw values of the tags in ``TAG_NAMES`` found in IFD0 and the EXIF IFD."""

    values: dict[str, bytes] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def read_tiff_tags(data: Buffer, start: int = 0, end: int | None = None) -> TiffTags:
    """Return the interesting tags of the TIFF structure at ``data[start:end]``.

    Offsets inside a TIFF structure count from its header, so an EXIF block inside a
    JPEG is read in place, never copied. Malformed IFDs end the walk with a problem.
    """
    end = len(data) if end is None else min(end, len(data))
    header = bytes(data[start : start + 8])
    if len(header) < 8 or header[:2] not in (b"II", b"MM"):
        return TiffTags(problems=("EXIF/TIFF: no TIFF header",))
    order = "<" if header[:2] == b"II" else ">"
    values: dict[str, bytes] = {}
    problems: list[str] = []
    ifd_offset = struct.unpack(order + "I", header[4:8])[0]
    queue = [ifd_offset]
    seen: set[int] = set()
    while queue:
        offset = queue.pop(0)
        if offset in seen or len(seen) > 4:
            break
        seen.add(offset)
        sub = _read_ifd(data, start, end, offset, order, values, problems)
        if sub is not None:
            queue.append(sub)
    return TiffTags(values=values, problems=tuple(problems))


def _read_ifd(
    data: Buffer,
    start: int,
    end: int,
    offset: int,
    order: str,
    values: dict[str, bytes],
    problems: list[str],
) -> int | None:
    """Read one IFD into ``values``; return the EXIF sub-IFD offset if IFD0 has one."""
    position = start + offset
    count_bytes = bytes(data[position : position + 2])
    if len(count_bytes) < 2 or position + 2 > end:
        problems.append(f"EXIF/TIFF: IFD offset {offset} is outside the block")
        return None
    count = struct.unpack(order + "H", count_bytes)[0]
    if count > _MAX_ENTRIES:
        problems.append(f"EXIF/TIFF: IFD claims {count} entries; skipped")
        return None
    table = bytes(data[position + 2 : position + 2 + 12 * count])
    if len(table) < 12 * count:
        problems.append("EXIF/TIFF: IFD truncated")
        count = len(table) // 12
    sub_ifd = None
    for index in range(count):
        tag, kind, number, value = struct.unpack(
            order + "HHI4s", table[12 * index : 12 * index + 12]
        )
        if tag == _EXIF_IFD and kind in (4, 13):
            sub_ifd = struct.unpack(order + "I", value)[0]
            continue
        name = TAG_NAMES.get(tag)
        if name is None or name in values or kind not in _STRING_TYPES:
            continue
        if number > _MAX_VALUE:
            problems.append(f"EXIF/TIFF: {name} claims {number} bytes; skipped")
            continue
        if number <= 4:
            values[name] = value[:number]
            continue
        value_start = start + struct.unpack(order + "I", value)[0]
        if value_start + number > end:
            problems.append(f"EXIF/TIFF: {name} runs past the end of the block")
            continue
        values[name] = bytes(data[value_start : value_start + number])
    return sub_ifd


def decode_ascii(raw: bytes) -> str:
    """Return an ASCII/UTF-8 tag value as text, without its trailing NULs."""
    return raw.strip(b"\x00").split(b"\x00", 1)[0].decode("utf-8", errors="replace").strip()


def decode_user_comment(raw: bytes) -> str:
    """Return the text of an EXIF UserComment, honouring its 8-byte character-set prefix.

    ``UNICODE\\0`` is UTF-16 of either byte order (writers disagree; the order that
    decodes to more printable text wins), ``ASCII\\0\\0\\0`` is ASCII, and text without a
    prefix is read as UTF-8.
    """
    prefix, body = raw[:8], raw[8:]
    if prefix.startswith(b"UNICODE"):
        if body.startswith(b"\xff\xfe"):
            return body[2:].decode("utf-16-le", errors="replace").rstrip("\x00").strip()
        if body.startswith(b"\xfe\xff"):
            return body[2:].decode("utf-16-be", errors="replace").rstrip("\x00").strip()
        candidates = [
            body.decode(encoding, errors="replace") for encoding in ("utf-16-be", "utf-16-le")
        ]
        best = max(candidates, key=_printable_share)
        return best.rstrip("\x00").strip()
    if prefix.startswith((b"ASCII", b"JIS")) or prefix == b"\x00" * 8:
        return body.decode("utf-8", errors="replace").rstrip("\x00").strip()
    return raw.decode("utf-8", errors="replace").rstrip("\x00").strip()


def decode_ucs2(raw: bytes) -> str:
    """Return the text of a Windows XP tag (UTF-16-LE)."""
    return raw.decode("utf-16-le", errors="replace").rstrip("\x00").strip()


def _printable_share(text: str) -> int:
    sample = text[:2000]
    return sum(1 for character in sample if character.isascii() and character.isprintable())
