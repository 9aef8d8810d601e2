"""`provenance restore`: put a quarantined file back where it was, never over another file."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from provenance.audit import Actor
from provenance.catalog import Catalog, JournalEntry, Tx
from provenance.catalog.lifecycle import journal_entry
from provenance.catalog.locks import root_locks
from provenance.config import Settings
from provenance.errors import ConfinementError, PurgeError, Refusal
from provenance.files.confined import Folder, OpenFile, move
from provenance.lifecycle.states import Status
from provenance.lifecycle.states import move as move_to
from provenance.retention.files import (
    BeforeAct,
    OpenRoots,
    crash_point,
    find_file,
    find_sidecar,
    sidecar_of,
)

log = logging.getLogger(__name__)

#: What the audit event says of a file whose bytes changed in quarantine (its ``after`` also
#: holds ``changed_in_quarantine``; the command says it in its own words).
_CHANGED_NOTE = "; its bytes changed in quarantine (the next scan records the change)"


@dataclass(frozen=True)
class Restored:
    """A file put back (or, on a dry run, that would be): its path, the quarantined copy it
    came from, and whether its bytes changed in quarantine (the next scan records that)."""

    path: str
    source: str
    changed: bool
    dry_run: bool = False


def finish_restore(
    tx: Tx,
    entry: JournalEntry,
    actor: Actor,
    now: datetime,
    note: str = "",
    *,
    changed: bool = False,
) -> None:
    """Record a file as back at its path: flagged again with a fresh grace, or still held;
    ``changed``: its bytes changed in quarantine (the event says so, and the next scan records
    the change)."""
    asset = tx.asset_by_id(entry.asset_id)
    assert asset is not None
    to = Status.HELD if asset.status == Status.HELD else Status.FLAGGED  # a hold wins
    if to is Status.FLAGGED:
        asset.flagged_at = now
    asset.quarantine_path, asset.quarantined_at, asset.present = None, None, True
    entry.state, entry.finished_at = "done", now
    move_to(
        tx,
        asset,
        to,
        actor,
        now,
        action="restored",
        reason="restored from quarantine" + (_CHANGED_NOTE if changed else "") + note,
        before={"quarantine_path": entry.source},
        after={"path": asset.path, **({"changed_in_quarantine": True} if changed else {})},
        journaled=True,
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
    before_act: BeforeAct | None = None,
) -> Restored:
    """Move a quarantined asset's file (and sidecar) back; return what was restored.

    A file whose bytes changed in quarantine is restored too (the next scan records the
    change). Raises PurgeError when the asset is not in quarantine, its root is offline,
    the file cannot be reached inside its root without following a link, or a file now
    exists at its original path (it is never overwritten).
    """
    with catalog.read() as tx:
        asset = tx.asset_by_id(asset_id)
        if asset is None:
            raise PurgeError(f"asset {asset_id} is not in the catalog")
        if asset.quarantine_path is None or asset.status not in (Status.QUARANTINED, Status.HELD):
            raise PurgeError(f"{asset.path}: not in quarantine (status {asset.status})")
        path, quarantined, content_hash = asset.path, asset.quarantine_path, asset.content_hash
        status, size, root = asset.status, asset.size, asset.root
    with OpenRoots(settings) as roots:
        held = roots.enter_context(root_locks(catalog, [root], settings.state_path))
        if not held and not dry_run:
            raise PurgeError(f"{path}: a sweep is running under {root}; restore it once it ends")
        try:
            top = roots.get(root)
            if top.parts(quarantined)[0] != settings.retention.quarantine_dir:
                raise ConfinementError(
                    quarantined, "not inside the root's quarantine folder", Refusal.OUTSIDE
                )
            file = find_file(roots, root, quarantined, None)
            names = top.parts(path)
        except ConfinementError as exc:
            raise PurgeError(f"{path}: cannot restore from {quarantined}: {exc.reason}") from exc
        folder: Folder | None = None  # a folder gone since is made again by the restore
        try:
            folder = roots.enter_context(top.folder(names[:-1]))
        except ConfinementError as exc:
            if exc.kind is not Refusal.NOT_FOUND:
                raise PurgeError(f"{path}: cannot restore to it: {exc.reason}") from exc
        name = names[-1]
        if folder is not None and folder.lstat(name) is not None:
            raise PurgeError(
                f"{path}: a file now exists at that path; not overwritten "
                "(move it away, then restore again)"
            )
        changed = file.content_hash() != content_hash
        sidecar = find_sidecar(roots, file, settings.tagging.sidecar_pattern, content_hash)
        sidecar_back = sidecar_of(Path(path), settings.tagging.sidecar_pattern)
        if sidecar is not None and folder is not None and folder.lstat(sidecar_back.name):
            sidecar = None  # never over a sidecar now beside the file
        if dry_run:
            return Restored(path, quarantined, changed, dry_run=True)
        with catalog.write() as tx:
            current = tx.asset_by_id(asset_id)
            if (
                current is None
                or current.status != status
                or current.quarantine_path != quarantined
            ):
                raise PurgeError(f"{path}: changed while restoring; try again")
            entry = JournalEntry(
                asset_id=asset_id,
                operation="restore",
                source=quarantined,
                target=path,
                sidecar_source=str(sidecar.path) if sidecar else None,
                sidecar_target=str(sidecar_back) if sidecar else None,
                content_hash=content_hash,
                size=size,
                reason="restore",
                created_at=now,
            )
            tx.add(entry)
            tx.flush()
            entry_id = entry.id
        crash_point("after-journal")
        if before_act is not None:
            before_act(quarantined)
        try:
            if folder is None:
                folder = roots.enter_context(top.folder(names[:-1], create=True))
            move(file, folder, name)
        except (ConfinementError, OSError) as exc:
            with catalog.write() as tx:
                done = journal_entry(tx, entry_id)  # type: ignore[arg-type]
                assert done is not None
                done.state, done.finished_at = "rolled-back", now
            if isinstance(exc, FileExistsError):
                raise PurgeError(
                    f"{path}: a file now exists at that path; not overwritten "
                    "(move it away, then restore again)"
                ) from exc
            reason = exc.reason if isinstance(exc, ConfinementError) else str(exc)
            raise PurgeError(f"{path}: cannot restore: {reason}") from exc
        if sidecar is not None:
            _move_sidecar(sidecar, folder, sidecar_back.name, path)
        crash_point("after-rename")
    with catalog.write() as tx:
        done = journal_entry(tx, entry_id)  # type: ignore[arg-type]
        assert done is not None
        finish_restore(tx, done, actor, now, changed=changed)
    return Restored(path, quarantined, changed)


def _move_sidecar(sidecar: OpenFile, folder: Folder, name: str, path: str) -> None:
    try:
        move(sidecar, folder, name)
    except (ConfinementError, OSError) as exc:
        log.warning("sidecar of %s stays in quarantine: %s", path, exc)
