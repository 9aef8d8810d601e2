"""Acting on sweep decisions that touch bytes: quarantine (rename) and purge (delete).

Each file goes through the same four steps, so a crash at any point is recoverable
(``provenance.retention.journal.reconcile_journal``):

1. re-check on disk: root online, inside the root with links resolved, not a link,
   content hash unchanged since the sweep was planned;
2. in one transaction: re-check the catalog (same state, not cleared, not held, same
   hash) and journal the step as "planned";
3. rename or delete the file and its sidecar;
4. in one transaction: update the asset, mark the journal entry "done", write the event.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from provenance.audit import Actor
from provenance.catalog import Asset, Catalog, Hold, JournalEntry, Tx
from provenance.catalog.lifecycle import holds_covering, journal_entry
from provenance.config import Settings
from provenance.retention.files import (
    crash_point,
    move_into,
    quarantine_folder,
    quarantine_problem,
    quarantine_target,
    root_of,
    sidecar_of,
    unsafe_reason,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedStep:
    """One asset's planned transition, with the facts it was planned on."""

    asset_id: int
    path: str
    root: str
    status: str
    content_hash: str | None
    size: int
    action: str
    new_status: str
    rule: str | None
    reason: str
    deadline: datetime | None = None
    quarantine_path: str | None = None
    #: When the step is due (``sweep --as-of`` lists steps ahead of time).
    due: datetime | None = None


@dataclass(frozen=True)
class StepResult:
    """What became of one planned step: done, or skipped with the reason."""

    step: PlannedStep
    done: bool
    reason: str = ""


def recheck_in_catalog(tx: Tx, step: PlannedStep) -> str | None:
    """Return why the catalog no longer allows ``step``, or None (DESIGN rule 2)."""
    asset = tx.asset_by_id(step.asset_id)
    return recheck_asset(asset, step, holds_covering(tx, asset.path) if asset else [])


def recheck_asset(asset: Asset | None, step: PlannedStep, holds: Sequence[Hold]) -> str | None:
    """``recheck_in_catalog`` on an asset already loaded, given the holds covering it."""
    if asset is None:
        return "no longer in the catalog"
    if asset.status != step.status:
        return f"now {asset.status} (was {step.status} when planned)"
    if asset.content_hash != step.content_hash:
        return "changed since planned; re-scan"
    if holds:
        return "under a legal hold"
    return None


def finish_quarantine(
    tx: Tx, entry: JournalEntry, actor: Actor, now: datetime, note: str = ""
) -> None:
    """Record a file as quarantined: asset state, journal entry done, one audit event."""
    asset = tx.asset_by_id(entry.asset_id)
    assert asset is not None
    before = asset.status
    asset.status, asset.quarantine_path, asset.quarantined_at = "quarantined", entry.target, now
    asset.present = False
    entry.state, entry.finished_at = "done", now
    tx.record(
        actor,
        "quarantined",
        now,
        asset=asset,
        reason=entry.reason + note,
        before={"status": before},
        after={"status": "quarantined", "quarantine_path": entry.target, "rule": entry.rule},
    )
    log.info(
        "quarantined %s -> %s (%s)",
        asset.path,
        entry.target,
        entry.reason,
        extra={"event": "quarantined", "asset": asset.uid, "path": asset.path, "root": asset.root},
    )


def finish_purge(tx: Tx, entry: JournalEntry, actor: Actor, now: datetime, note: str = "") -> None:
    """Record a file's bytes as deleted, with a purge receipt; the row and history stay."""
    asset = tx.asset_by_id(entry.asset_id)
    assert asset is not None
    before = asset.status
    asset.status, asset.purged_at = "purged", now
    entry.state, entry.finished_at = "done", now
    receipt = {
        "path": asset.path,
        "quarantine_path": entry.source,
        "content_hash": entry.content_hash,
        "size": entry.size,
        "rule": entry.rule,
        "by": f"{actor.user}@{actor.host}",
        "at": now.isoformat(),
    }
    tx.record(
        actor,
        "purged",
        now,
        asset=asset,
        reason=entry.reason + note,
        before={"status": before},
        after={"status": "purged", "receipt": receipt},
    )
    log.info(
        "purged %s (%s, %d bytes, rule %s)",
        asset.path,
        entry.content_hash,
        entry.size,
        entry.rule,
        extra={"event": "purged", "asset": asset.uid, "path": asset.path, "root": asset.root},
    )


def roll_back(tx: Tx, entry_id: int, now: datetime, reason: str) -> None:
    entry = journal_entry(tx, entry_id)
    assert entry is not None
    entry.state, entry.finished_at = "rolled-back", now
    entry.reason = f"{entry.reason} [rolled back: {reason}]"


def _journal(
    tx: Tx,
    step: PlannedStep,
    operation: str,
    source: Path,
    target: Path | None,
    sidecar: Path | None,
    sidecar_target: Path | None,
    now: datetime,
) -> JournalEntry:
    entry = JournalEntry(
        asset_id=step.asset_id,
        operation=operation,
        source=str(source),
        target=str(target) if target else None,
        sidecar_source=str(sidecar) if sidecar else None,
        sidecar_target=str(sidecar_target) if sidecar_target else None,
        content_hash=step.content_hash,
        size=step.size,
        rule=step.rule or "",
        reason=step.reason,
        created_at=now,
    )
    tx.add(entry)
    return entry


def quarantine_files(
    catalog: Catalog, settings: Settings, steps: Sequence[PlannedStep], actor: Actor, now: datetime
) -> list[StepResult]:
    """Move each planned file (and its sidecar) into its root's quarantine folder."""
    results: list[StepResult] = []
    ready: list[tuple[PlannedStep, Path, Path | None, Path | None]] = []
    pattern = settings.tagging.sidecar_pattern
    for step in steps:
        root = root_of(settings, step.root)
        source = Path(step.path)
        problem = unsafe_reason(source, root, step.content_hash)
        if problem is None and root is not None:
            problem = quarantine_problem(settings, root, source)
        if problem is not None or root is None:
            results.append(StepResult(step, False, problem or "no root"))
            continue
        sidecar = sidecar_of(source, pattern)
        has_sidecar = sidecar.is_file() and not sidecar.is_symlink()
        target = quarantine_target(settings, root, step.path)
        ready.append(
            (
                step,
                target,
                sidecar if has_sidecar else None,
                sidecar_of(target, pattern) if has_sidecar else None,
            )
        )
    entries: list[tuple[PlannedStep, JournalEntry]] = []
    with catalog.write() as tx:
        for step, target, side, side_target in ready:
            problem = recheck_in_catalog(tx, step)
            if problem is not None:
                results.append(StepResult(step, False, problem))
                continue
            entry = _journal(
                tx, step, "quarantine", Path(step.path), target, side, side_target, now
            )
            entries.append((step, entry))
        tx.flush()
    crash_point("after-journal")
    moved, failed = [], []
    for step, entry in entries:
        top = quarantine_folder(settings, root_of(settings, step.root))  # type: ignore[arg-type]
        try:
            move_into(Path(entry.source), Path(entry.target or ""), top)
        except OSError as exc:
            failed.append((step, entry, str(exc)))
            continue
        if entry.sidecar_source and entry.sidecar_target:
            try:
                move_into(Path(entry.sidecar_source), Path(entry.sidecar_target), top)
            except OSError as exc:
                log.warning("sidecar of %s stays in place: %s", step.path, exc)
        moved.append((step, entry))
        crash_point("after-rename")
    return results + _settle(catalog, moved, failed, finish_quarantine, actor, now)


def _settle(
    catalog: Catalog,
    done: Sequence[tuple[PlannedStep, JournalEntry]],
    failed: Sequence[tuple[PlannedStep, JournalEntry, str]],
    finish: Callable[[Tx, JournalEntry, Actor, datetime], None],
    actor: Actor,
    now: datetime,
) -> list[StepResult]:
    """Close the journal after the file steps: finish what was done, roll back what failed."""
    results: list[StepResult] = []
    with catalog.write() as tx:
        for step, entry in done:
            current = journal_entry(tx, entry.id)  # type: ignore[arg-type]
            assert current is not None
            finish(tx, current, actor, now)
            results.append(StepResult(step, True))
        for step, entry, reason in failed:
            roll_back(tx, entry.id, now, reason)  # type: ignore[arg-type]
            results.append(StepResult(step, False, reason))
    return results


def purge_files(
    catalog: Catalog, settings: Settings, steps: Sequence[PlannedStep], actor: Actor, now: datetime
) -> list[StepResult]:
    """Delete the bytes of each planned quarantined file (and its sidecar); keep the record."""
    results: list[StepResult] = []
    ready: list[tuple[PlannedStep, Path, Path | None]] = []
    pattern = settings.tagging.sidecar_pattern
    for step in steps:
        root = root_of(settings, step.root)
        if step.quarantine_path is None or root is None:
            results.append(StepResult(step, False, "no quarantine path recorded"))
            continue
        source = Path(step.quarantine_path)
        problem = unsafe_reason(source, root, step.content_hash)
        if problem is None and not source.is_relative_to(quarantine_folder(settings, root)):
            problem = "not inside the root's quarantine folder"
        if problem is not None:
            results.append(StepResult(step, False, problem))
            continue
        sidecar = sidecar_of(source, pattern)
        ready.append(
            (step, source, sidecar if sidecar.is_file() and not sidecar.is_symlink() else None)
        )
    entries: list[tuple[PlannedStep, JournalEntry]] = []
    with catalog.write() as tx:
        for step, source, side in ready:
            problem = recheck_in_catalog(tx, step)
            if problem is not None:
                results.append(StepResult(step, False, problem))
                continue
            entries.append((step, _journal(tx, step, "purge", source, None, side, None, now)))
        tx.flush()
    crash_point("after-journal")
    deleted, failed = [], []
    for step, entry in entries:
        try:
            os.unlink(entry.source)
        except OSError as exc:
            failed.append((step, entry, exc.strerror or str(exc)))
            continue
        if entry.sidecar_source:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.sidecar_source)
        deleted.append((step, entry))
        crash_point("after-unlink")
    return results + _settle(catalog, deleted, failed, finish_purge, actor, now)
