"""Parse XML safely (defusedxml) and write it back with the document's own prefixes."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, iterparse

NS_XML = "http://www.w3.org/XML/1998/namespace"

# Characters XML 1.0 cannot hold at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

#: Real XMP nests a few levels; a deeper document is refused rather than recursed into.
MAX_DEPTH = 100


class XmlError(ValueError):
    """The bytes are not well-formed XML, or they use a forbidden construct (DTD, entity)."""


@dataclass(frozen=True)
class Document:
    """A parsed XML document: its root element and the prefixes it declared, in order."""

    root: ET.Element
    prefixes: tuple[tuple[str, str], ...]  # (prefix, uri)


def strip_invalid(text: str) -> str:
    """Return ``text`` without the characters XML 1.0 cannot represent (most C0 controls)."""
    return _NOT_XML.sub("", text)


def parse(data: bytes) -> Document:
    """Parse ``data`` with DTDs and entities forbidden; comments and PIs are kept.

    Raises ``XmlError`` with a one-line reason for malformed or hostile input
    (billion laughs, external entities, nesting deeper than ``MAX_DEPTH``).
    """
    builder = ET.TreeBuilder(insert_comments=True, insert_pis=True)
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    prefixes: list[tuple[str, str]] = []
    depth = 0
    events = ("start-ns", "start", "end")
    try:
        for event, item in iterparse(io.BytesIO(data), events=events, parser=parser):
            if event == "start-ns":
                prefixes.append(item)
            elif event == "start":
                depth += 1
                if depth > MAX_DEPTH:
                    raise XmlError(f"elements nested deeper than {MAX_DEPTH}")
            else:
                depth -= 1
        root = builder.close()
    except DefusedXmlException as exc:
        raise XmlError(f"forbidden XML construct: {exc}") from exc
    except ET.ParseError as exc:
        raise XmlError(f"not well-formed XML: {exc}") from exc
    return Document(root, tuple(prefixes))


def split(tag: str) -> tuple[str, str]:
    """Return ``(uri, local)`` for an ElementTree name like ``{uri}local``."""
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return "", tag


class _Prefixes:
    """Chooses one prefix per namespace URI: the document's own first, then our defaults."""

    def __init__(self, declared: Iterable[tuple[str, str]], preferred: Mapping[str, str]) -> None:
        self._by_uri: dict[str, str] = {NS_XML: "xml"}
        taken = {"xml", "xmlns"}
        for prefix, uri in [*((p, u) for u, p in preferred.items()), *declared]:
            if prefix and prefix not in taken and uri not in self._by_uri:
                self._by_uri[uri] = prefix
                taken.add(prefix)
        self._taken = taken

    def of(self, uri: str) -> str:
        if uri not in self._by_uri:
            number = 0
            while f"ns{number}" in self._taken:
                number += 1
            self._by_uri[uri] = f"ns{number}"
            self._taken.add(f"ns{number}")
        return self._by_uri[uri]


def escape_text(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;")  # a parser would turn a raw CR into LF


def _escape_attribute(text: str) -> str:
    text = escape_text(text).replace('"', "&quot;")
    return text.replace("\n", "&#10;").replace("\t", "&#9;")


def serialize(
    root: ET.Element,
    declared: Iterable[tuple[str, str]] = (),
    preferred: Mapping[str, str] | None = None,
    *,
    scope_tags: frozenset[str] = frozenset(),
) -> str:
    """Return ``root`` as XML text, declaring each namespace where it is first needed.

    ``declared`` are the (prefix, uri) pairs the source document used, so foreign prefixes
    survive a rewrite; ``preferred`` gives prefixes for namespaces we add. An element whose
    tag is in ``scope_tags`` (``rdf:Description``) declares every namespace its subtree
    uses, which is where XMP writers conventionally put them.
    """
    prefixes = _Prefixes(declared, preferred or {})
    out: list[str] = []
    _write(root, prefixes, frozenset({NS_XML}), scope_tags, out)
    return "".join(out)


def _names_in(element: ET.Element, deep: bool) -> list[str]:
    elements = element.iter() if deep else [element]
    uris: list[str] = []
    for node in elements:
        if not isinstance(node.tag, str):
            continue
        for name in (node.tag, *node.attrib):
            uri, _ = split(name)
            if uri and uri not in uris:
                uris.append(uri)
    return uris


def _write(
    element: ET.Element,
    prefixes: _Prefixes,
    in_scope: frozenset[str],
    scope_tags: frozenset[str],
    out: list[str],
) -> None:
    if element.tag is ET.Comment:
        out.append(f"<!--{element.text or ''}-->")
    elif element.tag is ET.ProcessingInstruction:
        out.append(f"<?{element.text or ''}?>")
    else:
        needed = [u for u in _names_in(element, element.tag in scope_tags) if u not in in_scope]
        in_scope = in_scope | set(needed)

        def qualified(name: str) -> str:
            uri, local = split(name)
            return f"{prefixes.of(uri)}:{local}" if uri else local

        tag = qualified(element.tag)
        out.append(f"<{tag}")
        for uri in needed:
            out.append(f' xmlns:{prefixes.of(uri)}="{_escape_attribute(uri)}"')
        for name, value in element.attrib.items():
            out.append(f' {qualified(name)}="{_escape_attribute(value)}"')
        if element.text is None and len(element) == 0:
            out.append("/>")
        else:
            out.append(">" + escape_text(element.text or ""))
            for child in element:
                _write(child, prefixes, in_scope, scope_tags, out)
            out.append(f"</{tag}>")
    if element.tail:
        out.append(escape_text(element.tail))
