"""Finish or undo file moves and deletes that a crash interrupted (DESIGN rule 4).

A journal entry still "planned" means the process died between journaling a step and
recording it done. The disk says how far it got: a step whose bytes moved is completed in
the catalog; a step whose bytes did not move is rolled back. Either way the file exists
exactly once, and the catalog says where. The disk is only asked while the step's root is
online (and, in a sweep, while this process holds the root's sweep lock): an entry under
an offline root stays pending, and shows as waiting, until the root is back. Every look
and every change goes through ``provenance.files.confined``, never following a link.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from provenance.audit import Actor
from provenance.catalog import Catalog, JournalEntry, Tx
from provenance.catalog.lifecycle import journal_entry, open_journal_entries
from provenance.catalog.locks import root_locks
from provenance.config import Settings
from provenance.errors import ConfinementError, Refusal
from provenance.files.confined import Root, move, remove, unlink
from provenance.files.roots import check_root
from provenance.retention.files import OpenRoots, root_of
from provenance.retention.purge import finish_purge, finish_quarantine, roll_back
from provenance.retention.restore import finish_restore

log = logging.getLogger(__name__)

NOTE = " (completed after an interrupted run)"


@dataclass(frozen=True)
class Recovery:
    """What reconcile did with one interrupted step."""

    entry_id: int
    operation: str
    path: str
    outcome: str  # "completed" | "rolled back"
    detail: str


@dataclass(frozen=True)
class Waiting:
    """An interrupted step left pending: its root is offline, or another sweep holds it."""

    entry_id: int
    operation: str
    path: str
    root: str
    reason: str
    #: When the step was planned, where it was taking the file, and the rule it applied.
    since: datetime | None = None
    target: str | None = None
    rule: str = ""


def _lstat(top: Root, path: str | None) -> os.stat_result | None:
    """The entry at ``path`` as it is, None if absent; raises ConfinementError when a link
    or something else that is not a folder stands on the way (the step then waits)."""
    if path is None:
        return None
    try:
        folder, name = top.locate(path)
    except ConfinementError as exc:
        if exc.kind is Refusal.NOT_FOUND:
            return None
        raise
    with folder:
        return folder.lstat(name)


def _hash_is(top: Root, path: str, expected: str | None) -> bool:
    try:
        with top.open_file(path) as file, file.folder:
            return expected is None or file.content_hash() == expected
    except (ConfinementError, OSError):
        return False


def _move_sidecar(top: Root, source: str | None, target: str | None) -> None:
    """Bring a sidecar along to where its file ended up, when it was left behind."""
    if not source or not target or _lstat(top, source) is None or _lstat(top, target):
        return
    try:
        with top.open_file(source) as sidecar, sidecar.folder:
            names = top.parts(target)
            with top.folder(names[:-1], create=True) as folder:
                move(sidecar, folder, names[-1])
    except (ConfinementError, OSError) as exc:
        log.warning("sidecar %s stays in place: %s", source, exc)


def _unlink_link_of(top: Root, source: str, target: str) -> None:
    """Delete ``source`` when it is a second name of ``target`` (a move by hard link that
    stopped between the link and the unlink)."""
    first, second = _lstat(top, source), _lstat(top, target)
    if first is None or second is None:
        return
    if (first.st_dev, first.st_ino) != (second.st_dev, second.st_ino):
        return
    with top.open_file(source) as file, file.folder:
        unlink(file)


def _recover(
    tx: Tx, entry: JournalEntry, top: Root, actor: Actor, now: datetime
) -> tuple[str, str]:
    source, target = entry.source, entry.target
    if entry.operation == "purge":
        if _lstat(top, source) is not None:
            roll_back(tx, entry.id, now, "file still in quarantine")  # type: ignore[arg-type]
            return "rolled back", "file still in quarantine; the next sweep retries"
        if entry.sidecar_source and _lstat(top, entry.sidecar_source) is not None:
            folder, name = top.locate(entry.sidecar_source)
            with folder:
                remove(folder, name)
        finish_purge(tx, entry, actor, now, NOTE, links_left=None)
        return "completed", "bytes were deleted"
    assert target is not None
    moved = _lstat(top, target) is not None and _hash_is(top, target, entry.content_hash)
    if moved:
        _unlink_link_of(top, source, target)
        _move_sidecar(top, entry.sidecar_source, entry.sidecar_target)
        if entry.operation == "quarantine":
            finish_quarantine(tx, entry, actor, now, NOTE)
        else:
            finish_restore(tx, entry, actor, now, NOTE)
        return "completed", f"file is at {target}"
    _move_sidecar(top, entry.sidecar_target, entry.sidecar_source)
    if _lstat(top, source) is not None:
        roll_back(tx, entry.id, now, "file never moved")  # type: ignore[arg-type]
        return "rolled back", f"file is still at {source}"
    roll_back(tx, entry.id, now, "file found at neither place")  # type: ignore[arg-type]
    log.error(
        "journal %d: %s found at neither %s nor %s", entry.id, entry.operation, source, target
    )
    return "rolled back", "file found at neither place; re-scan"


def _root_of_entry(tx: Tx, entry: JournalEntry) -> str:
    asset = tx.asset_by_id(entry.asset_id)
    return asset.root if asset is not None else ""


def reconcile_journal(
    catalog: Catalog,
    settings: Settings,
    actor: Actor,
    now: datetime,
    *,
    roots: Collection[str] | None = None,
) -> tuple[list[Recovery], list[Waiting]]:
    """Complete or roll back every interrupted step whose root is online (and in ``roots``,
    the roots whose sweep lock the caller holds, when given); return what was done (one per
    step) and what still waits, with why.

    Called before every sweep and at daemon start-up. Each step is settled in its own
    transaction, so one that cannot be settled does not hold back the others.
    """
    with catalog.read() as tx:
        pending = [(entry.id or 0, _root_of_entry(tx, entry)) for entry in open_journal_entries(tx)]
    recoveries: list[Recovery] = []
    held_back: dict[int, str] = {}
    with OpenRoots(settings) as opened:
        for entry_id, root in pending:
            why = _why_waiting(settings, root, roots)
            if why is not None:
                held_back[entry_id] = why
                continue
            try:
                top = opened.get(root)
                with catalog.write() as tx:
                    entry = journal_entry(tx, entry_id)
                    if entry is None or entry.state != "planned":
                        continue
                    outcome, detail = _recover(tx, entry, top, actor, now)
                    operation, path = entry.operation, entry.source
            except (ConfinementError, OSError) as exc:
                held_back[entry_id] = f"cannot be settled yet: {exc}"
                log.warning("interrupted step %d waits: %s", entry_id, exc)
                continue
            recoveries.append(Recovery(entry_id, operation, path, outcome, detail))
            log.warning("interrupted %s of %s %s: %s", operation, path, outcome, detail)
    return recoveries, waiting_steps(catalog, settings, held_back)


def _why_waiting(settings: Settings, root: str, held: Collection[str] | None) -> str | None:
    configured = root_of(settings, root)
    if configured is None:
        return f"its root {root} is not configured here"
    health = check_root(configured)
    if not health.online:
        return f"root offline: {health.reason}"
    if held is not None and root not in held:
        return "another sweep is running under its root"
    return None


def waiting_steps(
    catalog: Catalog, settings: Settings, reasons: dict[int, str] | None = None
) -> list[Waiting]:
    """Return every interrupted step not settled yet, with why it waits.

    ``reasons`` gives the reason of steps a reconcile just held back; any other is judged
    by its root's health here (``provenance status`` and the report show these).
    """
    waiting = []
    with catalog.read() as tx:
        for entry in open_journal_entries(tx):
            root = _root_of_entry(tx, entry)
            reason = (reasons or {}).get(entry.id or 0) or _why_waiting(settings, root, None)
            waiting.append(
                Waiting(
                    entry.id or 0,
                    entry.operation,
                    entry.source,
                    root,
                    reason or "not settled yet: the next sweep settles it",
                    entry.created_at,
                    entry.target,
                    entry.rule,
                )
            )
    return waiting


def settle_interrupted(
    catalog: Catalog, settings: Settings, actor: Actor, now: datetime, roots: Collection[str] = ()
) -> tuple[list[Recovery], list[Waiting]]:
    """Settle the interrupted steps under ``roots`` (every online root when empty) whose
    sweep lock no other process holds: what the daemon does at start-up, before its first
    scan, and when a root comes back online."""
    wanted = [str(r.path) for r in settings.roots if not roots or str(r.path) in roots]
    online = [root for root in wanted if _why_waiting(settings, root, None) is None]
    with root_locks(catalog, online, settings.state_path) as held:
        return reconcile_journal(catalog, settings, actor, now, roots=held)
