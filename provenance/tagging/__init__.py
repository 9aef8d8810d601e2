"""Write and read the portable provenance record: XMP sidecar (default) or embedded XMP."""

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
