"""Keep each AI asset's portable tag in step with its catalog record (sidecar, opt-in embedding)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from provenance.audit import Actor
from provenance.catalog import Asset, Catalog
from provenance.errors import ProvenanceError
from provenance.hashing import hash_file
from provenance.tagging import (
    TagRecord,
    can_embed,
    digital_source_type_for,
    embed_xmp,
    read_tag,
    write_sidecar,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TagOptions:
    """How tags are written: from ``[tagging]`` in the settings."""

    sidecar: bool = True
    sidecar_pattern: str = "{name}.xmp"
    embed_formats: tuple[str, ...] = ()


def tag_record(asset: Asset, approval_ref: str | None = None) -> TagRecord:
    """Return the portable copy of an AI asset's record, as written beside the file."""
    return TagRecord(
        asset_uid=asset.uid,
        ai_class=asset.ai_class if asset.ai_class in ("ai", "partial") else "ai",
        status=asset.status,
        content_hash=asset.content_hash or "",
        first_seen=asset.first_seen,
        deadline=asset.deadline,
        generator=asset.generator,
        model=asset.model,
        digital_source_type=digital_source_type_for(
            asset.ai_class if asset.ai_class in ("ai", "partial") else "ai"
        ),
        approval_ref=approval_ref,
    )


def read_existing_tag(path: str, options: TagOptions) -> TagRecord | None:
    """Return the tag beside (or in) ``path``; a tag that cannot be read is logged and ignored."""
    try:
        return read_tag(Path(path), options.sidecar_pattern)
    except (ProvenanceError, OSError) as exc:
        log.warning("ignored the tag of %s: %s", path, exc)
        return None


def write_tags(
    assets: Iterable[Asset], options: TagOptions, catalog: Catalog, actor: Actor, now: datetime
) -> int:
    """Write the tag of every AI asset given; return how many were written.

    A tag that cannot be written is logged and skipped: the catalog stays the source of truth.
    """
    written = 0
    if not options.sidecar:
        return written
    for asset in assets:
        if not asset.is_ai:
            continue
        path = Path(asset.path)
        try:
            write_sidecar(path, tag_record(asset), options.sidecar_pattern)
            written += 1
            if options.embed_formats:
                _embed(asset, path, options, catalog, actor, now)
        except (ProvenanceError, OSError) as exc:
            log.warning("cannot write tag for %s: %s", asset.path, exc)
    return written


def _embed(
    asset: Asset, path: Path, options: TagOptions, catalog: Catalog, actor: Actor, now: datetime
) -> None:
    allowed, kind = can_embed(path)
    if not allowed or kind not in options.embed_formats:
        if not allowed:
            log.debug("not embedding into %s: %s", path, kind)
        return
    embed_xmp(path, tag_record(asset))
    # The bytes changed: record the new identity so the file is not seen as modified
    # (and, once cleared, does not lose its clearance to our own tag).
    info = path.stat()
    new_hash = hash_file(path)
    with catalog.write() as tx:
        current = tx.asset_by_path(asset.path)
        if current is None:
            return
        before = {"content_hash": current.content_hash}
        current.content_hash, current.size = new_hash, info.st_size
        current.mtime_ns, current.inode = info.st_mtime_ns, info.st_ino
        tx.record(
            actor,
            "embedded",
            now,
            asset=current,
            reason="tag embedded as XMP",
            before=before,
            after={"content_hash": new_hash},
        )
