"""Where the XMP packet and any C2PA manifest sit inside an image file, as byte ranges."""

from __future__ import annotations

from dataclasses import dataclass


class FormatError(ValueError):
    """The file is truncated or breaks its format's structure; the message says where."""


@dataclass(frozen=True)
class Layout:
    """The header of an image file as byte ranges, enough to rewrite one part of it.

    ``head`` is the signature; ``parts`` are the (start, end) ranges of the segments or
    chunks up to the image data; from ``rest`` to the end of file everything is copied
    verbatim. ``xmp_index`` points at the part holding ``xmp``; a new packet goes before
    ``parts[insert_at]``.
    """

    head: bytes
    parts: tuple[tuple[int, int], ...]
    rest: int
    xmp: bytes | None
    xmp_index: int | None
    insert_at: int
    c2pa: bool
