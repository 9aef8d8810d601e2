"""Walk an MXF file's header partition: its header metadata's Identification sets (company,
product, version, platform: the tools that wrote the file) and any XMP packet or JSON text
held in a header metadata property.

MXF is a run of KLV triplets (a 16-byte SMPTE key, a BER length, the value). The file opens
with the header partition pack; the primer pack and the header metadata's local sets follow.
The walk steps over each triplet by its length and stops at the first one that is not header
metadata (an index table segment, essence, the next partition), at :data:`MAX_HEADER` bytes
or after :data:`MAX_ELEMENTS` triplets: essence is never read. When the header partition
names no tool, the footer partition's header metadata is read the same way (its offset is
in the header partition pack; nothing between is read).
"""

from __future__ import annotations

import logging

from provenance.detect.buffers import Buffer
from provenance.detect.formats.blocks import MAX_BLOCK, MAX_ELEMENTS, Parts

log = logging.getLogger(__name__)

#: The key of a partition pack, up to its kind (``02`` header, ``03`` body, ``04`` footer).
PARTITION_PACK = bytes.fromhex("060e2b34020501010d01020101")
#: The most header metadata walked (a real header partition is kilobytes to a megabyte).
MAX_HEADER = 16 * 1024 * 1024
_FOOTER_PARTITION = PARTITION_PACK + b"\x04"
_UL_PREFIX = bytes.fromhex("060e2b34")
_LOCAL_SET = bytes.fromhex("0253")  # a local set: 2-byte tags and 2-byte lengths
_PRIMER = bytes.fromhex("0d01020101050100")
_INDEX_SEGMENT = bytes.fromhex("0d01020101100100")
_FILL = bytes.fromhex("03010210")  # KLV fill, bytes 8 to 11 of its key
_IDENTIFICATION = bytes.fromhex("0d01010101013000")
#: Identification set properties (static local tags, UTF-16 big-endian text).
_COMPANY, _PRODUCT, _VERSION, _PLATFORM = 0x3C01, 0x3C02, 0x3C04, 0x3C08
#: A BER length of more bytes than this is no MXF length (SMPTE 377 uses up to 8).
_MAX_BER = 8


def walk_mxf(data: Buffer, parts: Parts) -> None:
    """Add the Identification sets and the XMP or JSON properties of an MXF file's header
    metadata to ``parts``: the header partition's, or, when it names no tool (a file written
    as it was recorded may keep its complete metadata for the end), the footer partition's,
    found by the offset the header partition pack states."""
    pack = _klv(data, 0, len(data), parts)
    if pack is None:
        return
    if _walk_metadata(data, pack[2], parts, "MXF"):
        return
    footer = int.from_bytes(bytes(data[pack[1] + 24 : pack[1] + 32]), "big")
    if 0 < footer < len(data) and bytes(data[footer : footer + 14]) == _FOOTER_PARTITION:
        found = _klv(data, footer, len(data), parts)
        if found is not None:
            _walk_metadata(data, found[2], parts, "MXF footer")


def _walk_metadata(data: Buffer, position: int, parts: Parts, label: str) -> int:
    """Read the header metadata that starts at ``position``; return how many Identification
    sets it held."""
    size = len(data)
    limit = min(size, position + MAX_HEADER)
    identified = 0
    for _ in range(MAX_ELEMENTS):
        if position >= size:
            return identified  # a file that ends with its header metadata
        if position + 17 > limit < size:
            parts.problems.append(f"{label}: header metadata over {MAX_HEADER} bytes; walk stopped")
            return identified
        triplet = _klv(data, position, limit, parts)
        if triplet is None:
            return identified
        key, body, stop = triplet
        if key[:4] != _UL_PREFIX:
            parts.problems.append(f"{label}: no SMPTE key at offset {position}; walk stopped")
            return identified
        if key[8:12] == _FILL or key[8:] == _PRIMER:
            pass
        elif key[4:6] != _LOCAL_SET or key[8:] == _INDEX_SEGMENT:
            return identified  # the end of the header metadata: an index, essence, a partition
        elif key[8:] == _IDENTIFICATION:
            identified += 1
            source = f"{label} Identification {identified}"
            _read_set(data, body, stop, parts, source, identify=True)
        else:
            _read_set(data, body, stop, parts, f"{label} header metadata", identify=False)
        position = stop
    parts.problems.append(f"{label}: over {MAX_ELEMENTS} header metadata sets; walk stopped")
    return identified


def _klv(data: Buffer, position: int, limit: int, parts: Parts) -> tuple[bytes, int, int] | None:
    """Return (key, value start, value end) of the KLV triplet at ``position``."""
    key = bytes(data[position : position + 16])
    if len(key) < 16 or position + 17 > limit:
        parts.problems.append(f"MXF: KLV key at offset {position} cut short; file truncated")
        return None
    first = data[position + 16]
    length, start = first, position + 17
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > _MAX_BER:
            parts.problems.append(
                f"MXF: BER length of {count} bytes at offset {position + 16}; walk stopped"
            )
            return None
        length = int.from_bytes(bytes(data[start : start + count]), "big")
        start += count
    if start + length > limit:
        where = (
            "the end of the file; file truncated"
            if limit == len(data)
            else f"the {MAX_HEADER} byte header cap; walk stopped"
        )
        parts.problems.append(f"MXF: KLV at offset {position} claims {length} bytes past {where}")
        return None
    return key, start, start + length


def _read_set(
    data: Buffer, start: int, end: int, parts: Parts, source: str, *, identify: bool
) -> None:
    """Read a local set's properties (2-byte tag, 2-byte length, value)."""
    fields: dict[int, str] = {}
    position = start
    while position + 4 <= end:
        tag = int.from_bytes(bytes(data[position : position + 2]), "big")
        length = int.from_bytes(bytes(data[position + 2 : position + 4]), "big")
        value_start, position = position + 4, position + 4 + length
        if position > end:
            parts.problems.append(f"{source}: property {tag:#06x} runs past its set; skipped")
            return
        if identify and tag in (_COMPANY, _PRODUCT, _VERSION, _PLATFORM):
            fields[tag] = _utf16(bytes(data[value_start:position]))
        elif length >= 2:
            _read_property(data, value_start, position, parts, source)
    if identify:
        product = " ".join(fields[tag] for tag in (_COMPANY, _PRODUCT, _VERSION) if fields.get(tag))
        if product and parts.take(len(product), source):
            parts.add_field("software", product, source)
        if fields.get(_PLATFORM) and parts.take(len(fields[_PLATFORM]), source):
            parts.add_field("application", fields[_PLATFORM], f"{source} platform")


def _read_property(data: Buffer, start: int, end: int, parts: Parts, source: str) -> None:
    """Hand a property holding an XMP packet or a JSON object (UTF-8 or UTF-16) to the
    families; every other value is a number, a reference or a label and is left alone."""
    head = bytes(data[start : start + 4]).removeprefix(b"\xfe\xff").removeprefix(b"\xef\xbb\xbf")
    utf16 = head[:1] == b"\x00" and head[1:2] in (b"{", b"<")
    if not utf16 and head[:1] not in (b"{", b"<"):
        return
    if end - start > MAX_BLOCK or not parts.take(end - start, source):
        return
    raw = bytes(data[start:end])
    text = _utf16(raw) if utf16 else raw.decode("utf-8", errors="replace").strip("\x00")
    if text.lstrip("\ufeff").startswith(("{", "<?xpacket", "<x:xmpmeta")):
        parts.add_field("description", text, source)


def _utf16(raw: bytes) -> str:
    return raw.decode("utf-16-be", errors="replace").strip("\ufeff\x00 ")
