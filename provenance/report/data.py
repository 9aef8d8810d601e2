"""The weekly report as values: query results in, frozen dataclasses out (no I/O, no clock).

``assemble`` turns what the catalog queries yield (``AssetLine``, ``EventLine``, counts) into
a ``Report`` the renderers print. Every date is aware UTC; "days left" counts calendar days
from the report's ``as_of`` day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from provenance.catalog.models import Unreadable
from provenance.catalog.reports import AssetLine, ChainHead, EventLine, FolderCount
from provenance.lifecycle.states import AI_STATUSES, OVERDUE
from provenance.report.groups import Alert, Group, Totals, alerts, group_items
from provenance.report.items import (
    ClearNeeds,
    Item,
    RootInfo,
    Roots,
    asset_item,
    cleared_item,
    item_commands,
    purged_item,
    quarantine_item,
    tag_command,
    unreadable_item,
    voided_item,
    waiting_item,
)

if TYPE_CHECKING:
    from provenance.retention.journal import Waiting

#: Section keys in the order the report shows them.
SECTION_KEYS = (
    "expiring",
    "overdue",
    "quarantined",
    "purged",
    "cleared",
    "voided",
    "attention",
    "waiting",
    "unreadable",
)
SECTION_TITLES = {
    "expiring": "Expiring in the coming period",
    "overdue": "Flagged or overdue",
    "quarantined": "Quarantined",
    "purged": "Purged in the past period",
    "cleared": "Cleared in the past period",
    "voided": "Clearances voided or revoked",
    "attention": "Unapproved or unknown tools, blocked risk, untrusted C2PA, unreadable marks",
    "waiting": "Interrupted steps waiting to finish",
    "unreadable": "Files that could not be read",
}
#: Files that could not be read, named in the report (its count is of them all).
UNREADABLE_SHOWN = 10
#: Files a section of assets or events names at most, the soonest (attention: the first by
#: path; its count, and each folder's, is of them all): the report reads and prints the
#: same at any scale.
SECTION_SHOWN = 1000
#: How a section's first files are chosen, when not by date.
ORDERED = {"attention": "by path"}
TREND_WEEKS = 8
DEFAULT_QUARANTINE_FOR = timedelta(days=14)


@dataclass(frozen=True)
class Period:
    """The report's window: ``days`` before ``as_of`` (past) and after it (coming)."""

    as_of: datetime
    days: int = 7

    @property
    def past_start(self) -> datetime:
        return self.as_of - timedelta(days=self.days)

    @property
    def coming_end(self) -> datetime:
        return self.as_of + timedelta(days=self.days)

    def week_starts(self, weeks: int = TREND_WEEKS) -> list[datetime]:
        """Return the starts of the ``weeks`` whole weeks that end at ``as_of``, oldest first."""
        return [self.as_of - timedelta(weeks=weeks - index) for index in range(weeks)]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    items: tuple[Item, ...]
    #: Said when part of the section's source does not exist in this catalog yet.
    note: str = ""
    #: How many the section stands for, when it names only the first few (else None).
    total: int | None = None
    #: The items by root -> production -> folder, one command per group (``groups``).
    groups: tuple[Group, ...] = ()

    @property
    def count(self) -> int:
        return len(self.items) if self.total is None else self.total


@dataclass(frozen=True)
class RootSummary:
    """One root's line in the totals: AI assets by status and this period's section counts."""

    label: str
    path: str
    owner: str
    by_status: Mapping[str, int]
    by_section: Mapping[str, int]


@dataclass(frozen=True)
class WeekCounts:
    start: date
    found: int
    cleared: int
    purged: int


@dataclass(frozen=True)
class Report:
    """Everything the weekly report says, ready for any renderer."""

    generated_at: datetime
    period: Period
    scope: str
    sections: tuple[Section, ...]
    roots: tuple[RootSummary, ...]
    totals: Mapping[str, int]
    per_day: tuple[tuple[date, int], ...]
    trend: tuple[WeekCounts, ...]
    notes: tuple[str, ...] = field(default=())
    #: The audit chain's head when the report was made: a printed report anchors the trail.
    audit: ChainHead | None = None
    #: What needs a decision now, ranked; and how many more there are than those listed.
    alerts: tuple[Alert, ...] = ()
    alerts_more: int = 0
    #: Pictures of files, by content hash (WebP; ``report.pictures``): shown by the HTML
    #: report only; empty unless they were asked for.
    thumbnails: Mapping[str, bytes] = field(default_factory=dict)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    @property
    def items(self) -> Iterable[Item]:
        for section in self.sections:
            yield from section.items


@dataclass(frozen=True)
class Inputs:
    """What the catalog returned for one report (iterables are consumed once)."""

    due: Iterable[AssetLine]
    overdue: Iterable[AssetLine]
    quarantined: Iterable[AssetLine]
    unknown_tool: Iterable[AssetLine]
    purged: Iterable[EventLine]
    cleared: Iterable[EventLine]
    voided: Iterable[EventLine]
    status_counts: Mapping[tuple[str, str], int]
    per_day: Mapping[date, int]
    weekly: Mapping[tuple[int, str], int]
    #: Section key -> why part of its source is missing (e.g. clearance rules not installed).
    missing_sources: Mapping[str, str] = field(default_factory=dict)
    #: Interrupted steps that wait (retention.journal), the first files that could not be
    #: read and how many there are by root, the scans' retries, the audit chain's head.
    waiting: Iterable[Waiting] = ()
    unreadable: Iterable[Unreadable] = ()
    unreadable_counts: Mapping[str, int] = field(default_factory=dict)
    unreadable_retries: int = 3
    audit: ChainHead | None = None
    #: Uncleared AI assets whose C2PA signature is untrusted or invalid.
    untrusted_c2pa: Iterable[AssetLine] = ()
    #: Uncleared assets whose mark is there but could not be read (class ``suspect``).
    unread_marks: Iterable[AssetLine] = ()
    #: Whether a tools registry is configured; without one, uncleared AI assets of an
    #: unknown tool are one alert with their count (``unknown_tools``), not one row each.
    tools_registered: bool = True
    unknown_tools: int = 0
    #: Section key -> everything the section stands for counted by root, when its items
    #: are only its first (``SECTION_SHOWN``); and every file of the section in the
    #: folders of those items, counted by folder and status.
    root_counts: Mapping[str, Mapping[str | None, int]] = field(default_factory=dict)
    folders: Mapping[str, Sequence[FolderCount]] = field(default_factory=dict)
    #: What `provenance clear` must be given, for the assets named and for folders (the
    #: clearance rules' answer); an approval reference alone when left out.
    needs: ClearNeeds = field(default_factory=ClearNeeds)


def _trend(period: Period, weekly: Mapping[tuple[int, str], int]) -> tuple[WeekCounts, ...]:
    return tuple(
        WeekCounts(
            start=start.date(),
            found=weekly.get((index, "found"), 0),
            cleared=weekly.get((index, "cleared"), 0),
            purged=weekly.get((index, "purged"), 0),
        )
        for index, start in enumerate(period.week_starts())
    )


def _per_day(period: Period, counts: Mapping[date, int]) -> tuple[tuple[date, int], ...]:
    first = period.as_of.date()
    last = (period.coming_end - timedelta(microseconds=1)).date()
    days = (last - first).days + 1
    return tuple(
        (first + timedelta(days=offset), counts.get(first + timedelta(days=offset), 0))
        for offset in range(days)
    )


def _folder_totals(rows: Sequence[FolderCount]) -> dict[tuple[str, str], Totals]:
    """Return (root folder, folder path) -> every file of a section there."""
    merged: dict[tuple[str, str], tuple[int, int, dict[str, int]]] = {}
    for row in rows:
        count, size, statuses = merged.get((row.root, row.folder), (0, 0, {}))
        statuses[row.status] = statuses.get(row.status, 0) + row.count
        merged[(row.root, row.folder)] = (count + row.count, size + row.size, statuses)
    return {key: Totals(*value) for key, value in merged.items()}


def _section_roots(inputs: Inputs) -> dict[str, dict[str, int]]:
    """Return section key -> root folder -> how many the section stands for there."""
    counted: dict[str, dict[str, int]] = {}
    for key, counts in inputs.root_counts.items():
        by_root = counted.setdefault(key, {})
        for root_path, n in counts.items():
            by_root[root_path or ""] = by_root.get(root_path or "", 0) + n
    return counted


def _root_summaries(
    roots: Sequence[RootInfo],
    status_counts: Mapping[tuple[str, str], int],
    sections: Sequence[Section],
    lookup: Roots,
    unreadable: Mapping[str, int] | None = None,
    counted: Mapping[str, Mapping[str, int]] | None = None,
) -> tuple[RootSummary, ...]:
    labels: dict[str, RootInfo] = {}
    for info in roots:
        labels[info.label] = info
    for root_path in [*(path for path, _status in status_counts), *(unreadable or {})]:
        info = lookup(root_path)
        labels.setdefault(info.label, info)
    for section in sections:
        for item in section.items:
            labels.setdefault(item.root, RootInfo("", item.root, item.owner))
    summaries = []
    for label, info in sorted(labels.items()):
        by_status = {
            status.value: sum(
                n
                for (path, s), n in status_counts.items()
                if s == status and lookup(path).label == label
            )
            for status in AI_STATUSES
        }
        by_section = {
            section.key: sum(
                n for path, n in (counted or {})[section.key].items() if lookup(path).label == label
            )
            if section.key in (counted or {})
            else sum(1 for item in section.items if item.root == label)
            for section in sections
        }
        if unreadable is not None:  # of every file, not only those the section names
            by_section["unreadable"] = sum(
                n for path, n in unreadable.items() if lookup(path).label == label
            )
        summaries.append(RootSummary(label, info.path, info.owner, by_status, by_section))
    return tuple(summaries)


def attention_reason(line: AssetLine) -> str:
    """Say why an asset needs attention: its tool and its risk, with the rules that fired,
    its C2PA signature's trust, and its mark that could not be read, with why."""
    parts = []
    tool_status = line.extra.get("tool_status")
    if tool_status in ("unknown", "unapproved"):
        name = line.extra.get("tool_name") or line.generator or "no generator recorded"
        parts.append(f"{tool_status} tool: {name}")
    risk = line.extra.get("risk")
    if risk == "blocked":
        rules = line.extra.get("risk_rules") or ""
        parts.append(f"{risk} risk" + (f" ({rules})" if rules else ""))
    trust = line.extra.get("c2pa_trust")
    if trust:
        signer = line.extra.get("c2pa_signer") or "unknown signer"
        parts.append(f"C2PA signature {trust} ({signer})")
    if line.ai_class == "suspect":
        problem = line.extra.get("unread_problem") or ""
        kind = line.extra.get("unread_kind") or ""
        if problem:
            parts.append(f"mark unreadable: {problem}")
        else:
            parts.append(f"mark unreadable ({kind})" if kind else "mark unreadable")
    if not parts and not line.generator:
        parts.append("unknown tool: no generator recorded")
    return "; ".join(parts) or "needs clearance review"


def _merged(*sources: Iterable[AssetLine]) -> list[AssetLine]:
    """Return the lines of every source by path, one per asset, their facts together."""
    lines: dict[int, AssetLine] = {}
    for source in sources:
        for line in source:
            known = lines.get(line.id)
            if known is not None:
                line = replace(known, extra={**known.extra, **line.extra})
            lines[line.id] = line
    return sorted(lines.values(), key=lambda line: line.path)


def assemble(
    inputs: Inputs,
    period: Period,
    generated_at: datetime,
    roots: Sequence[RootInfo] = (),
    scope: str = "all roots",
    quarantine_for: Callable[[str | None], timedelta | None] = lambda _p: DEFAULT_QUARANTINE_FOR,
) -> Report:
    """Return the Report for ``period`` from the catalog's answers in ``inputs``.

    ``quarantine_for`` gives a policy's quarantine time (None: a flag-only policy never
    deletes), for quarantined assets whose record does not say when their bytes go.
    """
    lookup = Roots(roots)
    as_of = period.as_of
    needs = inputs.needs
    items: dict[str, tuple[Item, ...]] = {
        "expiring": tuple(
            asset_item("expiring", line, lookup, as_of, needs) for line in inputs.due
        ),
        "overdue": tuple(
            asset_item(
                "overdue",
                line,
                lookup,
                as_of,
                needs,
                reason=str(line.status)
                if line.status in OVERDUE
                else "past its deadline, not yet flagged",
            )
            for line in inputs.overdue
        ),
        "quarantined": tuple(
            quarantine_item(line, lookup, as_of, quarantine_for) for line in inputs.quarantined
        ),
        "purged": tuple(purged_item(event, lookup) for event in inputs.purged),
        "cleared": tuple(cleared_item(event, lookup) for event in inputs.cleared),
        "voided": tuple(voided_item(event, lookup, needs) for event in inputs.voided),
        "attention": tuple(
            asset_item(
                "attention",
                line,
                lookup,
                as_of,
                reason=attention_reason(line),
                commands=(
                    tag_command(line.path),
                    *item_commands(line.status, line.path, needs.asset(line.id)),
                ),
            )
            for line in _merged(inputs.unknown_tool, inputs.untrusted_c2pa, inputs.unread_marks)[
                :SECTION_SHOWN
            ]
        ),
        "waiting": tuple(waiting_item(step, lookup) for step in inputs.waiting),
        "unreadable": tuple(
            unreadable_item(row, lookup, inputs.unreadable_retries) for row in inputs.unreadable
        ),
    }
    unreadable = sum(inputs.unreadable_counts.values())
    section_notes = dict(inputs.missing_sources)
    if unreadable > len(items["unreadable"]):
        section_notes["unreadable"] = (
            f"the first {len(items['unreadable'])} of {unreadable}; "
            "`provenance list --unreadable` lists them all"
        )
    counted = _section_roots(inputs)
    stands_for: dict[str, int | None] = {key: None for key in SECTION_KEYS}
    stands_for["unreadable"] = unreadable
    for key, by_root in counted.items():
        # a row added since the count: the named items are the truth
        stands_for[key] = max(sum(by_root.values()), len(items[key]))
        if stands_for[key] != len(items[key]) and key not in section_notes:
            section_notes[key] = (
                f"the first {len(items[key])} of {stands_for[key]} {ORDERED.get(key, 'by date')}; "
                "each folder's line counts all of its files"
            )
    sections = tuple(
        Section(
            key,
            SECTION_TITLES[key],
            items[key],
            section_notes.get(key, ""),
            total=stands_for[key],
            groups=group_items(
                key,
                items[key],
                _folder_totals(inputs.folders[key]) if key in inputs.folders else None,
                needs.folder,
            ),
        )
        for key in SECTION_KEYS
    )
    ranked, more = alerts(
        {section.key: section.groups for section in sections},
        unknown_tools=inputs.unknown_tools,
        tools_registered=inputs.tools_registered,
    )
    totals = {
        status.value: sum(n for (_root, s), n in inputs.status_counts.items() if s == status)
        for status in AI_STATUSES
    }
    notes = tuple(f"{SECTION_TITLES[k]}: {why}" for k, why in inputs.missing_sources.items())
    return Report(
        generated_at=generated_at,
        period=period,
        scope=scope,
        sections=sections,
        roots=_root_summaries(
            roots, inputs.status_counts, sections, lookup, inputs.unreadable_counts, counted
        ),
        totals=totals,
        per_day=_per_day(period, inputs.per_day),
        trend=_trend(period, inputs.weekly),
        notes=notes,
        audit=inputs.audit,
        alerts=ranked,
        alerts_more=more,
    )
