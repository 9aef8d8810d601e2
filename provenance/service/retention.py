"""Retention by hand or on schedule: ``sweep`` (flag, quarantine, purge what is due),
``restore`` (put a quarantined file back) and ``settle`` (finish or undo the moves and deletes
a crash interrupted)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from provenance.catalog import utcnow
from provenance.retention import restore as restoring
from provenance.retention import sweep as sweeping
from provenance.retention.journal import Recovery, Waiting, settle_interrupted
from provenance.retention.restore import Restored
from provenance.retention.sweep import SweepSummary
from provenance.service.assets import asset_id_of
from provenance.service.context import App, Caller
from provenance.service.remote import Progress, served


@served("sweep", long=True)
def sweep(
    app: App,
    caller: Caller,
    *,
    dry_run: bool = False,
    as_of: datetime | None = None,
    force: bool = False,
    purge_changed: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
) -> SweepSummary:
    """Flag, quarantine and purge AI assets whose policy deadline has passed (``as_of``: plan
    what will have happened by then, a dry run); each file re-checked just before it is
    touched. ``force``: past ``retention.max_actions_per_run`` and the guard against emptying
    a root; ``purge_changed``: purge quarantined files whose bytes changed there too.
    ``on_progress`` hears that the sweep started (a sweep tells no finer progress)."""
    caller.require("sweep")
    if force:
        caller.require("sweep --force")
    if on_progress is not None:
        on_progress(Progress("sweeping"))
    report = sweeping.sweep(
        app.catalog,
        app.settings_with_roots(),
        caller.actor,
        utcnow(),
        dry_run=dry_run,
        as_of=as_of,
        force=force,
        purge_changed=purge_changed,
    )
    return report.summary()


@served("restore", paths=("target",))
def restore(app: App, caller: Caller, target: str, *, dry_run: bool = False) -> Restored:
    """Put a quarantined file (a path or an asset id) back where it was; what was restored.
    The asset is flagged again with a fresh grace period."""
    caller.require("restore")
    asset_id = asset_id_of(app, target)
    return restoring.restore(
        app.catalog, app.settings_with_roots(), asset_id, caller.actor, utcnow(), dry_run=dry_run
    )


def settle(
    app: App, caller: Caller, roots: Collection[str] = (), *, now: datetime | None = None
) -> tuple[list[Recovery], list[Waiting]]:
    """Settle the interrupted steps under ``roots`` (every online root when empty) whose sweep
    lock no other process holds: what was finished or rolled back, and what still waits (a
    root offline). The daemon does this at start-up and when a root comes back online."""
    caller.require("sweep")
    return settle_interrupted(
        app.catalog, app.settings_with_roots(), caller.actor, now or utcnow(), roots
    )
