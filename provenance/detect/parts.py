"""The metadata blocks a container walk hands to the signal readers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from provenance.detect.buffers import Buffer
from provenance.detect.tiff import TiffTags, read_tiff_tags

log = logging.getLogger(__name__)

#: The largest text, XMP or EXIF block we decode; bigger blocks are skipped with a problem.
MAX_BLOCK = 16 * 1024 * 1024


@dataclass(frozen=True)
class TextEntry:
    """One keyword/text pair, e.g. PNG tEXt ``parameters`` or EXIF ``UserComment``."""

    keyword: str
    text: str
    source: str


@dataclass(frozen=True)
class Block:
    """One raw metadata block (an EXIF TIFF structure or an XMP packet) and where it sat."""

    data: bytes
    source: str


@dataclass(frozen=True)
class ExifBlock:
    """The tags of one EXIF block (or of a TIFF file's own IFDs) and where it sat."""

    tags: TiffTags
    source: str


@dataclass
class Parts:
    """What a container walk found; filled in by one walker, then read by the readers.

    Mutable on purpose: a walker appends as it goes, and a truncated file keeps what was
    found before the cut. Readers only read it.
    """

    texts: list[TextEntry] = field(default_factory=list)
    exif: list[ExifBlock] = field(default_factory=list)
    xmp: list[Block] = field(default_factory=list)
    #: Where a C2PA manifest store seems to sit (e.g. ``"PNG caBX"``), None if nowhere.
    c2pa_marker: str | None = None
    problems: list[str] = field(default_factory=list)

    def add_exif(self, data: Buffer, start: int, end: int, source: str) -> None:
        """Read the TIFF structure at ``data[start:end]`` (its tags and XMP tag 700)."""
        tags = read_tiff_tags(data, start, end)
        self.problems.extend(f"{source}: {problem}" for problem in tags.problems)
        xmp = tags.values.get("XMP")
        if xmp:
            self.xmp.append(Block(xmp, f"{source} tag 700 XMP"))
        self.exif.append(ExifBlock(tags, source))
