"""`provenance sweep`: plan what is due (reads the catalog), then act on it (effects).

Planning reads only the assets that may be due, through the (status, deadline) index, and
asks the pure policy what each should do. Deadlines are stored on the assets; when the
rules or milestones change (their fingerprint differs from the one stored) the plan reads
every lifecycle asset once and the act stores the new deadlines.

Acting applies holds first, then catalog-only steps (expiring, flagged), then the steps
that move or delete bytes (``purge.py``), each re-checked immediately before it happens.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from provenance.audit import Actor
from provenance.catalog import Catalog
from provenance.catalog.lifecycle import (
    active_holds,
    count_ai_assets,
    due_assets,
    get_meta,
    is_under,
    lifecycle_assets,
    set_deadlines,
    set_meta,
)
from provenance.catalog.locks import root_locks
from provenance.config import Settings
from provenance.errors import PurgeError
from provenance.files.roots import check_root
from provenance.lifecycle.states import HOLDABLE, MARKED, Status, move, status_of
from provenance.retention.files import BeforeAct
from provenance.retention.hold import hold_assets
from provenance.retention.journal import Recovery, Waiting, reconcile_journal, waiting_steps
from provenance.retention.policy import (
    AssetFacts,
    Decision,
    decide,
    due_bounds,
    fingerprint,
    forecast,
    is_destructive,
    milestones_for,
    rules_from_settings,
)
from provenance.retention.purge import (
    PlannedStep,
    StepResult,
    purge_files,
    quarantine_files,
    recheck_asset,
)

log = logging.getLogger(__name__)

FINGERPRINT_KEY = "retention_fingerprint"
BUSY = "another sweep is running under it"
BATCH = 500
FILE_BATCH = 100


@dataclass
class SweepPlan:
    """What a sweep will do: every step with its rule and reason, and why it may refuse."""

    now: datetime
    steps: list[PlannedStep] = field(default_factory=list)
    offline: dict[str, str] = field(default_factory=dict)
    #: Online roots left alone because another sweep holds their lock.
    busy: dict[str, str] = field(default_factory=dict)
    reschedule: list[tuple[int, datetime | None, str | None]] = field(default_factory=list)
    fingerprint: str = ""
    refused: str | None = None
    as_of: datetime | None = None


@dataclass
class SweepReport:
    """What a sweep did (or, in a dry run, would do)."""

    plan: SweepPlan
    dry_run: bool
    results: list[StepResult] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)
    #: Interrupted steps left pending (root offline, or another sweep holds it).
    waiting: list[Waiting] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.results:
            key = result.step.action if result.done else "skipped"
            counts[key] = counts.get(key, 0) + 1
        return counts

    def summary(self) -> SweepSummary:
        """The report as plain values (paths, outcomes, reasons): what a caller renders or
        sends, each step with its own outcome instead of a link to the plan's step."""
        results = {id(r.step): r for r in self.results}
        steps = []
        for step in self.plan.steps:
            result = results.get(id(step))
            steps.append(
                SweptStep(
                    path=step.path,
                    action=step.action,
                    status=step.status,
                    new_status=step.new_status,
                    rule=step.rule,
                    reason=step.reason,
                    due=step.due,
                    done=bool(result and result.done),
                    skipped=result.reason if result is not None and not result.done else None,
                )
            )
        return SweepSummary(
            dry_run=self.dry_run,
            now=self.plan.now,
            as_of=self.plan.as_of,
            refused=self.plan.refused,
            offline=dict(self.plan.offline),
            busy=dict(self.plan.busy),
            rescheduled=len(self.plan.reschedule),
            steps=steps,
            recoveries=list(self.recoveries),
            waiting=list(self.waiting),
        )

    def as_dict(self) -> dict[str, Any]:
        return self.summary().as_dict()


@dataclass(frozen=True)
class SweptStep:
    """One step of a sweep as plain values: the file, what was planned and why, and what
    came of it (``done``; ``skipped``: the reason it was not done, None when it was done or
    not tried, as in a dry run)."""

    path: str
    action: str
    status: str
    new_status: str
    rule: str | None
    reason: str
    due: datetime | None
    done: bool
    skipped: str | None


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did (or would do) as plain values: the same whether the sweep ran in
    this process or in the daemon (``service.remote`` sends it as it is)."""

    dry_run: bool
    now: datetime
    as_of: datetime | None
    refused: str | None
    #: Roots left alone: offline (with why), or busy (another sweep holds their lock).
    offline: dict[str, str]
    busy: dict[str, str]
    #: Assets whose deadline or policy the sweep stored anew.
    rescheduled: int
    steps: list[SweptStep]
    recoveries: list[Recovery]
    waiting: list[Waiting]

    def counts(self) -> dict[str, int]:
        """Steps done by action, and those tried but skipped (``skipped``)."""
        counts: dict[str, int] = {}
        for step in self.steps:
            key = step.action if step.done else "skipped" if step.skipped is not None else None
            if key is not None:
                counts[key] = counts.get(key, 0) + 1
        return counts

    def planned(self) -> dict[str, int]:
        """Steps planned by action (a dry run's counts)."""
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.action] = counts.get(step.action, 0) + 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        """The summary as ``provenance sweep --json`` prints it."""
        return {
            "dry_run": self.dry_run,
            "now": self.now.isoformat(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "refused": self.refused,
            "offline_roots": self.offline,
            "busy_roots": self.busy,
            "rescheduled": self.rescheduled,
            "counts": self.counts(),
            "recovered": [r.__dict__ for r in self.recoveries],
            "waiting": [w.__dict__ for w in self.waiting],
            "steps": [
                {
                    "path": s.path,
                    "action": s.action,
                    "from": s.status,
                    "to": s.new_status,
                    "rule": s.rule,
                    "reason": s.reason,
                    "due": s.due.isoformat() if s.due else None,
                    "done": s.done,
                    "skipped": s.skipped,
                }
                for s in self.steps
            ],
        }


def _facts(row: Any, root: str) -> AssetFacts:
    base = root.rstrip("/") + "/"
    return AssetFacts(
        # the path below its root (the catalog's paths are absolute and normal)
        path=row.path[len(base) :]
        if row.path.startswith(base)
        else Path(row.path).relative_to(root).as_posix(),
        ai_class=row.ai_class,
        status=row.status,
        first_seen=row.first_seen,
        created_at=row.created_at,
        generator=row.generator,
        family=row.family,
        present=bool(row.present),
        flagged_at=row.flagged_at,
        quarantined_at=row.quarantined_at,
    )


def _step(row: Any, decision: Decision) -> PlannedStep:
    return PlannedStep(
        asset_id=row.id,
        path=row.path,
        root=row.root,
        status=row.status,
        content_hash=row.content_hash,
        size=row.size,
        action=decision.action,
        new_status=decision.new_status,
        rule=decision.rule,
        reason=decision.reason,
        deadline=decision.deadline,
        quarantine_path=row.quarantine_path,
        due=decision.due,
    )


def plan_sweep(
    catalog: Catalog,
    settings: Settings,
    now: datetime,
    *,
    as_of: datetime | None = None,
    force: bool = False,
    held: Collection[str] | None = None,
) -> SweepPlan:
    """Return the plan of a sweep at ``now`` (or the forecast up to ``as_of``); writes nothing.

    ``held`` names the roots whose sweep lock the caller holds: any other online root is
    left alone (busy). None plans every online root (a dry run).
    """
    rules = rules_from_settings(settings)
    plan = SweepPlan(now=now, as_of=as_of)
    online = {}
    for root in settings.roots:
        health = check_root(root)
        if health.online and held is not None and str(root.path) not in held:
            plan.busy[str(root.path)] = BUSY
            log.warning("root %s: %s; nothing under it is swept by this run", root.path, BUSY)
        elif health.online:
            online[str(root.path)] = root
        else:
            plan.offline[str(root.path)] = health.reason
            log.warning(
                "root %s is offline (%s): nothing under it is swept", root.path, health.reason
            )
    plan.fingerprint = fingerprint(rules, {r: milestones_for(settings, online[r]) for r in online})
    until = as_of or now
    due_by, quarantined_by = due_bounds(rules, until)
    with catalog.read() as tx:
        stale = get_meta(tx, FINGERPRINT_KEY) != plan.fingerprint
        holds = [h.path for h in active_holds(tx)]
        rows: Iterable[Any] = (
            lifecycle_assets(tx, list(online))
            if stale
            else due_assets(tx, list(online), due_by, quarantined_by)
        )
        for row in rows:
            root = online[row.root]
            if row.status in HOLDABLE and any(is_under(row.path, h) for h in holds):
                keep = Decision("none", Status.HELD, row.deadline, None, "under a legal hold")
                plan.steps.append(replace(_step(row, keep), action="hold"))
                continue
            facts = _facts(row, row.root)
            milestones = milestones_for(settings, root)
            decision = decide(facts, rules, milestones, now)
            if (decision.deadline, decision.rule) != (row.deadline, row.policy):
                plan.reschedule.append((row.id, decision.deadline, decision.rule))
            if as_of is not None:
                plan.steps += [
                    _step(row, d) for d in forecast(facts, rules, milestones, now, as_of)
                ]
            elif decision.action != "none":
                plan.steps.append(_step(row, decision))
        if as_of is None:
            plan.refused = _refusal(tx, settings, plan.steps, force)
    plan.steps.sort(key=lambda s: (s.path, s.due or now))
    return plan


def _refusal(tx: Any, settings: Settings, steps: Sequence[PlannedStep], force: bool) -> str | None:
    """Return why this plan must not run (DESIGN rule 8), or None."""
    if force:
        return None
    destructive = [s for s in steps if is_destructive(s.action)]
    limit = settings.retention.max_actions_per_run
    if len(destructive) > limit:
        return (
            f"sweep would quarantine or purge {len(destructive)} files, more than "
            f"retention.max_actions_per_run ({limit}); nothing was done. Review them with "
            "`provenance sweep --dry-run`, then run with --force or raise the limit"
        )
    if settings.retention.allow_purge_all:
        return None
    per_root: dict[str, int] = {}
    for step in destructive:
        per_root[step.root] = per_root.get(step.root, 0) + 1
    for root, count in sorted(per_root.items()):
        total = count_ai_assets(tx, root)
        if total >= 2 and count >= total:
            return (
                f"sweep would quarantine or purge every AI asset under {root} ({count} of "
                f"{total}); nothing was done. If that is intended, run with --force or set "
                "retention.allow_purge_all = true"
            )
    return None


def apply_sweep(
    catalog: Catalog,
    settings: Settings,
    plan: SweepPlan,
    actor: Actor,
    now: datetime,
    *,
    before_act: BeforeAct | None = None,
    purge_changed: bool = False,
) -> list[StepResult]:
    """Carry out ``plan``; return one result per step (done, or skipped with the reason).

    ``purge_changed`` purges quarantined files whose bytes changed there too (a person
    decided so, `provenance sweep --changed`); otherwise they are skipped and listed.

    ``before_act`` is a test hook called with each file's path just before it is moved or
    deleted. Raises PurgeError, having done nothing, when the plan was refused.
    """
    if plan.refused:
        raise PurgeError(plan.refused)
    for start in range(0, len(plan.reschedule), 5000):
        with catalog.write() as tx:
            set_deadlines(tx, plan.reschedule[start : start + 5000])
    with catalog.write() as tx:
        set_meta(tx, FINGERPRINT_KEY, plan.fingerprint)
    results = _apply_holds(catalog, [s for s in plan.steps if s.action == "hold"], actor, now)
    marks = [s for s in plan.steps if s.new_status in MARKED]
    for start in range(0, len(marks), BATCH):
        results += _apply_marks(catalog, marks[start : start + BATCH], actor, now)
    todo = [s for s in plan.steps if s.action == "quarantine"]
    for start in range(0, len(todo), FILE_BATCH):
        batch = todo[start : start + FILE_BATCH]
        results += quarantine_files(catalog, settings, batch, actor, now, before_act)
    todo = [s for s in plan.steps if s.action == "purge"]
    for start in range(0, len(todo), FILE_BATCH):
        batch = todo[start : start + FILE_BATCH]
        results += purge_files(catalog, settings, batch, actor, now, before_act, purge_changed)
    for result in results:
        if not result.done:
            log.warning("skipped %s %s: %s", result.step.action, result.step.path, result.reason)
    return results


def _apply_holds(
    catalog: Catalog, steps: Sequence[PlannedStep], actor: Actor, now: datetime
) -> list[StepResult]:
    if not steps:
        return []
    with catalog.write() as tx:
        holds = [h for h in active_holds(tx)]
        done = set()
        for step in steps:
            for entry in holds:
                if is_under(step.path, entry.path):
                    done.update(hold_assets(tx, step.path, entry.reason, actor, now))
                    break
    return [
        StepResult(s, s.path in done, "" if s.path in done else "no longer holdable") for s in steps
    ]


def _apply_marks(
    catalog: Catalog, steps: Sequence[PlannedStep], actor: Actor, now: datetime
) -> list[StepResult]:
    """Move assets to a MARKED status (catalog only), each re-checked in the transaction.

    One query loads the batch's assets and one its holds; the events are appended at commit.
    """
    results = []
    with catalog.write() as tx:
        assets = tx.assets_by_ids([s.asset_id for s in steps])
        holds = active_holds(tx)
        for step in steps:
            asset = assets.get(step.asset_id)
            covering = [h for h in holds if asset is not None and is_under(asset.path, h.path)]
            problem = recheck_asset(asset, step, covering)
            if problem is not None or asset is None:
                results.append(StepResult(step, False, problem or "no longer in the catalog"))
                continue
            asset.deadline, asset.policy = step.deadline, step.rule
            if step.action == "flag":
                asset.flagged_at = now
            move(
                tx,
                asset,
                status_of(step.new_status),
                actor,
                now,
                reason=step.reason,
                after={
                    "rule": step.rule,
                    "deadline": step.deadline.isoformat() if step.deadline else None,
                },
            )
            log.info(
                "%s %s (%s)",
                step.new_status,
                step.path,
                step.reason,
                extra={
                    "event": step.new_status,
                    "asset": asset.uid,
                    "path": step.path,
                    "root": asset.root,
                    "rule": step.rule,
                },
            )
            results.append(StepResult(step, True))
    return results


def sweep(
    catalog: Catalog,
    settings: Settings,
    actor: Actor,
    now: datetime,
    *,
    dry_run: bool = False,
    as_of: datetime | None = None,
    force: bool = False,
    before_act: BeforeAct | None = None,
    purge_changed: bool = False,
) -> SweepReport:
    """Reconcile interrupted steps, plan, and (unless a dry run) act; return the report.

    The sweep works only under the roots whose sweep lock it takes (``root_locks``): a
    root another sweep is working under (the daemon's, a command's, another node's) is
    left alone by this run, and its interrupted steps are that sweep's to settle.

    ``as_of`` forecasts what will have happened by then and implies a dry run. Raises
    PurgeError when the plan is refused (too many files, or every AI asset of a root).
    """
    dry_run = dry_run or as_of is not None
    if dry_run:
        plan = plan_sweep(catalog, settings, now, as_of=as_of, force=force)
        return SweepReport(plan=plan, dry_run=True, waiting=waiting_steps(catalog, settings))
    online = [str(root.path) for root in settings.roots if check_root(root).online]
    with root_locks(catalog, online, settings.state_path) as held:
        recoveries, waiting = reconcile_journal(catalog, settings, actor, now, roots=held)
        plan = plan_sweep(catalog, settings, now, force=force, held=held)
        report = SweepReport(plan=plan, dry_run=False, recoveries=recoveries, waiting=waiting)
        report.results = apply_sweep(
            catalog, settings, plan, actor, now, before_act=before_act, purge_changed=purge_changed
        )
    return report
