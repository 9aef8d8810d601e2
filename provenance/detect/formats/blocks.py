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
    "writing_app": "Software",
    "writingapp": "Software",
    "muxing_app": "Software",
    "muxingapp": "Software",
}

#: Field names (lower case) that name the tool that wrote a file, in headers whose fields
#: are named freely (OpenEXR attributes): handed to the EXIF family as a tool field.
TOOL_FIELDS = frozenset(
    ("software", "generator", "creator", "creatortool", "tool", "application", "owner")
)

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
class UnreadText:
    """A text entry the walk found but could not read (over a cap, corrupt compression):
    its keyword, where it sat and why. A generator's keyword there is a mark unread."""

    keyword: str
    source: str
    problem: str


#: Unread text entries kept per file (the first of each keyword): enough for every keyword a
#: generator writes, bounded whatever the file holds.
MAX_UNREAD = 100


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
    #: Fields that name the tool that wrote the file, outside EXIF (an OpenEXR ``software``
    #: attribute, a DPX creator, an MXF Identification's product): read by the EXIF family
    #: as it reads EXIF Software, so a known generator there is a mark and "Nuke" is not.
    tools: list[TextEntry] = field(default_factory=list)
    #: Text entries present but not read, by keyword (see ``unread_text``).
    unread: dict[str, UnreadText] = field(default_factory=dict)
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

    def unread_text(self, keyword: str, source: str, problem: str) -> None:
        """Note a text entry that is there but was not read (the first of its keyword)."""
        if keyword not in self.unread and len(self.unread) < MAX_UNREAD:
            self.unread[keyword] = UnreadText(keyword, source, problem)

    def add_exif(self, data: Buffer, start: int, end: int, source: str) -> None:
        """Read the TIFF structure at ``data[start:end]`` (its tags and XMP tag 700)."""
        tags = read_tiff_tags(data, start, end)
        self.problems.extend(f"{source}: {problem}" for problem in tags.problems)
        xmp = tags.values.get("XMP")
        if xmp:
            self.xmp.append(Block(xmp, f"{source} tag 700 XMP"))
        self.exif.append(ExifBlock(tags, source))

    def add_tag(self, name: str, text: str, source: str) -> None:
        """Add one tag as a text entry, under the keyword the families expect for its name.

        A tool, encoder or software tag (MP4 ``©too``, Matroska ``ENCODER``/``WritingApp``,
        ID3 ``TSSE``/``TENC``, FLAC ``ENCODER``) is also a tool field, read as EXIF Software
        is: ``"Runway Gen-4"`` there is a mark, ``"Lavf61.7"`` or ``"HandBrake"`` is not.
        """
        keyword = TAG_KEYWORDS.get(name.strip().lower())
        if keyword is None or not text.strip():
            return
        entry = TextEntry(keyword, text.strip("\x00"), source)
        self.texts.append(entry)
        if keyword == "Software":
            self.tools.append(TextEntry(keyword, entry.text.strip(), source))

    def add_field(self, name: str, text: str, source: str) -> None:
        """Add a named text field of a header with free-form names (an OpenEXR string
        attribute, a DPX or MXF text): an XMP packet as XMP, a tool name (``software``,
        ``generator``, ...) as a tool field, a known tag (``comments``, ``prompt``,
        ``workflow``, ``parameters``) as its text entry, and JSON under any other name as a
        ``Description`` (read by the generator-JSON family, which wants a tool or a prompt
        with settings in it before it calls it a mark)."""
        text = text.strip("\x00")
        stripped = text.lstrip("\ufeff \t\r\n")
        key = name.strip().lower()
        if not stripped:
            return
        if key == "xmp" or stripped.startswith(("<?xpacket", "<x:xmpmeta", "<x:xapmeta")):
            self.xmp.append(Block(text.encode("utf-8", errors="replace"), source))
        elif key in TOOL_FIELDS:
            self.tools.append(TextEntry("Software", text.strip(), source))
            if stripped.startswith("{"):
                self.texts.append(TextEntry("Comment", text, source))
            else:
                self.texts.append(TextEntry("Software", text.strip(), source))
        elif key in TAG_KEYWORDS:
            self.add_tag(key, text, source)
        elif stripped.startswith("{"):
            self.texts.append(TextEntry("Description", text, source))


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
