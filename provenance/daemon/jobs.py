"""The daemon's scheduled jobs: reconcile, sweep, weekly report, fixity check, the pictures
kept pruned (``thumbnails``, each night with reconcile); and the notifications' outbox
(``provenance.notify.outbox``), whose rounds run on a thread of their own, started, reloaded
and stopped with the jobs.

The scheduler (``provenance.daemon.scheduler``, APScheduler with a persistent job store) decides
*when*; in the daemon a job's body does not run on the scheduler's thread but is queued for
the consumer, the one thread that writes the catalog, like every file change. A fleet-wide
job still runs under its fleet lock, taken on the consumer thread around the body. Each body
is a call of a service action (``provenance.service``), the one the command line makes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from provenance.catalog import Catalog
from provenance.config import Settings
from provenance.daemon.scheduler import (
    LockFactory,
    Scheduler,
    register_anchor,
    register_fixity,
    register_report,
    register_sweep,
    register_thumbnails,
)
from provenance.notify.outbox import Outbox
from provenance.watch.changes import Item, Rescan, RunJob

RECONCILE = "reconcile"


class QueuedScheduler(Scheduler):
    """A Scheduler whose jobs are put on the daemon's queue when they fire."""

    def __init__(self, settings: Settings, put: Callable[[Item], None]) -> None:
        super().__init__(settings.state_path, settings.schedule.timezone)
        self.put = put
        #: Sends the notifications ([notify]); its thread runs only while they are enabled.
        self.outbox: Outbox | None = None

    def register(
        self, name: str, cron: str, body: Callable[[], object], *, lock: LockFactory | None = None
    ) -> None:
        super().register(name, cron, partial(self.put, RunJob(name, body, lock)))

    def notify(self, settings: Settings, catalog: Catalog) -> None:
        """Send the notifications as ``settings`` say (off: the outbox's thread stops)."""
        if self.outbox is None:
            self.outbox = Outbox(settings, catalog)
        self.outbox.update(settings)

    def shutdown(self) -> None:
        if self.outbox is not None:
            self.outbox.stop()
        super().shutdown()


def register_jobs(scheduler: QueuedScheduler, settings: Settings, catalog: Catalog) -> None:
    """Register (again, after a reload) every job the daemon runs, with these settings.

    Reconcile, the anchor and the pruning of pictures are per node (each daemon scans its own
    roots and keeps its own state), the others are fleet-wide.
    """
    scheduler.register(
        RECONCILE,
        settings.schedule.reconcile,
        partial(scheduler.put, Rescan((), "scheduled reconciliation")),
    )
    register_sweep(scheduler, settings, catalog)
    register_report(scheduler, settings, catalog)
    register_fixity(scheduler, settings, catalog)
    register_anchor(scheduler, settings, catalog)
    register_thumbnails(scheduler, settings, catalog)
    scheduler.notify(settings, catalog)


def start_jobs(
    settings: Settings, catalog: Catalog, put: Callable[[Item], None]
) -> QueuedScheduler:
    """Start the scheduler with the daemon's jobs; their bodies go to ``put`` when due."""
    scheduler = QueuedScheduler(settings, put)
    register_jobs(scheduler, settings, catalog)
    scheduler.start()
    return scheduler
