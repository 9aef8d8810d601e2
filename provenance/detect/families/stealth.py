"""The stealth family: parameters hidden in pixel LSBs (A1111 stealth-pnginfo, NovelAI), read
as parameters text and labelled ``watermark``; deep check only. Pillow loads on first use:
few scans decode pixels, and each reader process would pay for it at its start."""

from __future__ import annotations

import gzip
import io
import logging
import warnings
import zlib
from typing import IO, TYPE_CHECKING, cast

from provenance.detect.buffers import Buffer, BufferStream
from provenance.detect.families.parameters_text import read_parameters_text
from provenance.detect.formats.blocks import MAX_BLOCK, TextEntry
from provenance.detect.reading import Found, Reading
from provenance.detect.signals import Signal

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

_MAGICS = {
    b"stealth_pnginfo": ("alpha", False),
    b"stealth_pngcomp": ("alpha", True),
    b"stealth_rgbinfo": ("rgb", False),
    b"stealth_rgbcomp": ("rgb", True),
}
_MAGIC_BITS = 15 * 8
_LENGTH_BITS = 32
#: Only 0/1 survive: each byte of a channel becomes its least significant bit as ASCII.
_LSB_TABLE = bytes(ord("0") + (value & 1) for value in range(256))
#: Images of more pixels are not decoded: decoding costs some 15 bytes a pixel (4096 x
#: 4096 fits in about 256 MB), and a small file can claim a huge, compressible image.
MAX_PIXELS = 4096 * 4096


#: The media types whose pixels may hide the text.
MEDIA_TYPES = ("image/png", "image/webp", "image/tiff")


class TooManyPixelsError(ValueError):
    """The image is bigger than the deep check decodes."""


def read(reading: Reading) -> Found:
    """The family's entry point: with ``deep``, the text hidden in a PNG, WebP or TIFF's
    pixels, read by the parameters-text family and labelled ``watermark``."""
    if not reading.options.deep:
        return [], []
    if reading.parts.over_cap:
        return [], ["stealth: pixels not decoded (the file is over its metadata caps)"]
    if reading.media_type not in MEDIA_TYPES:
        return [], []
    hidden, problems = read_stealth(reading.data)
    return _as_watermark(hidden, problems), problems


def _as_watermark(hidden: list[TextEntry], problems: list[str]) -> list[Signal]:
    """Read LSB-hidden text as parameters text and label its signals ``watermark``."""
    if not hidden:
        return []
    found, trouble = read_parameters_text(hidden)
    problems.extend(trouble)
    if not found:
        return [Signal(kind="watermark", ai_class="ai", confidence=0.9, source=hidden[0].source)]
    return [
        Signal(
            kind="watermark",
            ai_class=signal.ai_class,
            generator=signal.generator,
            family=signal.family,
            model=signal.model,
            prompt=signal.prompt,
            parameters=signal.parameters,
            confidence=0.9,
            source=hidden[0].source,
        )
        for signal in found
    ]


def read_stealth(data: Buffer) -> tuple[list[TextEntry], list[str]]:
    """Return the text hidden in the image's LSBs as a ``parameters`` entry (or NovelAI's
    keyed JSON), decoding the pixels with Pillow.

    The bits run column by column (x outer, y inner), as the A1111 extension writes them:
    a 15-byte magic, a 32-bit payload length in bits, then the payload (gzip'd for
    ``*comp``).
    """
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's notices about odd EXIF or palettes
            planes = _decode_planes(data)
    except TooManyPixelsError as exc:
        return [], [f"stealth: {exc}; not decoded"]
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        return [], [f"stealth: pixels cannot be decoded ({exc})"]
    for mode, bits in planes:
        magic = _bytes_from_bits(bits[:_MAGIC_BITS])
        found = _MAGICS.get(magic)
        if found is None or found[0] != mode:
            continue
        length = int(bits[_MAGIC_BITS : _MAGIC_BITS + _LENGTH_BITS] or b"0", 2)
        if length > 8 * MAX_BLOCK:
            return [], [f"stealth: payload of {length} bits over the cap; skipped"]
        start = _MAGIC_BITS + _LENGTH_BITS
        payload = _bytes_from_bits(bits[start : start + length])
        try:
            text = _decode(payload, compressed=found[1])
        except (OSError, EOFError, ValueError, zlib.error) as exc:
            return [], [f"stealth: payload unreadable ({exc})"]
        return [TextEntry("parameters", text, f"stealth {magic.decode()} ({mode} LSB)")], []
    return [], []


def _decode_planes(data: Buffer) -> list[tuple[str, bytes]]:
    from PIL import Image

    with BufferStream(data) as stream, Image.open(cast(IO[bytes], stream)) as image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise TooManyPixelsError(f"{width}x{height} is over {MAX_PIXELS} pixels")
        image.load()
        return _planes(image)


def _planes(image: Image.Image) -> list[tuple[str, bytes]]:
    """Return the LSB bit strings (as b"0"/b"1") of the alpha plane and of the RGB planes."""
    from PIL import Image

    transposed = image.transpose(Image.Transpose.TRANSPOSE)  # rows become columns
    planes = []
    if "A" in image.getbands():
        planes.append(("alpha", transposed.getchannel("A").tobytes().translate(_LSB_TABLE)))
    planes.append(("rgb", transposed.convert("RGB").tobytes().translate(_LSB_TABLE)))
    return planes


def _bytes_from_bits(bits: bytes) -> bytes:
    whole = len(bits) - len(bits) % 8
    if whole == 0:
        return b""
    return int(bits[:whole], 2).to_bytes(whole // 8, "big")


def _decode(payload: bytes, *, compressed: bool) -> str:
    if compressed:
        with gzip.GzipFile(fileobj=io.BytesIO(payload)) as stream:
            payload = stream.read(MAX_BLOCK + 1)
        if len(payload) > MAX_BLOCK:
            raise ValueError("inflates past the cap")
    return payload.decode("utf-8", errors="replace")
