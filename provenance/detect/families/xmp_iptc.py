"""The XMP/IPTC family: an IPTC digital source type, or a known generator named in a tool
field of an XMP packet (embedded, or in a sidecar)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from provenance.detect.formats.xmp import IPTC_EXT, XmpProperties
from provenance.detect.reading import Found, Reading
from provenance.detect.signals import Signal
from provenance.detect.vocab import classify_source_type, find_generator, source_type_term

log = logging.getLogger(__name__)

_XMP = "http://ns.adobe.com/xap/1.0/"
_PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
_TIFF = "http://ns.adobe.com/tiff/1.0/"
_DCTERMS = "http://purl.org/dc/terms/"

DIGITAL_SOURCE_TYPE = f"{{{IPTC_EXT}}}DigitalSourceType"
#: Tool-name fields; a known generator named here is an AI mark.
_TOOL_FIELDS = (
    f"{{{_XMP}}}CreatorTool",
    f"{{{_TIFF}}}Software",
    f"{{{_PHOTOSHOP}}}Credit",
    f"{{{IPTC_EXT}}}AISystemUsed",
)


def read(reading: Reading) -> Found:
    """The family's entry point: each XMP packet embedded in the file (parsed once, by the
    reading; a packet that cannot be parsed is this family's problem)."""
    signals: list[Signal] = []
    problems: list[str] = []
    for block, properties, trouble in reading.xmp:
        problems.extend(trouble)
        signals.extend(read_xmp_signals(properties, block.source))
    return signals, problems


def read_xmp_signals(properties: XmpProperties, source: str) -> list[Signal]:
    """Return the signals an XMP packet's properties carry (kind ``xmp-iptc``).

    ``Iptc4xmpExt:DigitalSourceType`` counts only with a value from the IPTC/C2PA vocabulary
    (an unknown URI gives a ``none`` signal that records it); a tool field naming a known
    generator (``xmp:CreatorTool`` "Draw Things", ``photoshop:Credit`` "Made with Google
    AI") is an AI mark of lower confidence.
    """
    signals = []
    generator = None
    for value in _all(properties, _TOOL_FIELDS):
        generator = find_generator(value)
        if generator is not None:
            break
    for value in properties.get(DIGITAL_SOURCE_TYPE, ()):
        ai_class = classify_source_type(value)
        signals.append(
            Signal(
                kind="xmp-iptc",
                ai_class=ai_class or "none",
                generator=generator.name if generator else None,
                family=generator.family if generator else None,
                parameters={"digital_source_type": source_type_term(value) or value},
                confidence=0.95 if ai_class in ("ai", "partial") else 0.0,
                source=f"{source} Iptc4xmpExt:DigitalSourceType",
                detail={} if ai_class else {"unknown_digital_source_type": value},
            )
        )
    for url in properties.get(f"{{{_DCTERMS}}}provenance", ())[:1]:
        # A C2PA manifest kept on a server: noted, never fetched (detection is offline).
        signals.append(
            Signal(
                kind="c2pa",
                ai_class="none",
                confidence=0.0,
                source=f"{source} dcterms:provenance",
                detail={"remote_manifest": url, "fetched": False},
            )
        )
    if generator is not None and not any(signal.ai_class != "none" for signal in signals):
        signals.append(
            Signal(
                kind="xmp-iptc",
                ai_class="ai",
                generator=generator.name,
                family=generator.family,
                confidence=0.8,
                source=f"{source} tool field",
            )
        )
    return signals


def _all(properties: XmpProperties, names: Iterable[str]) -> list[str]:
    return [value for name in names for value in properties.get(name, ())]
