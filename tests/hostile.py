"""Build hostile files for the tests and bench_hostile: each class of input that has stopped
a scan or the daemon, generated here (never a copy of someone else's file).

``HOSTILE`` maps a class name to a function that writes one such file into a folder and
returns its path. Every file is small on disk; what it costs a reader is the point.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from tests.fixtures_media import (
    exif_bytes,
    itxt_chunk,
    jpeg,
    plain_png,
    png_chunk,
    png_claiming_300_mb,
    png_with_chunks,
    text_chunk,
    user_comment,
    xmp_packet,
    ztxt_bomb,
    ztxt_chunk,
)
from tests.vfx_media import MXF_IDENTIFICATION, dpx, exr_attribute, partition_pack

#: A long run of word characters after ``Steps:`` with no colon: the old A1111 pattern
#: backtracked quadratically on it (20,000 characters 2.75 s, 1 MB hours).
BAIT = "Steps: 20, Sampler: " + "a" * 1_000_000


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def bait_png(folder: Path) -> Path:
    """1 MB of bait in a compressed ``parameters`` chunk: a file of a few KB."""
    return _write(folder, "bait.png", png_with_chunks([ztxt_chunk("parameters", BAIT)]))


def bait_jpeg_comment(folder: Path) -> Path:
    """Bait in a JPEG COM segment (the biggest one holds 64 KB)."""
    return _write(folder, "bait_comment.jpg", jpeg(comment=BAIT[:65_000].encode()))


def bait_user_comment(folder: Path) -> Path:
    """Bait in an EXIF UserComment (UTF-16, within one APP1 segment)."""
    return _write(
        folder, "bait_usercomment.jpg", jpeg(exif=exif_bytes(comment=user_comment(BAIT[:30_000])))
    )


def fifo_sidecar(folder: Path) -> Path:
    """A FIFO named like a sidecar: no one ever writes to it. Returns the FIFO."""
    _write(folder, "poster.png", plain_png())
    fifo = folder / "poster.png.xmp"
    os.mkfifo(fifo)
    return fifo


def symlinked_sidecar(folder: Path) -> Path:
    """A sidecar that is a symlink to a file elsewhere. Returns the symlink."""
    _write(folder, "linked.png", plain_png())
    target = _write(folder.parent / "elsewhere", "secret.xmp", b"<x:xmpmeta/>")
    link = folder / "linked.png.xmp"
    link.symlink_to(target)
    return link


def many_compressed_chunks(folder: Path) -> Path:
    """300 zTXt chunks, each 16 MB of zeros compressed: 4.8 GB if each were capped alone."""
    body = zlib.compress(b"a" * (16 * 1024 * 1024 - 64), 9)
    chunks = [png_chunk(b"zTXt", f"k{n}".encode() + b"\x00\x00" + body) for n in range(300)]
    return _write(folder, "amplifier.png", png_with_chunks(chunks))


def zlib_bomb(folder: Path) -> Path:
    """One zTXt chunk of 256 MB of zeros (about 256 KB compressed)."""
    return _write(folder, "bomb.png", ztxt_bomb(256))


def pixel_bomb(folder: Path) -> Path:
    """A PNG of 12,000 x 12,000 one-bit pixels (some 20 KB): the deep check would decode
    144 million pixels to RGB."""
    width = height = 12_000
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    compressor = zlib.compressobj(6)
    row = b"\x00" * (1 + width // 8)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    png = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )
    return _write(folder, "pixels.png", png)


def truncated(folder: Path) -> Path:
    """A PNG cut inside its parameters chunk."""
    data = png_with_chunks([text_chunk("parameters", BAIT[:5000])])
    return _write(folder, "cut.png", data[: data.index(b"tEXt") + 100])


def lying_length(folder: Path) -> Path:
    """A text chunk that claims 300 MB in a file of a few hundred bytes."""
    return _write(folder, "liar.png", png_claiming_300_mb())


def entity_expansion(folder: Path) -> Path:
    """Billion laughs in the XMP packet of a PNG."""
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE x ['
        + '<!ENTITY a "lol">'
        + "".join(f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">' for n in range(9))
        + "]><x>&j;</x>"
    )
    chunk = itxt_chunk("XML:com.adobe.xmp", laughs)
    return _write(folder, "laughs.png", png_with_chunks([chunk]))


def deep_nesting(folder: Path) -> Path:
    """Parameters of JSON nested 200,000 deep and an XMP packet of 50,000 nested elements."""
    nested_xml = (
        xmp_packet(creator_tool="x").replace("<x:xmpmeta", "<a>" * 50_000 + "<x:xmpmeta", 1)
        + "</a>" * 50_000
    )
    chunks = [
        ztxt_chunk("parameters", "[" * 200_000 + "]" * 200_000),
        itxt_chunk("XML:com.adobe.xmp", nested_xml, compressed=True),
    ]
    return _write(folder, "nested.png", png_with_chunks(chunks))


def huge_chunk_count(folder: Path) -> Path:
    """A million empty text chunks (12 MB)."""
    empty = png_chunk(b"tEXt", b"k\x00")
    return _write(folder, "chunks.png", png_with_chunks([empty] * 1_000_000))


def nul_prompt(folder: Path) -> Path:
    """A1111 parameters with NUL bytes and a lone surrogate-to-be in the prompt and model."""
    text = "a castle\x00 at night\udcff\nSteps: 20, Sampler: Euler a, Seed: 1, Model: bad\x00model"
    payload = text.encode("utf-8", errors="surrogateescape")
    header = b"parameters\x00\x00\x00\x00\x00"
    return _write(folder, "nul.png", png_with_chunks([png_chunk(b"iTXt", header + payload)]))


def odd_name(folder: Path) -> Path:
    """A file whose name holds a newline, a tab, a leading dash, a right-to-left override."""
    return _write(folder, "-odd\n\tname \u202egnp.png", plain_png())


def non_utf8_name(folder: Path) -> Path:
    """A file whose name holds bytes that are not UTF-8 (skipped by the walk, named)."""
    return _write(folder, os.fsdecode(b"bytes \xff\xfe.png"), plain_png())


def endless_exr_header(folder: Path) -> Path:
    """An OpenEXR header of a million tiny attributes and no end (17 MB)."""
    attribute = exr_attribute("a", "int", bytes(4))
    return _write(folder, "endless.exr", b"v/1\x01\x02\x00\x00\x00" + attribute * 1_000_000)


def lying_dpx(folder: Path) -> Path:
    """A DPX whose user-defined data claims 4 GB."""
    return _write(
        folder, "liar.dpx", dpx(user_id="notes", user_data=b"x", declared_user_size=2**32 - 2)
    )


def ber_bomb_mxf(folder: Path) -> Path:
    """An MXF whose first header metadata set claims 2**63 bytes (an 8-byte BER length)."""
    bomb = MXF_IDENTIFICATION + b"\x88" + struct.pack(">Q", 2**63)
    return _write(folder, "bomb.mxf", partition_pack(0x02) + bomb + bytes(4096))


HOSTILE: dict[str, Callable[[Path], Path]] = {
    "bait-png-parameters": bait_png,
    "bait-jpeg-comment": bait_jpeg_comment,
    "bait-exif-usercomment": bait_user_comment,
    "fifo-sidecar": fifo_sidecar,
    "symlinked-sidecar": symlinked_sidecar,
    "many-compressed-chunks": many_compressed_chunks,
    "zlib-bomb": zlib_bomb,
    "pixel-bomb": pixel_bomb,
    "truncated": truncated,
    "lying-length": lying_length,
    "entity-expansion": entity_expansion,
    "deep-nesting": deep_nesting,
    "huge-chunk-count": huge_chunk_count,
    "nul-bytes": nul_prompt,
    "odd-name": odd_name,
    "non-utf8-name": non_utf8_name,
    "endless-exr-header": endless_exr_header,
    "lying-dpx-user-data": lying_dpx,
    "ber-bomb-mxf": ber_bomb_mxf,
}
