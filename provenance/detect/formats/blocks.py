"""The metadata blocks a container walk hands to the signal readers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from provenance.detect.buffers import Buffer
from provenance.detect.formats.tiff import (
    TiffTags,
    decode_ascii,
    decode_ucs2,
    decode_user_comment,
    read_tiff_tags,
)

log = logging.getLogger(__name__)

#: The largest text, XMP or EXIF block we decode; bigger blocks are skipped with a problem.
MAX_BLOCK = 16 * 1024 * 1024
#: The most text, XMP and EXIF one file may give, all its blocks together, inflated: a
#: cap per block alone let a 4 MB PNG of many compressed chunks inflate to 4 GB.
MAX_FILE_TEXT = 16 * 1024 * 1024
#: The most text, XMP and EXIF blocks one file may give (a generator writes a handful).
MAX_FILE_BLOCKS = 1000
#: The most boxes, elements or frames one walk looks at (a hostile file can claim millions).
MAX_ELEMENTS = 10_000
#: Tag names (lower case) -> the keyword the families expect. Video and audio generators
#: (ComfyUI video nodes, Wan, Hunyuan, LTX workflows, SwarmUI, audio models) write their
#: prompt or workflow JSON into a comment or description tag, or one named ``prompt``.
#: Every audio and video walk reads only headers: it steps over media data by the sizes the
#: container states, stops after ``MAX_ELEMENTS`` elements, and decodes no value over
#: ``MAX_BLOCK`` bytes.
TAG_KEYWORDS = {
    "comment": "Comment",
    "comments": "Comment",
    "description": "Description",
    "desc": "Description",
    "synopsis": "Description",
    "prompt": "prompt",
    "workflow": "workflow",
    "parameters": "parameters",
    "software": "Software",
    "encoder": "Software",
    "encoded_by": "Software",
    "encodedby": "Software",
    "tool": "Software",
}

#: EXIF fields handed to the text families, under the keyword it expects.
_TEXT_TAGS = {
    "UserComment": "UserComment",
    "ImageDescription": "Description",
    "Software": "Software",
    "Make": "Make",
    "Model": "Model",
    "XPComment": "Comment",
}


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
    #: bytes of text, XMP and EXIF this file may still give (see ``MAX_FILE_TEXT``)
    text_left: int = MAX_FILE_TEXT
    #: blocks this file may still give (see ``MAX_FILE_BLOCKS``)
    blocks_left: int = MAX_FILE_BLOCKS

    @property
    def over_cap(self) -> bool:
        """Whether the walk skipped blocks for the file's caps (or stopped early): such a
        file's pixels are not decoded either (Pillow walks every chunk again, slowly)."""
        return self.text_left < 0

    def take(self, size: int, source: str) -> bool:
        """Count a block of ``size`` bytes against the file's caps; False (and a problem,
        once) when it does not fit, and the block and every later one are skipped."""
        if size <= self.text_left and self.blocks_left > 0:
            self.text_left -= size
            self.blocks_left -= 1
            return True
        if self.text_left >= 0:
            self.problems.append(
                f"{source}: the file's metadata is over its cap ({MAX_FILE_TEXT} bytes,"
                f" {MAX_FILE_BLOCKS} blocks); this block and the rest skipped"
            )
            self.text_left = -1
        return False

    def add_exif(self, data: Buffer, start: int, end: int, source: str) -> None:
        """Read the TIFF structure at ``data[start:end]`` (its tags and XMP tag 700)."""
        tags = read_tiff_tags(data, start, end)
        self.problems.extend(f"{source}: {problem}" for problem in tags.problems)
        xmp = tags.values.get("XMP")
        if xmp:
            self.xmp.append(Block(xmp, f"{source} tag 700 XMP"))
        self.exif.append(ExifBlock(tags, source))

    def add_tag(self, name: str, text: str, source: str) -> None:
        """Add one tag as a text entry, under the keyword the families expect for its name."""
        keyword = TAG_KEYWORDS.get(name.strip().lower())
        if keyword is None or not text.strip():
            return
        self.texts.append(TextEntry(keyword, text.strip("\x00"), source))


def exif_texts(block: ExifBlock) -> list[TextEntry]:
    """Return the EXIF fields as keyword/text pairs for the text families."""
    entries = []
    for tag, keyword in _TEXT_TAGS.items():
        raw = block.tags.values.get(tag)
        if not raw:
            continue
        if tag == "UserComment":
            text = decode_user_comment(raw)
        elif tag.startswith("XP"):
            text = decode_ucs2(raw)
        else:
            text = decode_ascii(raw)
        if text:
            entries.append(TextEntry(keyword, text, f"{block.source} {tag}"))
    return entries
