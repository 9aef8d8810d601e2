"""Finish or undo file moves and deletes that a crash interrupted (DESIGN rule 4).

A journal entry still "planned" at start-up means the process died between journaling a
step and recording it done. The disk says how far it got: a step whose bytes moved is
completed in the catalog; a step whose bytes did not move is rolled back. Either way the
file exists exactly once, and the catalog says where.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from provenance.audit import Actor
from provenance.catalog import Catalog, JournalEntry, Tx
from provenance.catalog.lifecycle import journal_entry, open_journal_entries
from provenance.hashing import hash_file
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


def _exists(path: str | None) -> bool:
    return path is not None and os.path.lexists(path)


def _same_file(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _hash_is(path: str, expected: str | None) -> bool:
    try:
        return expected is None or hash_file(Path(path)) == expected
    except OSError:
        return False


def _move_sidecar(source: str | None, target: str | None) -> None:
    """Bring a sidecar along to where its file ended up, when it was left behind."""
    if source and target and _exists(source) and not _exists(target):
        try:
            os.rename(source, target)
        except OSError as exc:
            log.warning("sidecar %s stays in place: %s", source, exc)


def _recover(tx: Tx, entry: JournalEntry, actor: Actor, now: datetime) -> tuple[str, str]:
    source, target = entry.source, entry.target
    if entry.operation == "purge":
        if _exists(source):
            roll_back(tx, entry.id, now, "file still in quarantine")  # type: ignore[arg-type]
            return "rolled back", "file still in quarantine; the next sweep retries"
        if entry.sidecar_source and _exists(entry.sidecar_source):
            os.unlink(entry.sidecar_source)
        finish_purge(tx, entry, actor, now, NOTE)
        return "completed", "bytes were deleted"
    assert target is not None
    moved = _exists(target) and _hash_is(target, entry.content_hash)
    if moved and _exists(source) and _same_file(source, target):
        os.unlink(source)  # a hard-link move stopped between link and unlink
    if moved:
        _move_sidecar(entry.sidecar_source, entry.sidecar_target)
        if entry.operation == "quarantine":
            finish_quarantine(tx, entry, actor, now, NOTE)
        else:
            finish_restore(tx, entry, actor, now, NOTE)
        return "completed", f"file is at {target}"
    _move_sidecar(entry.sidecar_target, entry.sidecar_source)
    if _exists(source):
        roll_back(tx, entry.id, now, "file never moved")  # type: ignore[arg-type]
        return "rolled back", f"file is still at {source}"
    roll_back(tx, entry.id, now, "file found at neither place")  # type: ignore[arg-type]
    log.error(
        "journal %d: %s found at neither %s nor %s", entry.id, entry.operation, source, target
    )
    return "rolled back", "file found at neither place; re-scan"


def reconcile_journal(catalog: Catalog, actor: Actor, now: datetime) -> list[Recovery]:
    """Complete or roll back every interrupted step; return what was done (one per step).

    Called before every sweep and at daemon start-up. Each step is settled in its own
    transaction, so one that cannot be settled does not hold back the others.
    """
    with catalog.read() as tx:
        pending = [entry.id for entry in open_journal_entries(tx)]
    recoveries = []
    for entry_id in pending:
        with catalog.write() as tx:
            entry = journal_entry(tx, entry_id)  # type: ignore[arg-type]
            if entry is None or entry.state != "planned":
                continue
            outcome, detail = _recover(tx, entry, actor, now)
            recoveries.append(Recovery(entry_id, entry.operation, entry.source, outcome, detail))  # type: ignore[arg-type]
        log.warning("interrupted %s of %s %s: %s", entry.operation, entry.source, outcome, detail)
    return recoveries
