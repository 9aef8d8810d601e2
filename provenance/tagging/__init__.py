"""Write and read the portable provenance record: XMP sidecar (default) or embedded XMP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance import lazy_exports

if TYPE_CHECKING:
    from provenance.tagging.embed import can_embed, embed_xmp, read_embedded
    from provenance.tagging.read import read_tag
    from provenance.tagging.record import (
        DIGITAL_SOURCE_TYPES,
        NS_IPTC_EXT,
        NS_PROVENANCE,
        SCHEMA_VERSION,
        TagRecord,
        digital_source_type_for,
    )
    from provenance.tagging.sidecar import is_own_sidecar, read_sidecar, sidecar_path, write_sidecar

#: Where each name lives: loaded on first use, so that importing one submodule (the
#: scan needs only a few) does not load the others.
_EXPORTS = {
    "can_embed": "provenance.tagging.embed",
    "embed_xmp": "provenance.tagging.embed",
    "read_embedded": "provenance.tagging.embed",
    "read_tag": "provenance.tagging.read",
    "DIGITAL_SOURCE_TYPES": "provenance.tagging.record",
    "NS_IPTC_EXT": "provenance.tagging.record",
    "NS_PROVENANCE": "provenance.tagging.record",
    "SCHEMA_VERSION": "provenance.tagging.record",
    "TagRecord": "provenance.tagging.record",
    "digital_source_type_for": "provenance.tagging.record",
    "is_own_sidecar": "provenance.tagging.sidecar",
    "read_sidecar": "provenance.tagging.sidecar",
    "sidecar_path": "provenance.tagging.sidecar",
    "write_sidecar": "provenance.tagging.sidecar",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "DIGITAL_SOURCE_TYPES",
    "NS_IPTC_EXT",
    "NS_PROVENANCE",
    "SCHEMA_VERSION",
    "TagRecord",
    "can_embed",
    "digital_source_type_for",
    "embed_xmp",
    "is_own_sidecar",
    "read_embedded",
    "read_sidecar",
    "read_tag",
    "sidecar_path",
    "write_sidecar",
]
