"""Build VFX and editorial media for tests: OpenEXR headers, DPX and MXF files, written with
struct by the published layouts (no committed binaries, no imaging library)."""

from __future__ import annotations

import struct
from collections.abc import Sequence

IPTC_DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"

# --- OpenEXR ---------------------------------------------------------------------------

EXR_MAGIC = b"v/1\x01"
EXR_MULTIPART = 0x1000


def exr_attribute(name: str, kind: str, value: bytes) -> bytes:
    """One header attribute: ``name\\0 type\\0 size(int32 LE) value``."""
    return name.encode() + b"\x00" + kind.encode() + b"\x00" + struct.pack("<i", len(value)) + value


def exr_string(name: str, text: str) -> bytes:
    return exr_attribute(name, "string", text.encode())


def exr_stringvector(name: str, texts: Sequence[str]) -> bytes:
    body = b"".join(struct.pack("<i", len(text.encode())) + text.encode() for text in texts)
    return exr_attribute(name, "stringvector", body)


def _exr_required(width: int = 4, height: int = 4) -> bytes:
    channel = b"R\x00" + struct.pack("<iB3xii", 1, 0, 1, 1)  # HALF, not linear, 1x1 sampling
    window = struct.pack("<iiii", 0, 0, width - 1, height - 1)
    return b"".join(
        (
            exr_attribute("channels", "chlist", channel + b"\x00"),
            exr_attribute("compression", "compression", b"\x00"),
            exr_attribute("dataWindow", "box2i", window),
            exr_attribute("displayWindow", "box2i", window),
            exr_attribute("lineOrder", "lineOrder", b"\x00"),
            exr_attribute("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
            exr_attribute("screenWindowCenter", "v2f", struct.pack("<ff", 0.0, 0.0)),
            exr_attribute("screenWindowWidth", "float", struct.pack("<f", 1.0)),
        )
    )


def exr(*attributes: bytes, height: int = 4) -> bytes:
    """A single-part scanline OpenEXR file: the required attributes, then ``attributes``,
    an offset table and uncompressed HALF scanlines of one channel."""
    header = EXR_MAGIC + struct.pack("<I", 2) + _exr_required(4, height) + b"".join(attributes)
    header += b"\x00"
    first = len(header) + 8 * height
    line = struct.pack("<ii", 0, 8) + bytes(8)  # y, byte count, four HALF pixels
    offsets = b"".join(struct.pack("<Q", first + index * len(line)) for index in range(height))
    lines = b"".join(struct.pack("<ii", y, 8) + bytes(8) for y in range(height))
    return header + offsets + lines


def exr_multipart(*parts: Sequence[bytes]) -> bytes:
    """A multi-part OpenEXR file: one header per part (named ``part0``, ...), the empty
    header after them, and a one-line chunk per part."""
    headers = b""
    for index, attributes in enumerate(parts):
        headers += _exr_required(4, 1) + exr_string("name", f"part{index}")
        headers += exr_string("type", "scanlineimage") + b"".join(attributes) + b"\x00"
    head = EXR_MAGIC + struct.pack("<I", 2 | EXR_MULTIPART) + headers + b"\x00"
    first = len(head) + 8 * len(parts)
    chunk = struct.pack("<iii", 0, 0, 8) + bytes(8)  # part number, y, byte count, pixels
    offsets = b"".join(struct.pack("<Q", first + index * len(chunk)) for index in range(len(parts)))
    return (
        head
        + offsets
        + b"".join(struct.pack("<i", index) + chunk[4:] for index in range(len(parts)))
    )


# --- DPX -------------------------------------------------------------------------------


def dpx(
    *,
    creator: str = "",
    project: str = "",
    copyright: str = "",
    user_id: str = "",
    user_data: bytes | None = None,
    declared_user_size: int | None = None,
    little_endian: bool = False,
    pixels: int = 64,
) -> bytes:
    """A DPX file (SMPTE 268M): the generic, image, orientation, film and television
    headers (2048 bytes), optional user-defined data (a 32-byte user id, then ``user_data``)
    and ``pixels`` bytes of 10-bit RGB image data."""
    order = "<" if little_endian else ">"
    user = b"" if user_data is None else user_id.encode().ljust(32, b"\x00") + user_data
    user_size = len(user) if declared_user_size is None else declared_user_size
    image_offset = 2048 + len(user)
    generic = bytearray(768)
    generic[0:4] = b"XPDS" if little_endian else b"SDPX"
    struct.pack_into(order + "I", generic, 4, image_offset)
    generic[8:16] = b"V2.0".ljust(8, b"\x00")
    struct.pack_into(order + "IIIII", generic, 16, image_offset + pixels, 1, 1664, 384, user_size)
    generic[36:136] = b"shot.0001.dpx".ljust(100, b"\x00")
    generic[136:160] = b"2026:11:30:10:00:00UTC".ljust(24, b"\x00")
    generic[160:260] = creator.encode().ljust(100, b"\x00")[:100]
    generic[260:460] = project.encode().ljust(200, b"\x00")[:200]
    generic[460:660] = copyright.encode().ljust(200, b"\x00")[:200]
    struct.pack_into(order + "I", generic, 660, 0xFFFFFFFF)  # no encryption
    image = bytearray(640)
    struct.pack_into(order + "HHII", image, 0, 0, 1, 4, 4)  # orientation, elements, 4x4
    image[32:36] = bytes((50, 2, 2, 10))  # element 1: RGB, linear, 10 bits
    struct.pack_into(order + "HHI", image, 36, 1, 0, image_offset)  # packing, encoding, data
    rest = bytes(2048 - 768 - 640)  # orientation, film and television headers
    return bytes(generic) + bytes(image) + rest + user + bytes(pixels)


# --- MXF -------------------------------------------------------------------------------

MXF_PARTITION = bytes.fromhex("060e2b34020501010d01020101")  # then the kind, status, 00
MXF_PRIMER = bytes.fromhex("060e2b34020501010d01020101050100")
MXF_PREFACE = bytes.fromhex("060e2b34025301010d01010101012f00")
MXF_IDENTIFICATION = bytes.fromhex("060e2b34025301010d01010101013000")
#: A descriptive metadata set (a text-based framework) that holds a text property.
MXF_TEXT_SET = bytes.fromhex("060e2b34025301010d01040104010100")
MXF_INDEX = bytes.fromhex("060e2b34025301010d01020101100100")
MXF_PICTURE = bytes.fromhex("060e2b34010201010d01030115010501")
_OP1A = bytes.fromhex("060e2b34040101010d01020101010900")
_CONTAINER = bytes.fromhex("060e2b34040101010d01030102077f01")
#: Static and dynamic local tags the primer maps to their keys.
_PRIMER_ENTRIES = {
    0x3C0A: "060e2b34010101010101150200000000",  # InstanceUID
    0x3C01: "060e2b34010101020520070102010000",  # CompanyName
    0x3C02: "060e2b34010101020520070103010000",  # ProductName
    0x3C04: "060e2b34010101020520070105010000",  # VersionString
    0x3C08: "060e2b34010101020520070106010000",  # Platform
    0x8001: "060e2b340101010d0301022003010000",  # a text property (dynamic tag)
}


def ber(length: int) -> bytes:
    """A four-byte BER length, as MXF writers use (five past 16 MiB)."""
    if length < 1 << 24:
        return b"\x83" + length.to_bytes(3, "big")
    return b"\x84" + length.to_bytes(4, "big")


def klv(key: bytes, value: bytes) -> bytes:
    return key + ber(len(value)) + value


def local_set(key: bytes, *properties: tuple[int, bytes]) -> bytes:
    """A local set: each property a 2-byte tag, a 2-byte length and its value."""
    body = b"".join(struct.pack(">HH", tag, len(value)) + value for tag, value in properties)
    return klv(key, body)


def utf16(text: str) -> bytes:
    return text.encode("utf-16-be")


def identification(company: str, product: str, version: str, platform: str = "") -> bytes:
    properties = [
        (0x3C0A, bytes(range(16))),
        (0x3C01, utf16(company)),
        (0x3C02, utf16(product)),
        (0x3C03, struct.pack(">HHHHH", 1, 0, 0, 0, 1)),  # ProductVersion
        (0x3C04, utf16(version)),
    ]
    if platform:
        properties.append((0x3C08, utf16(platform)))
    return local_set(MXF_IDENTIFICATION, *properties)


def text_set(text: bytes) -> bytes:
    return local_set(MXF_TEXT_SET, (0x3C0A, bytes(16)), (0x8001, text))


def partition_pack(kind: int, header_bytes: int = 0, footer: int = 0) -> bytes:
    value = struct.pack(">HHIQQQQQIQI", 1, 3, 1, 0, 0, footer, header_bytes, 0, 0, 0, 1)
    value += _OP1A + struct.pack(">II", 1, 16) + _CONTAINER
    return klv(MXF_PARTITION + bytes((kind, 0x04, 0x00)), value)


def mxf(*sets: bytes, essence: bytes = bytes(4096), in_footer: bool = False) -> bytes:
    """An OP1a MXF file: the header partition (primer pack, a preface, ``sets``), one picture
    essence element, a footer partition; with ``in_footer`` the header partition holds no
    metadata and the footer partition all of it (as a file written while recorded may)."""
    entries = b"".join(
        struct.pack(">H", tag) + bytes.fromhex(key) for tag, key in _PRIMER_ENTRIES.items()
    )
    primer = klv(MXF_PRIMER, struct.pack(">II", len(_PRIMER_ENTRIES), 18) + entries)
    preface = local_set(MXF_PREFACE, (0x3C0A, bytes(16)), (0x3B05, b"\x01\x03"))
    metadata = primer + preface + b"".join(sets)
    header_metadata, footer_metadata = (b"", metadata) if in_footer else (metadata, b"")
    picture = klv(MXF_PICTURE, essence)
    size = len(partition_pack(0x02)) + len(header_metadata) + len(picture)
    header = partition_pack(0x02, header_bytes=len(header_metadata), footer=size)
    footer = partition_pack(0x04, header_bytes=len(footer_metadata), footer=size)
    return header + header_metadata + picture + footer + footer_metadata
