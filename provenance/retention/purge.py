"""Acting on sweep decisions that touch bytes: quarantine (rename) and purge (delete).

A sweep acts on files in batches (``sweep.FILE_BATCH``); each batch goes through the same
four steps, so a crash at any point is recoverable
(``provenance.retention.journal.reconcile_journal``):

1. find each file from its root's descriptor (``retention.files.find_file``, each folder
   walked to once per batch): root online, no link on the way, a regular file on its
   root's filesystem, content hash unchanged since the sweep was planned; it stays open
   until the act;
2. in one transaction for the batch: re-check the catalog (same state, not cleared, not
   held, same hash; the batch's assets and holds read by one query each) and journal
   every step as "planned";
3. rename or delete each file and its sidecar, relative to the folders' descriptors, the
   file checked with fstat immediately before (``provenance.files.confined``);
4. in one transaction for the batch: move each asset's status (``lifecycle.states.move``),
   mark its journal entry "done" (or rolled back, with why), write its event.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from provenance.audit import Actor
from provenance.catalog import Asset, Catalog, Hold, JournalEntry, Tx
from provenance.catalog.lifecycle import active_holds, is_under, journal_entries, journal_entry
from provenance.config import Settings
from provenance.errors import ConfinementError, Refusal
from provenance.files.confined import OpenFile, move, unlink
from provenance.lifecycle.states import Status
from provenance.lifecycle.states import move as move_to
from provenance.retention.files import (
    BeforeAct,
    OpenRoots,
    crash_point,
    find_file,
    find_sidecar,
    quarantine_target,
    root_of,
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


def recheck_in_catalog(tx: Tx, steps: Sequence[PlannedStep]) -> list[str | None]:
    """Return, for each of ``steps``, why the catalog no longer allows it, or None (DESIGN
    rule 2). One query loads the batch's assets and one the active holds."""
    assets = tx.assets_by_ids([s.asset_id for s in steps])
    holds = active_holds(tx)
    problems: list[str | None] = []
    for step in steps:
        asset = assets.get(step.asset_id)
        covering = [h for h in holds if asset is not None and is_under(asset.path, h.path)]
        problems.append(recheck_asset(asset, step, covering))
    return problems


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
    asset.quarantine_path, asset.quarantined_at = entry.target, now
    asset.present = False
    entry.state, entry.finished_at = "done", now
    move_to(
        tx,
        asset,
        Status.QUARANTINED,
        actor,
        now,
        reason=entry.reason + note,
        after={"quarantine_path": entry.target, "rule": entry.rule},
        journaled=True,
    )
    log.info(
        "quarantined %s -> %s (%s)",
        asset.path,
        entry.target,
        entry.reason,
        extra={"event": "quarantined", "asset": asset.uid, "path": asset.path, "root": asset.root},
    )


def finish_purge(
    tx: Tx,
    entry: JournalEntry,
    actor: Actor,
    now: datetime,
    note: str = "",
    links_left: int | None = 0,
    found_hash: str | None = None,
) -> None:
    """Record a file's bytes as deleted, with a purge receipt; the row and history stay.

    ``links_left`` is how many other hard links still hold the bytes (the receipt then
    says the bytes were not deleted); None when unknown (a step finished after a crash).
    """
    asset = tx.asset_by_id(entry.asset_id)
    assert asset is not None
    asset.purged_at = now
    entry.state, entry.finished_at = "done", now
    receipt: dict[str, object] = {
        "path": asset.path,
        "quarantine_path": entry.source,
        "content_hash": entry.content_hash,
        "size": entry.size,
        "rule": entry.rule,
        "by": f"{actor.user}@{actor.host}",
        "at": now.isoformat(),
    }
    if found_hash is not None:
        receipt["found_hash"] = found_hash
        note += "; its bytes had changed in quarantine (purged with --changed)"
    if links_left:
        receipt["bytes_deleted"] = False
        receipt["other_links"] = links_left
        note += f"; {links_left} other hard link(s) keep the bytes"
    elif links_left is None:
        receipt["bytes_deleted"] = None
    move_to(
        tx,
        asset,
        Status.PURGED,
        actor,
        now,
        reason=entry.reason + note,
        after={"receipt": receipt},
        journaled=True,
    )
    log.info(
        "purged %s (%s, %d bytes, rule %s)%s",
        asset.path,
        entry.content_hash,
        entry.size,
        entry.rule,
        note,
        extra={"event": "purged", "asset": asset.uid, "path": asset.path, "root": asset.root},
    )


def changed_in_quarantine(path: str) -> str:
    """The reason a changed quarantined file is left for a person to decide."""
    return (
        "its bytes changed in quarantine: restore it (provenance restore "
        f"{shlex.quote(path)}) or purge it anyway (provenance sweep --changed)"
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
    catalog: Catalog,
    settings: Settings,
    steps: Sequence[PlannedStep],
    actor: Actor,
    now: datetime,
    before_act: BeforeAct | None = None,
) -> list[StepResult]:
    """Move each planned file (and its sidecar) into its root's quarantine folder."""
    results: list[StepResult] = []
    ready: list[tuple[PlannedStep, OpenFile, OpenFile | None, Path]] = []
    pattern = settings.tagging.sidecar_pattern
    quarantine_dir = settings.retention.quarantine_dir
    with OpenRoots(settings) as roots:
        for step in steps:
            root = root_of(settings, step.root)
            try:
                file = find_file(roots, step.root, step.path, step.content_hash)
            except ConfinementError as exc:
                results.append(StepResult(step, False, exc.reason))
                continue
            assert root is not None
            target = quarantine_target(settings, root, step.path)
            side = find_sidecar(roots, file, pattern, step.content_hash)
            ready.append((step, file, side, target))
        entries: list[tuple[PlannedStep, JournalEntry, OpenFile, OpenFile | None]] = []
        with catalog.write() as tx:
            problems = recheck_in_catalog(tx, [step for step, *_ in ready])
            for (step, file, side, target), problem in zip(ready, problems, strict=True):
                if problem is not None:
                    results.append(StepResult(step, False, problem))
                    continue
                side_target = target.with_name(side.name) if side else None
                entry = _journal(
                    tx,
                    step,
                    "quarantine",
                    Path(step.path),
                    target,
                    side.path if side else None,
                    side_target,
                    now,
                )
                entries.append((step, entry, file, side))
            tx.flush()
        crash_point("after-journal")
        moved, failed = [], []
        for step, entry, file, side in entries:
            if before_act is not None:
                before_act(step.path)
            top = roots.get(step.root)
            names = top.parts(entry.target or "")
            try:
                if names[0] != quarantine_dir:
                    raise ConfinementError(
                        entry.target or "", "not in the quarantine folder", Refusal.OUTSIDE
                    )
                folder = roots.enter_context(top.folder(names[:-1], create=True))
                move(file, folder, names[-1])
            except ConfinementError as exc:
                failed.append((step, entry, exc.reason))
                continue
            except FileExistsError:
                failed.append((step, entry, f"{entry.target} already exists in quarantine"))
                continue
            except OSError as exc:
                failed.append((step, entry, exc.strerror or str(exc)))
                continue
            if side is not None:
                try:
                    move(side, folder, Path(entry.sidecar_target or "").name)
                except (ConfinementError, OSError) as exc:
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
    purged: tuple[dict[int, int], dict[int, str]] | None = None,
) -> list[StepResult]:
    """Close the journal after the file steps, in one transaction: finish what was done, roll
    back what failed. The batch's entries and assets are loaded by two queries first."""
    results: list[StepResult] = []
    with catalog.write() as tx:
        # held here, the session finds them again (asset_by_id, journal_entry) without a query
        entries = journal_entries(tx, [e.id for _s, e in done] + [e.id for _s, e, _r in failed])
        _held = tx.assets_by_ids([step.asset_id for step, _entry in done])
        for step, entry in done:
            current = entries[entry.id]  # type: ignore[index]
            if purged is not None:
                links, changed = purged
                finish_purge(
                    tx,
                    current,
                    actor,
                    now,
                    links_left=links.get(step.asset_id, 0),
                    found_hash=changed.get(step.asset_id),
                )
            else:
                finish(tx, current, actor, now)
            results.append(StepResult(step, True))
        for step, entry, reason in failed:
            roll_back(tx, entry.id, now, reason)  # type: ignore[arg-type]
            results.append(StepResult(step, False, reason))
    return results


def purge_files(
    catalog: Catalog,
    settings: Settings,
    steps: Sequence[PlannedStep],
    actor: Actor,
    now: datetime,
    before_act: BeforeAct | None = None,
    purge_changed: bool = False,
) -> list[StepResult]:
    """Delete the bytes of each planned quarantined file (and its sidecar); keep the record.

    A file whose bytes changed in quarantine is skipped, with the choice a person has
    (restore it, or purge it anyway), unless ``purge_changed`` says to purge it anyway:
    its receipt then names the hash of the bytes deleted.
    """
    results: list[StepResult] = []
    changed: dict[int, str] = {}
    ready: list[tuple[PlannedStep, OpenFile, OpenFile | None]] = []
    pattern = settings.tagging.sidecar_pattern
    quarantine_dir = settings.retention.quarantine_dir
    with OpenRoots(settings) as roots:
        for step in steps:
            if step.quarantine_path is None:
                results.append(StepResult(step, False, "no quarantine path recorded"))
                continue
            try:
                top = roots.get(step.root)
                if top.parts(step.quarantine_path)[0] != quarantine_dir:
                    raise ConfinementError(
                        step.quarantine_path,
                        "not inside the root's quarantine folder",
                        Refusal.OUTSIDE,
                    )
                file = find_file(roots, step.root, step.quarantine_path, None)
                found = file.content_hash()
            except ConfinementError as exc:
                results.append(StepResult(step, False, exc.reason))
                continue
            except OSError as exc:
                results.append(StepResult(step, False, f"cannot read: {exc.strerror or exc}"))
                continue
            if found != step.content_hash:
                if not purge_changed:
                    results.append(StepResult(step, False, changed_in_quarantine(step.path)))
                    continue
                changed[step.asset_id] = found
            ready.append((step, file, find_sidecar(roots, file, pattern, step.content_hash)))
        entries: list[tuple[PlannedStep, JournalEntry, OpenFile, OpenFile | None]] = []
        with catalog.write() as tx:
            problems = recheck_in_catalog(tx, [step for step, *_ in ready])
            for (step, file, side), problem in zip(ready, problems, strict=True):
                if problem is not None:
                    results.append(StepResult(step, False, problem))
                    continue
                entry = _journal(
                    tx, step, "purge", file.path, None, side.path if side else None, None, now
                )
                entries.append((step, entry, file, side))
            tx.flush()
        crash_point("after-journal")
        deleted, failed = [], []
        links: dict[int, int] = {}
        for step, entry, file, side in entries:
            if before_act is not None:
                before_act(entry.source)
            try:
                links[step.asset_id] = unlink(file)
            except ConfinementError as exc:
                failed.append((step, entry, exc.reason))
                continue
            except OSError as exc:
                failed.append((step, entry, exc.strerror or str(exc)))
                continue
            if side is not None:
                try:
                    unlink(side)
                except (ConfinementError, OSError) as exc:
                    log.warning("sidecar of %s stays in quarantine: %s", step.path, exc)
            deleted.append((step, entry))
            crash_point("after-unlink")
    return results + _settle(catalog, deleted, failed, finish_purge, actor, now, (links, changed))
