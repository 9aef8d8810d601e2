"""Ask the catalog what the weekly report needs and assemble the Report (one read transaction)."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from provenance.catalog import Catalog, Tx
from provenance.catalog import reports as queries
from provenance.catalog.clearance import (
    clear_target_kinds,
    clear_targets_of_kind,
    clearance_inputs,
)
from provenance.catalog.lines import AssetLine
from provenance.catalog.unreadable import list_unreadable, unreadable_by_root
from provenance.clearance.assess import Needed
from provenance.clearance.explain import clear_needed
from provenance.clearance.policy import ClearancePolicy, clearance_policy
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
from provenance.report.items import ClearNeeds, RootInfo
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


def clear_needs(
    tx: Tx,
    policy: ClearancePolicy,
    asset_ids: Sequence[int],
    root: str | None = None,
    under: str | None = None,
) -> ClearNeeds:
    """Return what `provenance clear` must be given for each of ``asset_ids``, and for any
    folder (every AI file under it that a `clear` of it judges; ``root``: in that root;
    ``under``: at or below that folder, the only folders asked of it).

    The rules answer alike for the files of one generator, family and facts, so they are
    asked once a kind, and only the files of a kind that needs more than every kind does
    are listed by path (and a file's signer read only where a tool's approval asks for it).
    """
    by_asset: dict[int, Needed] = {}
    signed: list[int] = []
    found = clearance_inputs(tx, asset_ids)
    judged: dict[tuple[Any, Any, str | None], tuple[Needed, bool]] = {}
    for asset_id, (generator, family, facts) in found.items():
        # asked once a kind: the files a report names are mostly of a few
        kind = (generator, family, None if facts is None else json.dumps(facts, sort_keys=True))
        if kind not in judged:
            judged[kind] = clear_needed(policy, generator, family, facts)
        by_asset[asset_id], by_signer = judged[kind]
        if by_signer:
            signed.append(asset_id)
    for asset_id, signals in tx.signals_of_many(signed).items():
        by_asset[asset_id] = clear_needed(policy, *found[asset_id], signals)[0]
    kinds: list[tuple[Needed, list[tuple[str, Needed]] | None, tuple[Any, Any, str | None]]] = []
    for kind in clear_target_kinds(tx, root, under):
        facts = json.loads(kind[2]) if kind[2] else None
        need, by_signer = clear_needed(policy, kind[0], kind[1], facts)
        if not by_signer:
            kinds.append((need, None, kind))
            continue
        files = clear_targets_of_kind(tx, kind, root, under)
        signed_by = tx.signals_of_many([asset_id for asset_id, _path in files])
        each = [
            (path, clear_needed(policy, kind[0], kind[1], facts, signed_by[asset_id])[0])
            for asset_id, path in files
        ]
        kinds.append((reduce(Needed.__and__, (n for _p, n in each), need), each, kind))
    if not kinds:
        return ClearNeeds(by_asset)
    least = reduce(Needed.__and__, (need for need, _each, _kind in kinds))
    targets: list[tuple[str, Needed]] = []
    for need, listed, kind in kinds:
        if listed is not None:
            targets += [(path, n) for path, n in listed if n != least]
        elif need != least:
            targets += [(path, need) for _id, path in clear_targets_of_kind(tx, kind, root, under)]
    return ClearNeeds(by_asset, least, tuple(sorted(targets, key=lambda target: target[0])))


def folder_needed(tx: Tx, policy: ClearancePolicy, folder: str) -> Needed:
    """Return what `provenance clear FOLDER` must be given: every AI file under it."""
    return clear_needs(tx, policy, (), under=folder).folder(folder)


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
        attention = list(
            queries.attention_lines(tx, root_path, unknown_tools=registered, limit=shown)
        )
        untrusted = list(queries.untrusted_c2pa_lines(tx, root_path, shown))
        # a mark there but unreadable: a person looks, whatever the tools registry
        unread = list(queries.unread_mark_lines(tx, root_path, shown))
        called_out = queries.attention_counts(
            tx, root_path, _folders([*attention, *untrusted, *unread]), unknown_tools=registered
        )
        voided = list(queries.events_between(tx, EVENTS["voided"], *past, shown))
        # the files a section offers to clear: what their `clear` must be given
        offered = [
            line.id for line in (*due_lines, *overdue_lines, *attention, *untrusted, *unread)
        ]
        offered += [event.asset_id for event in voided if event.asset_id is not None]
        needs = clear_needs(tx, clearance_policy(settings), offered, root_path)
        inputs = Inputs(
            due=due_lines,
            overdue=overdue_lines,
            quarantined=quarantined_lines,
            unknown_tool=attention,
            untrusted_c2pa=untrusted,
            unread_marks=unread,
            purged=queries.events_between(tx, EVENTS["purged"], *past, shown),
            cleared=queries.events_between(tx, EVENTS["cleared"], *past, shown),
            voided=voided,
            # what those sections stand for, counted in the database: by root, and in the
            # folders of the files they name by folder
            root_counts={
                "expiring": due[0],
                "overdue": overdue[0],
                "quarantined": quarantined[0],
                "attention": called_out[0],
                **{
                    key: queries.events_by_root(tx, actions, *past)
                    for key, actions in EVENTS.items()
                },
            },
            folders={
                "expiring": due[1],
                "overdue": overdue[1],
                "quarantined": quarantined[1],
                "attention": called_out[1],
            },
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
            needs=needs,
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
