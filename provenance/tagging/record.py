"""The portable provenance record a tag carries, and the XMP names it is written under."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from provenance import __version__

#: Our XMP namespace; documented in ``schema/xmp-namespace.md``.
NS_PROVENANCE = "http://ns.provenance-tool.org/xmp/1.0/"
PREFIX_PROVENANCE = "provenance"
#: Version of the set of properties in our namespace (not of the tool).
SCHEMA_VERSION = "1"

#: IPTC Photo Metadata Extension namespace (``Iptc4xmpExt:DigitalSourceType``).
NS_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"

_IPTC_CODES = "http://cv.iptc.org/newscodes/digitalsourcetype/"
#: IPTC digital source types for the two AI classes a tag is written for.
DIGITAL_SOURCE_TYPES = {
    "ai": _IPTC_CODES + "trainedAlgorithmicMedia",
    "partial": _IPTC_CODES + "compositeWithTrainedAlgorithmicMedia",
}

AI_CLASSES = ("ai", "partial")


@dataclass(frozen=True)
class TagRecord:
    """What a tag says about one AI asset: a portable copy of its catalog row.

    ``content_hash`` looks like ``"blake3:9f1c..."``; ``first_seen`` and ``deadline`` are
    aware datetimes (written in UTC). ``signals`` are the kinds of marks found, e.g.
    ``("c2pa", "sd-text")``. Raises ``ValueError`` for an unknown ``ai_class`` or a naive
    datetime, since either would be written wrongly and read back differently.
    """

    asset_uid: str
    ai_class: str
    status: str
    content_hash: str
    first_seen: datetime
    deadline: datetime | None
    generator: str | None
    model: str | None
    digital_source_type: str
    signals: tuple[str, ...] = ()
    approval_ref: str | None = None
    tool_version: str = __version__

    def __post_init__(self) -> None:
        if self.ai_class not in AI_CLASSES:
            raise ValueError(f"ai_class must be one of {AI_CLASSES} (got {self.ai_class!r})")
        for name in ("first_seen", "deadline"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"{name} must be an aware datetime (got {value!r})")
        if not isinstance(self.signals, tuple):
            object.__setattr__(self, "signals", tuple(self.signals))


def digital_source_type_for(ai_class: str) -> str:
    """Return the IPTC DigitalSourceType URI for ``"ai"`` or ``"partial"``."""
    return DIGITAL_SOURCE_TYPES[ai_class]
