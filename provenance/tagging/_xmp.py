"""Build, merge and read the XMP packet that carries a TagRecord (no file I/O here)."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from provenance import __version__
from provenance.tagging._xmlio import (
    Document,
    XmlError,
    escape_text,
    parse,
    serialize,
    split,
    strip_invalid,
)
from provenance.tagging.record import (
    AI_CLASSES,
    NS_IPTC_EXT,
    NS_PROVENANCE,
    PREFIX_PROVENANCE,
    SCHEMA_VERSION,
    TagRecord,
)

log = logging.getLogger(__name__)

NS_X = "adobe:ns:meta/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PREFERRED_PREFIXES = {
    NS_X: "x",
    NS_RDF: "rdf",
    NS_IPTC_EXT: "Iptc4xmpExt",
    NS_PROVENANCE: PREFIX_PROVENANCE,
}
_PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_PACKET_END = '\n<?xpacket end="w"?>'

#: Every property we write in our namespace, in the order written.
PROPERTIES = (
    "AssetId",
    "AiClass",
    "Status",
    "ContentHash",
    "FirstSeen",
    "Deadline",
    "Generator",
    "Model",
    "DigitalSourceType",
    "Signals",
    "ApprovalRef",
    "ToolVersion",
    "SchemaVersion",
)
_REQUIRED = ("AssetId", "AiClass", "Status", "ContentHash", "FirstSeen", "ToolVersion")


class PacketError(ValueError):
    """An XMP packet cannot be read or merged; the message is the reason."""


def _q(uri: str, local: str) -> str:
    return f"{{{uri}}}{local}"


DESCRIPTION = _q(NS_RDF, "Description")
_RDF = _q(NS_RDF, "RDF")
_ABOUT = _q(NS_RDF, "about")
_LI = _q(NS_RDF, "li")
_DST = _q(NS_IPTC_EXT, "DigitalSourceType")


def format_time(value: datetime) -> str:
    """Return ``value`` as ISO 8601 in UTC with a ``Z``, e.g. ``2026-05-01T09:30:00Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(name: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise PacketError(f"provenance:{name} is not an ISO 8601 date: {text!r}") from exc
    if value.utcoffset() is None:
        raise PacketError(f"provenance:{name} has no time zone: {text!r}")
    return value.astimezone(UTC)


def _values(record: TagRecord) -> dict[str, str | tuple[str, ...] | None]:
    return {
        "AssetId": record.asset_uid,
        "AiClass": record.ai_class,
        "Status": record.status,
        "ContentHash": record.content_hash,
        "FirstSeen": format_time(record.first_seen),
        "Deadline": format_time(record.deadline) if record.deadline else None,
        "Generator": record.generator,
        "Model": record.model,
        "DigitalSourceType": record.digital_source_type,
        "Signals": record.signals or None,
        "ApprovalRef": record.approval_ref,
        "ToolVersion": record.tool_version,
        "SchemaVersion": SCHEMA_VERSION,
    }


def _descriptions(doc_root: ET.Element) -> tuple[ET.Element, list[ET.Element]]:
    """Return the rdf:RDF element and its top-level rdf:Description elements."""
    rdf = doc_root if doc_root.tag == _RDF else doc_root.find(_RDF)
    if rdf is None:
        raise PacketError("not an XMP packet: no rdf:RDF element")
    return rdf, [child for child in rdf if child.tag == DESCRIPTION]


def _simple_value(element: ET.Element) -> str | tuple[str, ...]:
    container = next((c for c in element if split(str(c.tag))[0] == NS_RDF), None)
    if container is not None and container.tag != DESCRIPTION:
        return tuple(li.text or "" for li in container if li.tag == _LI)
    resource = element.get(_q(NS_RDF, "resource"))
    if resource is not None:
        return resource
    return element.text or ""


def _collect(descriptions: list[ET.Element], uri: str) -> dict[str, str | tuple[str, ...]]:
    """Return the properties in ``uri`` found as attributes or elements of the descriptions."""
    found: dict[str, str | tuple[str, ...]] = {}
    for description in descriptions:
        for name, value in description.attrib.items():
            ns, local = split(name)
            if ns == uri:
                found.setdefault(local, value)
        for child in description:
            ns, local = split(str(child.tag))
            if ns == uri:
                found.setdefault(local, _simple_value(child))
    return found


def _text(found: dict[str, str | tuple[str, ...]], name: str) -> str | None:
    value = found.get(name)
    if isinstance(value, tuple):
        raise PacketError(f"provenance:{name} must be a simple value, not an array")
    return value


def record_from(doc: Document) -> TagRecord | None:
    """Return the TagRecord in a parsed packet, or None if it has none of our properties."""
    _, descriptions = _descriptions(doc.root)
    found = _collect(descriptions, NS_PROVENANCE)
    if not found:
        return None
    missing = [name for name in _REQUIRED if name not in found]
    if missing:
        raise PacketError(f"incomplete provenance record: missing {', '.join(missing)}")
    version = _text(found, "SchemaVersion") or SCHEMA_VERSION
    if version.split(".")[0] != SCHEMA_VERSION:
        log.warning("provenance XMP schema %s is newer than ours; reading known fields", version)
    iptc = _collect(descriptions, NS_IPTC_EXT)
    dst = _text(found, "DigitalSourceType") or _text(iptc, "DigitalSourceType")
    ai_class = _text(found, "AiClass")
    if ai_class not in AI_CLASSES:
        raise PacketError(f"provenance:AiClass must be one of {AI_CLASSES} (got {ai_class!r})")
    signals = found.get("Signals", ())
    deadline = _text(found, "Deadline")
    return TagRecord(
        asset_uid=_text(found, "AssetId") or "",
        ai_class=ai_class,
        status=_text(found, "Status") or "",
        content_hash=_text(found, "ContentHash") or "",
        first_seen=_parse_time("FirstSeen", _text(found, "FirstSeen") or ""),
        deadline=_parse_time("Deadline", deadline) if deadline is not None else None,
        generator=_text(found, "Generator"),
        model=_text(found, "Model"),
        digital_source_type=dst or "",
        signals=(signals,) if isinstance(signals, str) else signals,
        approval_ref=_text(found, "ApprovalRef"),
        tool_version=_text(found, "ToolVersion") or "",
    )


def read_packet(data: bytes) -> TagRecord | None:
    """Parse an XMP packet and return its TagRecord; raises PacketError for bad input."""
    try:
        doc = parse(data)
    except XmlError as exc:
        raise PacketError(str(exc)) from exc
    return record_from(doc)


def sole_record(data: bytes) -> TagRecord | None:
    """Return the record of a packet that holds our record and nothing else; None when it
    holds none of ours or also another tool's properties (merged into, or added since).

    Raises PacketError for a packet that cannot be read or holds an incomplete record.
    """
    try:
        doc = parse(data)
    except XmlError as exc:
        raise PacketError(str(exc)) from exc
    record = record_from(doc)
    if record is None:
        return None
    rdf, descriptions = _descriptions(doc.root)
    if len(rdf) != len(descriptions) or (doc.root is not rdf and list(doc.root) != [rdf]):
        return None
    ours = {_q(NS_PROVENANCE, name) for name in PROPERTIES} | {_DST}
    for description in descriptions:
        if any(name != _ABOUT for name in description.attrib):
            return None
        if any(child.tag not in ours for child in description):
            return None
    return record


def _remove(descriptions: list[ET.Element], wanted: set[str]) -> None:
    for description in descriptions:
        for name in [n for n in description.attrib if n in wanted]:
            del description.attrib[name]
        for child in [c for c in description if c.tag in wanted]:
            description.remove(child)


def _append(parent: ET.Element, tag: str, value: str | tuple[str, ...], ws: str) -> None:
    """Append one property; ``ws`` is the newline and indent that precede it."""
    element = ET.SubElement(parent, tag)
    element.tail = ws
    if isinstance(value, tuple):
        bag = ET.SubElement(element, _q(NS_RDF, "Bag"))
        element.text, bag.tail = ws + " ", ws
        bag.text = ws + "  "
        for item in value:
            li = ET.SubElement(bag, _LI)
            li.text, li.tail = strip_invalid(item), ws + "  "
        bag[-1].tail = ws + " "
    else:
        element.text = strip_invalid(value)


def _blank(text: str | None) -> bool:
    return bool(text) and not (text or "").strip()


def _skeleton() -> tuple[ET.Element, ET.Element]:
    root = ET.Element(_q(NS_X, "xmpmeta"), {_q(NS_X, "xmptk"): f"provenance {__version__}"})
    root.text, rdf = "\n ", ET.SubElement(root, _RDF)
    rdf.text, rdf.tail = "\n  ", "\n"
    return root, rdf


def merge_packet(existing: bytes | None, record: TagRecord) -> bytes:
    """Return an XMP packet carrying ``record``; ``existing`` keeps every foreign property.

    Our namespace's properties are replaced. ``Iptc4xmpExt:DigitalSourceType`` is written
    when the packet has none, or when its value is the one our earlier record wrote
    (``provenance:DigitalSourceType``); a different value set by another tool is kept.
    Raises PacketError when ``existing`` is malformed, hostile or not XMP.
    """
    if existing is None:
        return _new_packet(record.digital_source_type, _values(record))
    return _merge(existing, record.digital_source_type, _values(record))


_Values = dict[str, str | tuple[str, ...] | None]
#: A new packet's text for each shape of record (which properties, how many list items),
#: split at the values: built once by ``_merge`` with stand-ins, then only filled in.
_TEMPLATES: dict[tuple[int, ...], list[str]] = {}


def _slot(number: int) -> str:
    return f"PROVENANCESLOT{number:04d}X"


def _new_packet(dst: str, values: _Values) -> bytes:
    """The packet ``_merge(None, ...)`` builds, from a cached template (a first scan tags
    hundreds of files; the element tree and serializer cost ten times more)."""
    flat: list[str] = [dst]
    shape: list[int] = []
    for value in values.values():
        if value is None:
            shape.append(-1)
        elif isinstance(value, tuple):
            shape.append(len(value))
            flat.extend(value)
        else:
            shape.append(0)
            flat.append(value)
    key = tuple(shape)
    parts = _TEMPLATES.get(key)
    if parts is None:
        numbers = iter(range(len(flat)))
        stand_ins: _Values = {
            name: None
            if value is None
            else tuple(_slot(next(numbers) + 1) for _ in value)
            if isinstance(value, tuple)
            else _slot(next(numbers) + 1)
            for name, value in values.items()
        }
        text = _merge(None, _slot(0), stand_ins).decode("utf-8")
        parts = re.split(r"PROVENANCESLOT\d{4}X", text)
        _TEMPLATES[key] = parts
    out = [parts[0]]
    for value, part in zip(flat, parts[1:], strict=True):
        out.append(escape_text(strip_invalid(value)))
        out.append(part)
    return "".join(out).encode("utf-8")


def _merge(existing: bytes | None, dst: str, values: _Values) -> bytes:
    if existing is None:
        root, rdf = _skeleton()
        declared: tuple[tuple[str, str], ...] = ()
        descriptions: list[ET.Element] = []
    else:
        try:
            doc = parse(existing)
        except XmlError as exc:
            raise PacketError(str(exc)) from exc
        root, declared = doc.root, doc.prefixes
        rdf, descriptions = _descriptions(root)
    ours = _collect(descriptions, NS_PROVENANCE).get("DigitalSourceType")
    theirs = _collect(descriptions, NS_IPTC_EXT).get("DigitalSourceType")
    write_dst = theirs is None or theirs == ours
    if not write_dst:
        log.info("keeping the packet's own DigitalSourceType %r", theirs)
    wanted = {_q(NS_PROVENANCE, name) for name in PROPERTIES} | ({_DST} if write_dst else set())
    _remove(descriptions, wanted)
    target = next((d for d in descriptions if d.get(_ABOUT, "") == ""), None)
    if target is None:
        target = ET.SubElement(rdf, DESCRIPTION, {_ABOUT: ""})
        if len(rdf) > 1:
            target.tail, rdf[-2].tail = rdf[-2].tail, rdf.text
        else:
            rdf.text, target.tail = "\n  ", "\n "
    child_ws = target.text if len(target) and _blank(target.text) else "\n   "
    close_ws = target[-1].tail if len(target) and _blank(target[-1].tail) else "\n  "
    if len(target):
        target[-1].tail = child_ws
    else:
        target.text = child_ws
    if write_dst:
        _append(target, _DST, dst, child_ws or "")
    for name, value in values.items():
        if value is not None:
            _append(target, _q(NS_PROVENANCE, name), value, child_ws or "")
    target[-1].tail = close_ws
    body = serialize(root, declared, PREFERRED_PREFIXES, scope_tags=frozenset({DESCRIPTION}))
    return (_PACKET_BEGIN + body + _PACKET_END).encode("utf-8")


_DCTERMS_PROVENANCE = _q("http://purl.org/dc/terms/", "provenance")


def refers_to_c2pa(packet: bytes) -> bool:
    """Return True if the packet points at a remote C2PA manifest (``dcterms:provenance``).

    Raises PacketError when the packet cannot be parsed.
    """
    try:
        doc = parse(packet)
    except XmlError as exc:
        raise PacketError(str(exc)) from exc
    _, descriptions = _descriptions(doc.root)
    return any(
        _DCTERMS_PROVENANCE in d.attrib or d.find(_DCTERMS_PROVENANCE) is not None
        for d in descriptions
    )
