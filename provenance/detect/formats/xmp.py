"""Parse an XMP packet safely (no entities, no DTD, capped) into its properties."""

from __future__ import annotations

import io
import logging
import re
import xml.etree.ElementTree as ET

import defusedxml
import defusedxml.ElementTree as SafeET

from provenance.detect.formats.blocks import MAX_BLOCK, Block, TextEntry

log = logging.getLogger(__name__)

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
_DC = "http://purl.org/dc/elements/1.1/"
_EXIF = "http://ns.adobe.com/exif/1.0/"

#: Free-text fields that generators fill with their parameters (read by the text families).
TEXT_FIELDS = {
    f"{{{_DC}}}description": "dc:description",
    f"{{{_EXIF}}}UserComment": "exif:UserComment",
    f"{{{IPTC_EXT}}}AIPromptInformation": "Iptc4xmpExt:AIPromptInformation",
}

XmpProperties = dict[str, list[str]]
#: Elements of a packet parsed at most (some 1 s of parsing; a packet holds dozens).
MAX_ELEMENTS = 100_000
#: How far into a packet its XML declaration may end (it is the first thing in it).
_DECLARATION_SPAN = 256
_ENCODING_DECLARATION = re.compile(r"(?<=<\?xml)([^>]*?)\s+encoding=[\"'][^\"']*[\"']")


def parse_xmp(block: Block) -> tuple[XmpProperties, list[str]]:
    """Return every property of an XMP packet as ``{"{namespace}name": [values]}``.

    Entity declarations (billion laughs) and DTDs are refused by defusedxml; a packet that
    cannot be parsed gives no properties and one problem.
    """
    if len(block.data) > MAX_BLOCK:
        return {}, [f"XMP ({block.source}): packet over the {MAX_BLOCK} byte cap; skipped"]
    text = _as_utf8(block.data)
    try:
        root = _parse_capped(text)
    except _TooManyElementsError:
        return {}, [f"XMP ({block.source}): over {MAX_ELEMENTS} elements; skipped"]
    except defusedxml.DefusedXmlException as exc:
        return {}, [f"XMP ({block.source}): refused hostile XML ({type(exc).__name__})"]
    except (ET.ParseError, ValueError) as exc:
        return {}, [f"XMP ({block.source}): unreadable XML ({exc})"]
    properties: XmpProperties = {}
    for description in root.iter(f"{{{_RDF}}}Description"):
        for name, value in description.attrib.items():
            if not name.startswith(f"{{{_RDF}}}"):
                properties.setdefault(name, []).append(value)
        for child in description:
            values = _values(child)
            if values:
                properties.setdefault(child.tag, []).extend(values)
    return properties, []


class _TooManyElementsError(ValueError):
    pass


def _parse_capped(text: bytes) -> ET.Element:
    """Parse a packet, stopping past ``MAX_ELEMENTS`` (a packet of millions of tiny
    elements is linear but would cost a worker minutes)."""
    root: ET.Element | None = None
    events = SafeET.iterparse(io.BytesIO(text), events=("start",), forbid_dtd=True)
    for count, (_, element) in enumerate(events):
        if root is None:
            root = element
        if count >= MAX_ELEMENTS:
            raise _TooManyElementsError
    if root is None:
        raise ValueError("no element")
    return root


def _as_utf8(data: bytes) -> bytes:
    """Return the packet as UTF-8: some writers store XMP as UTF-16 (either byte order)."""
    head = data[:2]
    encoding = None
    if head in (b"\xfe\xff", b"\xff\xfe"):
        encoding = "utf-16"
    elif len(data) > 1 and data[0] == 0 and data[1] != 0:
        encoding = "utf-16-be"
    elif len(data) > 1 and data[1] == 0 and data[0] != 0:
        encoding = "utf-16-le"
    if encoding is None:
        return data.strip(b"\x00 \t\r\n")
    text = data.decode(encoding, errors="replace").strip("\x00 \t\r\n\ufeff")
    # the declaration is at the start: the pattern sees only that (it is not linear in
    # a long run of spaces, and the rest of the packet is the file's)
    start, rest = text[:_DECLARATION_SPAN], text[_DECLARATION_SPAN:]
    return (_ENCODING_DECLARATION.sub(r"\1", start, count=1) + rest).encode("utf-8")


def _values(element: ET.Element) -> list[str]:
    """Return the text values of one property: simple, rdf:resource, or an rdf container."""
    values = []
    resource = element.get(f"{{{_RDF}}}resource")
    if resource:
        values.append(resource)
    if element.text and element.text.strip():
        values.append(element.text.strip())
    for item in element.iter(f"{{{_RDF}}}li"):
        if item.text and item.text.strip():
            values.append(item.text.strip())
    return values


def xmp_texts(properties: XmpProperties, source: str) -> list[TextEntry]:
    """Return a packet's free-text fields (``TEXT_FIELDS``) as text entries for the families:
    ``exif:UserComment`` as ``UserComment``, the others as ``Description``."""
    return [
        TextEntry(
            "UserComment" if name.endswith("UserComment") else "Description",
            values[0],
            f"{source} {label}",
        )
        for name, label in TEXT_FIELDS.items()
        if (values := properties.get(name))
    ]
