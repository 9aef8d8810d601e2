"""The weekly report as values: query results in, frozen dataclasses out (no I/O, no clock).

``assemble`` turns what the catalog queries yield (``AssetLine``, ``EventLine``, counts) into
a ``Report`` the renderers print. Every date is aware UTC; "days left" counts calendar days
from the report's ``as_of`` day.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from provenance.catalog.reports import AssetLine, EventLine

#: Section keys in the order the report shows them.
SECTION_KEYS = ("expiring", "overdue", "quarantined", "purged", "cleared", "voided", "attention")
SECTION_TITLES = {
    "expiring": "Expiring in the coming period",
    "overdue": "Flagged or overdue",
    "quarantined": "Quarantined",
    "purged": "Purged in the past period",
    "cleared": "Cleared in the past period",
    "voided": "Clearances voided or revoked",
    "attention": "Unknown or unapproved tools, high risk without approval",
}
#: Statuses of AI assets, in lifecycle order (for totals and the chart).
AI_STATUSES = ("temporary", "expiring", "flagged", "quarantined", "purged", "cleared", "held")
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
class RootInfo:
    """A production root as the report names it: folder, short name and who answers for it."""

    path: str
    label: str
    owner: str = ""


@dataclass(frozen=True)
class Item:
    """One asset in one section. ``when`` is the section's date (due, deletion, event)."""

    section: str
    path: str
    root: str
    owner: str
    status: str
    generator: str
    rule: str
    when: datetime | None
    days_left: int | None
    who: str = ""
    reason: str = ""
    content_hash: str = ""
    size: int | None = None
    #: Approval reference, quarantine location or purge receipt location, by section.
    reference: str = ""
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    items: tuple[Item, ...]
    #: Said when part of the section's source does not exist in this catalog yet.
    note: str = ""


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


# --- commands -------------------------------------------------------------------------


def clear_command(path: str) -> str:
    return f"provenance clear {shlex.quote(path)} --approval REF"


def hold_command(path: str) -> str:
    return f"provenance hold {shlex.quote(path)} --reason TEXT"


def restore_command(path: str) -> str:
    return f"provenance restore {shlex.quote(path)}"


def tag_command(path: str) -> str:
    return f"provenance tag {shlex.quote(path)} --tool TOOL"


# --- assembly ----------------------------------------------------------------------------


def _days_between(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else (end.date() - start.date()).days


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


class _Roots:
    """Root folder -> RootInfo; a root the settings do not name is shown by its folder."""

    def __init__(self, roots: Sequence[RootInfo]) -> None:
        self.by_path = {info.path: info for info in roots}

    def __call__(self, path: str | None) -> RootInfo:
        key = path or ""
        return self.by_path.get(key) or RootInfo(key, key or "(no root)", "")


def _asset_item(
    section: str, line: AssetLine, roots: _Roots, as_of: datetime, **fields: Any
) -> Item:
    root = roots(line.root)
    values: dict[str, Any] = {
        "section": section,
        "path": line.path,
        "root": root.label,
        "owner": root.owner,
        "status": line.status,
        "generator": _text(line.generator),
        "rule": _text(line.policy),
        "when": line.deadline,
        "days_left": _days_between(as_of, line.deadline),
        "content_hash": _text(line.content_hash),
        "size": line.size,
        "commands": (clear_command(line.path), hold_command(line.path)),
    }
    values.update(fields)
    return Item(**values)


def _quarantine_item(
    line: AssetLine,
    roots: _Roots,
    as_of: datetime,
    keep_for: Callable[[str | None], timedelta | None],
) -> Item:
    extra = line.extra
    since = _as_datetime(extra.get("quarantined_at")) or _as_datetime(extra.get("event_at"))
    delete_on = _as_datetime(extra.get("delete_after")) or _as_datetime(extra.get("purge_due"))
    reason = f"quarantined {since.date().isoformat()}" if since else "quarantined"
    if delete_on is None and since is not None:
        kept_for = keep_for(line.policy)
        if kept_for is None:
            reason += "; flag-only policy: kept until restored"
        else:
            delete_on = since + kept_for
    location = _text(extra.get("quarantine_path") or extra.get("path"))
    return _asset_item(
        "quarantined",
        line,
        roots,
        as_of,
        when=delete_on,
        days_left=_days_between(as_of, delete_on),
        reason=reason,
        reference=location,
        commands=(restore_command(line.path),),
    )


def _event_item(section: str, event: EventLine, roots: _Roots, **fields: Any) -> Item:
    root = roots(event.root)
    before, after = event.before, event.after
    path = _text(event.path or after.get("path") or before.get("path"))
    values: dict[str, Any] = {
        "section": section,
        "path": path,
        "root": root.label,
        "owner": root.owner,
        "status": _text(after.get("status")) or event.action,
        "generator": _text(event.generator),
        "rule": _text(after.get("rule") or event.policy),
        "when": event.at,
        "days_left": None,
        "who": f"{event.user}@{event.host}",
        "reason": event.reason,
        "content_hash": _text(after.get("content_hash") or after.get("hash")),
        "size": _int(after.get("size")),
    }
    values.update(fields)
    return Item(**values)


def _purged_item(event: EventLine, roots: _Roots) -> Item:
    # the lifecycle work writes its receipt under "receipt"; flat keys are read too
    nested = event.after.get("receipt")
    receipt: Mapping[str, Any] = nested if isinstance(nested, Mapping) else event.after
    return _event_item(
        "purged",
        event,
        roots,
        path=_text(receipt.get("path") or event.path),
        status="purged",
        rule=_text(receipt.get("rule") or event.policy),
        who=_text(receipt.get("by")) or f"{event.user}@{event.host}",
        content_hash=_text(receipt.get("content_hash") or receipt.get("hash")),
        size=_int(receipt.get("size")),
        reference=_text(receipt.get("quarantine_path")),
    )


def _cleared_item(event: EventLine, roots: _Roots) -> Item:
    after = event.after
    return _event_item(
        "cleared",
        event,
        roots,
        status="cleared",
        reference=_text(after.get("approval") or after.get("approval_ref")),
    )


def _voided_item(event: EventLine, roots: _Roots) -> Item:
    path = _text(event.path)
    return _event_item(
        "voided",
        event,
        roots,
        status=_text(event.after.get("status")) or "temporary",
        reason=f"{event.action}: {event.reason}" if event.reason else event.action,
        commands=(clear_command(path), hold_command(path)) if path else (),
    )


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


def _root_summaries(
    roots: Sequence[RootInfo],
    status_counts: Mapping[tuple[str, str], int],
    sections: Sequence[Section],
    lookup: _Roots,
) -> tuple[RootSummary, ...]:
    labels: dict[str, RootInfo] = {}
    for info in roots:
        labels[info.label] = info
    for root_path, _status in status_counts:
        info = lookup(root_path)
        labels.setdefault(info.label, info)
    for section in sections:
        for item in section.items:
            labels.setdefault(item.root, RootInfo("", item.root, item.owner))
    summaries = []
    for label, info in sorted(labels.items()):
        by_status = {
            status: sum(
                n
                for (path, s), n in status_counts.items()
                if s == status and lookup(path).label == label
            )
            for status in AI_STATUSES
        }
        by_section = {
            section.key: sum(1 for item in section.items if item.root == label)
            for section in sections
        }
        summaries.append(RootSummary(label, info.path, info.owner, by_status, by_section))
    return tuple(summaries)


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
    lookup = _Roots(roots)
    as_of = period.as_of
    items: dict[str, tuple[Item, ...]] = {
        "expiring": tuple(_asset_item("expiring", line, lookup, as_of) for line in inputs.due),
        "overdue": tuple(
            _asset_item(
                "overdue",
                line,
                lookup,
                as_of,
                reason="flagged"
                if line.status == "flagged"
                else "past its deadline, not yet flagged",
            )
            for line in inputs.overdue
        ),
        "quarantined": tuple(
            _quarantine_item(line, lookup, as_of, quarantine_for) for line in inputs.quarantined
        ),
        "purged": tuple(_purged_item(event, lookup) for event in inputs.purged),
        "cleared": tuple(_cleared_item(event, lookup) for event in inputs.cleared),
        "voided": tuple(_voided_item(event, lookup) for event in inputs.voided),
        "attention": tuple(
            _asset_item(
                "attention",
                line,
                lookup,
                as_of,
                reason="unknown tool: no generator recorded",
                commands=(
                    tag_command(line.path),
                    clear_command(line.path),
                    hold_command(line.path),
                ),
            )
            for line in inputs.unknown_tool
        ),
    }
    sections = tuple(
        Section(key, SECTION_TITLES[key], items[key], inputs.missing_sources.get(key, ""))
        for key in SECTION_KEYS
    )
    totals = {
        status: sum(n for (_root, s), n in inputs.status_counts.items() if s == status)
        for status in AI_STATUSES
    }
    notes = tuple(f"{SECTION_TITLES[k]}: {why}" for k, why in inputs.missing_sources.items())
    return Report(
        generated_at=generated_at,
        period=period,
        scope=scope,
        sections=sections,
        roots=_root_summaries(roots, inputs.status_counts, sections, lookup),
        totals=totals,
        per_day=_per_day(period, inputs.per_day),
        trend=_trend(period, inputs.weekly),
        notes=notes,
    )
