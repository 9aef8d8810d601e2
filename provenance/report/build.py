"""Ask the catalog what the weekly report needs and assemble the Report (one read transaction)."""

from __future__ import annotations

import posixpath
from dataclasses import replace
from datetime import datetime, timedelta

from provenance.catalog import Catalog
from provenance.catalog import reports as queries
from provenance.catalog.lines import AssetLine
from provenance.catalog.unreadable import list_unreadable, unreadable_by_root
from provenance.config import RootSettings, Settings
from provenance.lifecycle.states import UNCLEARED
from provenance.report.data import (
    DEFAULT_QUARANTINE_FOR,
    SECTION_SHOWN,
    UNREADABLE_SHOWN,
    Inputs,
    Period,
    Report,
    assemble,
)
from provenance.report.items import RootInfo
from provenance.retention.journal import waiting_steps
from provenance.retention.policy import rules_from_settings

#: The audit actions of the report's sections of events.
EVENTS = {
    "purged": ("purged",),
    "cleared": ("cleared",),
    "voided": ("clearance-voided", "revoked"),
}


def _folders(lines: list[AssetLine]) -> set[str]:
    return {posixpath.dirname(line.path) or "/" for line in lines}


def root_infos(settings: Settings) -> list[RootInfo]:
    """Return the configured roots as the report names them."""
    return [RootInfo(str(root.path), root.label, root.owner) for root in settings.roots]


def quarantine_times(settings: Settings) -> dict[str, timedelta | None]:
    """Return policy name -> how long its quarantined files are kept (None: flag-only, forever)."""
    return {
        rule.name: rule.quarantine_for if rule.action == "purge" else None
        for rule in rules_from_settings(settings)
    }


def build_report(
    catalog: Catalog,
    settings: Settings,
    period: Period,
    generated_at: datetime,
    root: RootSettings | None = None,
) -> Report:
    """Return the report for ``period``, for every root or only ``root``. Its times are
    whole seconds (``generated_at`` and ``period.as_of`` lose their fraction): the report
    prints them, and a microsecond says nothing to its reader."""
    generated_at = generated_at.replace(microsecond=0)
    period = replace(period, as_of=period.as_of.replace(microsecond=0))
    infos = root_infos(settings)
    root_path = str(root.path) if root is not None else None
    if root is not None:
        infos = [info for info in infos if info.path == root_path]
    keep_for = quarantine_times(settings)
    registered = bool(settings.clearance.tools)
    waiting = [step for step in waiting_steps(catalog, settings) if root_path in (None, step.root)]
    with catalog.read() as tx:
        counts = queries.status_counts(tx, root_path)
        past = (period.past_start, period.as_of, root_path)
        shown = SECTION_SHOWN
        due_lines = list(queries.due_assets(tx, period.as_of, period.coming_end, root_path, shown))
        overdue_lines = list(queries.overdue_assets(tx, period.as_of, root_path, shown))
        quarantined_lines = list(queries.quarantined_assets(tx, root_path, shown))
        due = queries.due_counts(
            tx, period.as_of, period.coming_end, root_path, _folders(due_lines)
        )
        overdue = queries.overdue_counts(tx, period.as_of, root_path, _folders(overdue_lines))
        quarantined = queries.quarantined_counts(tx, root_path, _folders(quarantined_lines))
        inputs = Inputs(
            due=due_lines,
            overdue=overdue_lines,
            quarantined=quarantined_lines,
            unknown_tool=queries.attention_lines(tx, root_path, unknown_tools=registered),
            untrusted_c2pa=queries.untrusted_c2pa_lines(tx, root_path),
            purged=queries.events_between(tx, EVENTS["purged"], *past, shown),
            cleared=queries.events_between(tx, EVENTS["cleared"], *past, shown),
            voided=queries.events_between(tx, EVENTS["voided"], *past, shown),
            # what those sections stand for, counted in the database: by root, and in the
            # folders of the files they name by folder
            root_counts={
                "expiring": due[0],
                "overdue": overdue[0],
                "quarantined": quarantined[0],
                **{
                    key: queries.events_by_root(tx, actions, *past)
                    for key, actions in EVENTS.items()
                },
            },
            folders={"expiring": due[1], "overdue": overdue[1], "quarantined": quarantined[1]},
            status_counts=counts,
            per_day=queries.deadlines_per_day(tx, period.as_of, period.coming_end, root_path),
            weekly=queries.weekly_activity(tx, period.week_starts(), period.as_of, root_path),
            waiting=waiting,
            unreadable=list(list_unreadable(tx, root=root_path, limit=UNREADABLE_SHOWN)),
            unreadable_counts=unreadable_by_root(tx, root_path),
            unreadable_retries=settings.scan.retry_unreadable,
            audit=queries.chain_head(tx),
            tools_registered=registered,
            # with no registry every tool is unknown: that is every uncleared AI asset
            unknown_tools=0
            if registered
            else sum(n for (_root, status), n in counts.items() if status in UNCLEARED),
        )
        return assemble(
            inputs,
            period,
            generated_at,
            infos,
            scope=root.label if root is not None else "all roots",
            # a policy since renamed or removed: assume the default quarantine time
            quarantine_for=lambda policy: keep_for.get(policy or "", DEFAULT_QUARANTINE_FOR),
        )
