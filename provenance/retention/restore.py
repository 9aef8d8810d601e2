"""`provenance restore`: put a quarantined file back where it was, never over another file."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from provenance.audit import Actor
from provenance.catalog import Catalog, JournalEntry, Tx
from provenance.catalog.lifecycle import journal_entry
from provenance.config import Settings
from provenance.errors import PurgeError
from provenance.retention.files import (
    crash_point,
    is_inside,
    move_back,
    root_of,
    sidecar_of,
    unsafe_reason,
)

log = logging.getLogger(__name__)


def finish_restore(
    tx: Tx, entry: JournalEntry, actor: Actor, now: datetime, note: str = ""
) -> None:
    """Record a file as back at its path: flagged again with a fresh grace, or still held."""
    asset = tx.asset_by_id(entry.asset_id)
    assert asset is not None
    before = asset.status
    if asset.status != "held":
        asset.status, asset.flagged_at = "flagged", now
    asset.quarantine_path, asset.quarantined_at, asset.present = None, None, True
    entry.state, entry.finished_at = "done", now
    tx.record(
        actor,
        "restored",
        now,
        asset=asset,
        reason="restored from quarantine" + note,
        before={"status": before, "quarantine_path": entry.source},
        after={"status": asset.status, "path": asset.path},
    )
    log.info(
        "restored %s from %s",
        asset.path,
        entry.source,
        extra={"event": "restored", "asset": asset.uid, "path": asset.path, "root": asset.root},
    )


def restore(
    catalog: Catalog,
    settings: Settings,
    asset_id: int,
    actor: Actor,
    now: datetime,
    *,
    dry_run: bool = False,
) -> str:
    """Move a quarantined asset's file (and sidecar) back; return the one-line summary.

    Raises PurgeError when the asset is not in quarantine, its root is offline, or a file
    now exists at its original path (it is never overwritten).
    """
    with catalog.read() as tx:
        asset = tx.asset_by_id(asset_id)
        if asset is None:
            raise PurgeError(f"asset {asset_id} is not in the catalog")
        if asset.quarantine_path is None or asset.status not in ("quarantined", "held"):
            raise PurgeError(f"{asset.path}: not in quarantine (status {asset.status})")
        path, quarantined, content_hash = asset.path, asset.quarantine_path, asset.content_hash
        status, size = asset.status, asset.size
    root = root_of(settings, asset.root)
    problem = unsafe_reason(Path(quarantined), root, content_hash)
    if problem is None and root is not None and not is_inside(Path(path), root.path):
        problem = "its original path is outside its root once links are resolved"
    if problem is not None:
        raise PurgeError(f"{path}: cannot restore from {quarantined}: {problem}")
    if os.path.lexists(path):
        raise PurgeError(
            f"{path}: a file now exists at that path; not overwritten "
            "(move it away, then restore again)"
        )
    pattern = settings.tagging.sidecar_pattern
    sidecar = sidecar_of(Path(quarantined), pattern)
    sidecar_back = sidecar_of(Path(path), pattern)
    has_sidecar = sidecar.is_file() and not os.path.lexists(sidecar_back)
    if dry_run:
        return f"dry run: would restore {path} (from {quarantined})"
    with catalog.write() as tx:
        current = tx.asset_by_id(asset_id)
        if current is None or current.status != status or current.quarantine_path != quarantined:
            raise PurgeError(f"{path}: changed while restoring; try again")
        entry = JournalEntry(
            asset_id=asset_id,
            operation="restore",
            source=quarantined,
            target=path,
            sidecar_source=str(sidecar) if has_sidecar else None,
            sidecar_target=str(sidecar_back) if has_sidecar else None,
            content_hash=content_hash,
            size=size,
            reason="restore",
            created_at=now,
        )
        tx.add(entry)
        tx.flush()
        entry_id = entry.id
    crash_point("after-journal")
    try:
        move_back(Path(quarantined), Path(path))
    except OSError as exc:
        with catalog.write() as tx:
            done = journal_entry(tx, entry_id)  # type: ignore[arg-type]
            assert done is not None
            done.state, done.finished_at = "rolled-back", now
        raise PurgeError(f"{path}: cannot restore: {exc}") from exc
    if has_sidecar:
        try:
            move_back(sidecar, sidecar_back)
        except OSError as exc:
            log.warning("sidecar of %s stays in quarantine: %s", path, exc)
    crash_point("after-rename")
    with catalog.write() as tx:
        done = journal_entry(tx, entry_id)  # type: ignore[arg-type]
        assert done is not None
        finish_restore(tx, done, actor, now)
    return f"restored {path}"
