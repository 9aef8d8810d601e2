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
