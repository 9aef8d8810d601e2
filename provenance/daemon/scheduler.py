"""Scheduled jobs (APScheduler 3): sweep, weekly report, fixity check, the audit anchor, the
pruning of the pictures kept.

Jobs are named and run on cron strings. They live in a persistent job store (SQLite in
the state directory), so a restart keeps their schedule, and runs missed while the daemon
was down are coalesced into one run at start-up. A fleet-wide job runs under a fleet lock
(``provenance.catalog.locks``): every node fires it, one node runs its body. A job that
raises is logged with its traceback; the scheduler goes on. A job's body is one call of a
service action (``provenance.service``), made by the service itself, as a command makes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from provenance.audit import Actor
from provenance.catalog import Catalog
from provenance.catalog.locks import fleet_lock
from provenance.config import Settings
from provenance.config.locations import private_dir, private_file
from provenance.errors import ProvenanceError

if TYPE_CHECKING:
    from provenance.report.deliver import Delivery
    from provenance.service.context import App, Caller

log = logging.getLogger(__name__)

JOBSTORE_FILE = "scheduler.sqlite"
LockFactory = Callable[[str], AbstractContextManager[bool]]

#: Running schedulers by key: a stored job names its scheduler and job, not a closure,
#: because the persistent store keeps only an importable function and plain arguments.
_RUNNING: dict[str, Scheduler] = {}


@dataclass(frozen=True)
class JobSpec:
    """A named job: when it runs, what it does, and whether one node of a fleet runs it."""

    name: str
    cron: str
    body: Callable[[], object]
    lock: LockFactory | None = None


def run_job(scheduler_key: str, name: str) -> None:
    """Run job ``name`` of a running scheduler (the function the job store refers to)."""
    scheduler = _RUNNING.get(scheduler_key)
    spec = scheduler.jobs.get(name) if scheduler is not None else None
    if spec is None:
        log.warning("job %s fired but no such job is registered; skipped", name)
        return
    try:
        if spec.lock is None:
            spec.body()
            return
        with spec.lock(name) as held:
            if not held:
                log.info("job %s: another node is running it; skipped here", name)
                return
            spec.body()
    except Exception:  # a failing job must never stop the scheduler; logged in full
        log.exception("job %s failed", name)


class Scheduler:
    """Owns an APScheduler BackgroundScheduler with a persistent job store."""

    def __init__(self, state_dir: Path, timezone: str = "") -> None:
        private_file(private_dir(state_dir) / JOBSTORE_FILE)
        self.key = str(state_dir.resolve())
        self.zone: tzinfo | None = ZoneInfo(timezone) if timezone else None
        store = SQLAlchemyJobStore(url=f"sqlite:///{state_dir / JOBSTORE_FILE}")
        options: dict[str, object] = {
            "jobstores": {"default": store},
            # missed runs collapse into one; however late, it still runs once
            "job_defaults": {"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        }
        if self.zone is not None:
            options["timezone"] = self.zone
        self._scheduler = BackgroundScheduler(**options)
        self.jobs: dict[str, JobSpec] = {}

    def _trigger(self, cron: str) -> CronTrigger:
        return CronTrigger.from_crontab(cron, timezone=self.zone or self._scheduler.timezone)

    def register(
        self, name: str, cron: str, body: Callable[[], object], *, lock: LockFactory | None = None
    ) -> None:
        """Run ``body`` on ``cron``; with ``lock`` only the node holding it runs the body."""
        self._trigger(cron)  # raises ValueError for a bad cron string, before anything changes
        self.jobs[name] = JobSpec(name, cron, body, lock)
        if self._scheduler.running:
            self._store(self.jobs[name])

    def _store(self, spec: JobSpec) -> None:
        trigger = self._trigger(spec.cron)
        stored = self._scheduler.get_job(spec.name)
        if stored is not None and str(stored.trigger) == str(trigger):
            return  # keep its next run time: a run missed while we were down still happens
        self._scheduler.add_job(
            run_job,
            trigger,
            args=(self.key, spec.name),
            id=spec.name,
            name=spec.name,
            replace_existing=True,
        )

    def start(self, *, paused: bool = False) -> None:
        """Load the stored jobs, reconcile them with the registered ones, and start running."""
        _RUNNING[self.key] = self
        self._scheduler.start(paused=True)
        for job in self._scheduler.get_jobs():
            if job.id not in self.jobs:
                job.remove()
        for spec in self.jobs.values():
            self._store(spec)
        if not paused:
            self._scheduler.resume()

    def run_soon(self, name: str) -> None:
        """Make job ``name`` due now (it runs on the scheduler's thread, as if on time)."""
        self._scheduler.modify_job(name, next_run_time=datetime.now(self._scheduler.timezone))

    def next_run(self, name: str) -> datetime | None:
        job = self._scheduler.get_job(name)
        return job.next_run_time if job is not None else None

    def resume(self) -> None:
        self._scheduler.resume()

    def shutdown(self) -> None:
        """Stop, waiting for running jobs to finish."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        _RUNNING.pop(self.key, None)


def _service(settings: Settings, catalog: Catalog) -> tuple[App, Caller]:
    """The service's own call of an action: the daemon's settings and catalog, acting as
    itself (every role), as a command would through ``provenance.service``."""
    from provenance.service.context import App, Caller

    return App.using(settings, catalog), Caller.service(Actor.current())


def register_sweep(scheduler: Scheduler, settings: Settings, catalog: Catalog) -> None:
    """Register the sweep on ``[schedule] sweep`` (default: hourly); one at a time per root."""
    from provenance.service import retention

    def body() -> None:
        try:
            report = retention.sweep(*_service(settings, catalog))
        except ProvenanceError as exc:
            log.error("scheduled sweep refused: %s", exc)
            return
        log.info("scheduled sweep: %s", report.counts() or "nothing due")

    # no fleet-wide lock: the sweep takes the lock of each root it works under, so a node
    # whose roots differ from the one sweeping is never held up
    scheduler.register("sweep", settings.schedule.sweep, body)


#: When every node anchors its catalog's audit head (hourly; see ``provenance.audit.anchor``).
ANCHOR_CRON = "30 * * * *"


def register_anchor(scheduler: Scheduler, settings: Settings, catalog: Catalog) -> None:
    """Register the hourly anchor of the audit chain's head (each node, in its state dir)."""
    from provenance.service import integrity

    def body() -> None:
        try:
            integrity.anchor(*_service(settings, catalog), occasion="hourly")
        except ProvenanceError as exc:
            log.error("audit anchor not written: %s", exc)

    scheduler.register("anchor", ANCHOR_CRON, body)


def register_report(scheduler: Scheduler, settings: Settings, catalog: Catalog) -> None:
    """Register the fleet-wide weekly report on ``[report] schedule`` (default: Monday 07:00).

    One node of a fleet writes and e-mails it; a failed run is logged and the next one retries.
    """
    scheduler.register(
        "report",
        settings.report.schedule,
        lambda: send_weekly_report(settings, catalog),
        lock=lambda name: fleet_lock(catalog, name, settings.state_path),
    )


def send_weekly_report(settings: Settings, catalog: Catalog) -> Delivery | None:
    """Run the weekly report job (``service.report.send_report``): the delivery, or None when
    it failed, which is logged, never raised (the next scheduled run is the retry)."""
    from provenance.service import report

    try:
        return report.send_report(*_service(settings, catalog))
    except ProvenanceError as exc:
        log.error("weekly report failed (next run retries): %s", exc)
    return None


def register_fixity(scheduler: Scheduler, settings: Settings, catalog: Catalog) -> None:
    """Register the fleet-wide fixity check on ``[schedule] fixity`` (default: Sunday 03:00).

    It re-hashes every cleared final; a changed one loses its clearance.
    """
    from provenance.service import integrity

    def body() -> None:
        report = integrity.fixity(*_service(settings, catalog))
        log.info("scheduled fixity: %s", report.counts())

    scheduler.register(
        "fixity",
        settings.schedule.fixity,
        body,
        lock=lambda name: fleet_lock(catalog, name, settings.state_path),
    )


#: The job that prunes the pictures kept (``service.thumbnails``): each node its own, as each
#: keeps its own in its state folder.
THUMBNAILS_JOB = "thumbnails"


def register_thumbnails(scheduler: Scheduler, settings: Settings, catalog: Catalog) -> None:
    """Register the nightly pruning of the pictures of content no asset holds any more, on
    ``[schedule] reconcile`` (default: 02:00); each node prunes its own state folder."""
    from provenance.service.thumbnails import prune_thumbnails

    def body() -> None:
        pruned = prune_thumbnails(*_service(settings, catalog))
        for problem in pruned.left:
            log.warning("scheduled thumbnails: left alone: %s", problem)
        if pruned.removed:
            log.info(
                "scheduled thumbnails: %d pictures and refusals of content no asset holds "
                "removed (%d bytes), %d kept",
                len(pruned.removed),
                sum(item.size for item in pruned.removed),
                pruned.kept,
            )

    scheduler.register(THUMBNAILS_JOB, settings.schedule.reconcile, body)
