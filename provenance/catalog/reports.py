"""The queries the weekly report needs: the database aggregates, rows stream.

Each function takes an open ``Tx`` and returns plain values (``AssetLine``, ``EventLine``,
counts); nothing here loads every asset. ``root`` narrows any query to one production root
(the asset's ``root`` column, a folder path). Prompts are never selected.

Sections whose source is another module's work read it defensively: the quarantine facts
come from the asset's columns when the catalog has them (``quarantined_at``,
``quarantine_path``) and otherwise from the ``after`` of the asset's last ``quarantined``
event, so the report fills in as the lifecycle work lands.
"""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    String,
    Table,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    select,
    text,
    type_coerce,
    union,
)
from sqlalchemy.sql import ColumnElement

from provenance.catalog.clearance import (
    attention_assets,
    attention_where,
    few_by_path,
    no_active_clearance,
)
from provenance.catalog.lines import ASSET_LINE_COLUMNS, AssetLine
from provenance.catalog.migrations import (
    DOUBTFUL_C2PA_WHERE,
    FOUND_EVENTS_WHERE,
    FOUND_EVENTS_WHERE_SQLITE,
    UNREAD_MARK_WHERE,
    UNTOOLED_WHERE,
)
from provenance.catalog.models import Asset, Event, SignalRow
from provenance.catalog.store import Tx
from provenance.lifecycle.states import AI_STATUSES, OPEN, OVERDUE, UNCLEARED, Status

_ASSETS = cast(Table, Asset.__table__)  # type: ignore[attr-defined]
_EVENTS = cast(Table, Event.__table__)  # type: ignore[attr-defined]
_SIGNALS = cast(Table, SignalRow.__table__)  # type: ignore[attr-defined]
_A = _ASSETS.c
_E = _EVENTS.c
_BY_DEADLINE = (_A.deadline, _A.path)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Asset columns the lifecycle work added; read when the catalog has them.
OPTIONAL_COLUMNS = ("quarantined_at", "quarantine_path", "purged_at")
#: Audit actions that mean "an AI asset was found" (first index, copy, manual tag).
FOUND_ACTIONS = ("indexed", "copied", "tagged")


@dataclass(frozen=True)
class EventLine:
    """One audit event with the facts of its asset the report needs."""

    id: int
    asset_id: int | None
    at: datetime
    action: str
    user: str
    host: str
    path: str | None
    reason: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    root: str | None
    generator: str | None
    policy: str | None


def _optional_columns() -> list[Any]:
    return [_A[name] for name in OPTIONAL_COLUMNS if name in _A]


def _asset_columns() -> list[Any]:
    return list(ASSET_LINE_COLUMNS)


def _line(row: Any, optional: Sequence[Any], event_after: Any = None) -> AssetLine:
    base = row[:13]
    extra: dict[str, Any] = {}
    if isinstance(event_after, Mapping):
        extra.update(event_after)
    for index, column in enumerate(optional):
        value = row[13 + index]
        if value is not None:
            extra[column.name] = value
    return AssetLine(*base, extra=extra)  # type: ignore[misc]


def _is_ai() -> ColumnElement[bool]:
    return _A.ai_class != "none"


def _in_root(query: Any, root: str | None) -> Any:
    return query if root is None else query.where(_A.root == root)


def _stream(tx: Tx, query: Any) -> Iterator[Any]:
    yield from tx.session.execute(query.execution_options(yield_per=2000))


@dataclass(frozen=True)
class FolderCount:
    """How many of a section's assets one folder holds in one status, and their bytes
    (``folder``: the files' own folder, without a trailing slash)."""

    root: str
    folder: str
    status: str
    count: int
    size: int


def _is_ai_row() -> ColumnElement[bool]:
    """``_is_ai`` checked on each row a status or deadline index found, never from an
    index: PostgreSQL otherwise reads the whole partial index of AI assets
    (``ix_assets_ai_size``, every AI asset) to intersect with the few rows due (0.04 s on
    1,000,000 assets, ten times that on 10,000,000, for each section's query)."""
    return (_A.ai_class + "") != "none"


def _due(start: datetime, end: datetime) -> tuple[ColumnElement[bool], ...]:
    return (_is_ai_row(), _A.status.in_(OPEN), _A.deadline >= start, _A.deadline < end)


def _flagged() -> tuple[ColumnElement[bool], ...]:
    return (_is_ai_row(), _A.status.in_(OVERDUE))


def _late(before: datetime, statuses: Sequence[str] = OPEN) -> tuple[ColumnElement[bool], ...]:
    return (_is_ai_row(), _A.status.in_(statuses), _A.deadline < before)


def _limited(query: Any, limit: int | None) -> Any:
    return query if limit is None else query.limit(limit)


def due_assets(
    tx: Tx, start: datetime, end: datetime, root: str | None = None, limit: int | None = None
) -> Iterator[AssetLine]:
    """Yield open AI assets whose deadline falls in ``[start, end)``, soonest first (the
    first ``limit``)."""
    optional = _optional_columns()
    query = select(*_asset_columns(), *optional).where(*_due(start, end))
    query = _in_root(query, root).order_by(_A.deadline, _A.path)
    for row in _stream(tx, _limited(query, limit)):
        yield _line(row, optional)


def overdue_assets(
    tx: Tx, before: datetime, root: str | None = None, limit: int | None = None
) -> Iterator[AssetLine]:
    """Yield flagged AI assets, and open ones whose deadline passed before ``before``, by
    deadline (the first ``limit``).

    One indexed query per status (status and deadline), merged in deadline order: one
    query with ``OR`` makes SQLite read the whole table, and one of both open statuses
    (``IN``), once analysed, walks the deadline index through every asset whose deadline
    has passed (flagged, quarantined, purged, cleared: most of them, in time) to find the
    few open ones.
    """
    optional = _optional_columns()
    streams = [
        (
            _line(row, optional)
            for row in _stream(
                tx,
                _limited(
                    _in_root(select(*_asset_columns(), *optional).where(*where), root).order_by(
                        *_BY_DEADLINE
                    ),
                    limit,
                ),
            )
        )
        for where in (_flagged(), *(_late(before, (status,)) for status in OPEN))
    ]
    merged = heapq.merge(*streams, key=_deadline_order)
    yield from merged if limit is None else itertools.islice(merged, limit)


def _counts(
    tx: Tx, where: Sequence[ColumnElement[bool]], root: str | None, folders: Collection[str]
) -> tuple[dict[str | None, int], list[FolderCount]]:
    """Return, in one pass over the section's rows, how many there are by root and, in
    ``folders`` (each file's own folder), by folder and status with their bytes."""
    # a path without its last name: SQLite and PostgreSQL both trim the trailing
    # characters that are not "/" (``rtrim`` of the path's own non-slash characters)
    folder = func.rtrim(_A.path, func.replace(_A.path, "/", ""))
    wanted = sorted({name if name.endswith("/") else name + "/" for name in folders})
    # the folders as one JSON parameter (a list of them may be longer than SQLite takes)
    if tx.dialect == "postgresql":
        listed = select(func.json_array_elements_text(bindparam("folders", wanted, JSON)))
    else:
        listed = select(literal_column("value")).select_from(func.json_each(json.dumps(wanted)))
    named = case((folder.in_(listed.scalar_subquery()), folder), else_=None)
    query = select(
        _A.root, named, _A.status, func.count(), func.coalesce(func.sum(_A.size), 0)
    ).where(*where)
    query = _in_root(query, root).group_by(_A.root, named, _A.status)
    by_root: dict[str | None, int] = {}
    found = []
    for row in tx.session.execute(query):
        by_root[row[0]] = by_root.get(row[0], 0) + int(row[3])
        if row[1] is not None:
            name = str(row[1]).rstrip("/") or "/"
            found.append(FolderCount(row[0], name, row[2], int(row[3]), int(row[4])))
    return by_root, found


def _added(
    *parts: tuple[dict[str | None, int], list[FolderCount]],
) -> tuple[dict[str | None, int], list[FolderCount]]:
    total: dict[str | None, int] = {}
    found: list[FolderCount] = []
    for counts, folders in parts:
        for key, n in counts.items():
            total[key] = total.get(key, 0) + n
        found += folders
    return total, found


def due_counts(
    tx: Tx, start: datetime, end: datetime, root: str | None, folders: Collection[str]
) -> tuple[dict[str | None, int], list[FolderCount]]:
    """Count what ``due_assets`` yields by root, and in ``folders`` by folder and status."""
    return _counts(tx, _due(start, end), root, folders)


def overdue_counts(
    tx: Tx, before: datetime, root: str | None, folders: Collection[str]
) -> tuple[dict[str | None, int], list[FolderCount]]:
    """Count what ``overdue_assets`` yields by root, and in ``folders`` by folder and status."""
    return _added(_counts(tx, _flagged(), root, folders), _counts(tx, _late(before), root, folders))


def _quarantined() -> tuple[ColumnElement[bool], ...]:
    return (_A.status == Status.QUARANTINED,)


def quarantined_counts(
    tx: Tx, root: str | None, folders: Collection[str]
) -> tuple[dict[str | None, int], list[FolderCount]]:
    """Count what ``quarantined_assets`` yields by root, and in ``folders`` by folder and
    status."""
    return _counts(tx, _quarantined(), root, folders)


def _deadline_order(line: AssetLine) -> tuple[bool, datetime, str]:
    return (line.deadline is None, line.deadline or _EPOCH, line.path)


def quarantined_assets(
    tx: Tx, root: str | None = None, limit: int | None = None
) -> Iterator[AssetLine]:
    """Yield quarantined assets with the facts of their last ``quarantined`` event in
    ``extra``, by deadline (the first ``limit``)."""
    optional = _optional_columns()
    last_event = (
        select(_E.after)
        .where(_E.asset_id == _A.id, _E.action == Status.QUARANTINED)
        .order_by(_E.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    last_at = (
        select(_E.at)
        .where(_E.asset_id == _A.id, _E.action == Status.QUARANTINED)
        .order_by(_E.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = select(*_asset_columns(), *optional, last_event, last_at).where(*_quarantined())
    # deadline first: ordering by path alone makes SQLite walk the path index (every asset)
    query = _in_root(query, root).order_by(*_BY_DEADLINE)
    width = 13 + len(optional)
    for row in _stream(tx, _limited(query, limit)):
        after, at = row[width], row[width + 1]
        facts = dict(after) if isinstance(after, Mapping) else {}
        if at is not None:
            facts.setdefault("event_at", at)
        yield _line(row, optional, facts)


def _untooled() -> tuple[ColumnElement[bool], ...]:
    """Uncleared AI assets written before the clearance rules assessed them that name no
    tool. Literal SQL, the partial index's own words (``migrations._v20_untooled_index``):
    the database reads those rows alone, not every uncleared AI asset's."""
    untooled: ColumnElement[bool] = text(UNTOOLED_WHERE)  # type: ignore[assignment]
    return (untooled, _A.status.in_(UNCLEARED))


def attention_lines(
    tx: Tx, root: str | None = None, *, unknown_tools: bool = True, limit: int | None = None
) -> Iterator[AssetLine]:
    """Yield uncleared AI assets from unapproved (and, with ``unknown_tools``, unknown)
    tools, or of blocked risk; each of the two sources by path (its first ``limit``).

    The facts come from the clearance rules (``provenance.catalog.clearance``); ``extra``
    carries ``risk``, ``risk_rules``, ``tool_status`` and ``tool_name``.
    """
    for row in attention_assets(tx, root, unknown_tools=unknown_tools, limit=limit):
        mapping = row._mapping
        extra = {
            key: mapping[key]
            for key in ("risk", "risk_rules", "tool_status", "tool_name")
            if key in mapping and mapping[key] is not None
        }
        yield AssetLine(*row[:13], extra=extra)  # type: ignore[call-arg]
    if not unknown_tools:
        return
    # rows written before the clearance rules assessed them: a missing tool is still news
    optional = _optional_columns()
    query = select(*_asset_columns(), *optional).where(*_untooled())
    query = _in_root(query, root).order_by(few_by_path(tx.dialect))
    for row in _stream(tx, _limited(query, limit)):
        yield _line(row, optional)


#: C2PA trust words (``provenance.detect.trust``) the report calls out.
DOUBTFUL_TRUST = ("untrusted", "invalid")


def _doubtful_c2pa_in(dialect: str) -> tuple[ColumnElement[bool], ...]:
    """Signals (joined to their asset) of an uncleared AI asset's C2PA signature that is
    untrusted or invalid. Literal SQL, the partial index's own words
    (``migrations._v19_doubtful_c2pa``): the database reads those signals alone, not every
    signal with its JSON."""
    doubtful: ColumnElement[bool] = text(DOUBTFUL_C2PA_WHERE[dialect])  # type: ignore[assignment]
    return (doubtful, _is_ai(), _A.status.in_(UNCLEARED))


def untrusted_c2pa_lines(
    tx: Tx, root: str | None = None, limit: int | None = None
) -> Iterator[AssetLine]:
    """Yield uncleared AI assets whose C2PA signature is untrusted or invalid, by path (the
    first ``limit`` signals); ``extra`` carries ``c2pa_trust`` and ``c2pa_signer`` (one line
    per asset)."""
    trust = _SIGNALS.c.detail["trust"].as_string()
    signer = _SIGNALS.c.detail["signer"].as_string()
    query = (
        select(*_asset_columns(), trust, signer)
        .join(_SIGNALS, _SIGNALS.c.asset_id == _A.id)
        .where(*_doubtful_c2pa_in(tx.dialect))
    )
    seen: set[int] = set()
    ordered = _in_root(query, root).order_by(few_by_path(tx.dialect))
    for row in _stream(tx, _limited(ordered, limit)):
        if row[0] in seen:
            continue
        seen.add(row[0])
        extra = {"c2pa_trust": row[13], "c2pa_signer": row[14]}
        yield AssetLine(*row[:13], extra=extra)  # type: ignore[misc]


def _unread_mark() -> tuple[ColumnElement[bool], ...]:
    """Uncleared assets whose mark is there but could not be read (class ``suspect``), with
    no clearance in force. Literal SQL, the partial index's own words
    (``migrations._v22_unread_mark_index``): the database reads those rows alone, not every
    uncleared AI asset's."""
    unread: ColumnElement[bool] = text(UNREAD_MARK_WHERE)  # type: ignore[assignment]
    return (unread, _A.status.in_(UNCLEARED), no_active_clearance())


def _first_unread(column: Any) -> Any:
    """``column`` of the asset's first ``suspect`` signal (the mark unread), by its index
    of signals by asset."""
    return (
        select(column)
        .where(_SIGNALS.c.asset_id == _A.id, _SIGNALS.c.ai_class == "suspect")
        .order_by(_SIGNALS.c.id)
        .limit(1)
        .scalar_subquery()
    )


def unread_mark_lines(
    tx: Tx, root: str | None = None, limit: int | None = None
) -> Iterator[AssetLine]:
    """Yield uncleared assets whose mark (a C2PA manifest, a generator's text chunk) is
    there but could not be read, whatever the tools registry, by path (the first
    ``limit``); ``extra`` carries ``unread_kind`` and ``unread_problem``, those of its first
    unread mark's signal (its kind, and why it could not be read)."""
    kind = _first_unread(_SIGNALS.c.kind)
    problem = _first_unread(_SIGNALS.c.detail["unreadable"].as_string())
    query = select(*_asset_columns(), kind, problem).where(*_unread_mark())
    ordered = _in_root(query, root).order_by(few_by_path(tx.dialect))
    for row in _stream(tx, _limited(ordered, limit)):
        extra = {"unread_kind": row[13] or "", "unread_problem": row[14] or ""}
        yield AssetLine(*row[:13], extra=extra)  # type: ignore[misc]


def attention_counts(
    tx: Tx, root: str | None, folders: Collection[str], *, unknown_tools: bool = True
) -> tuple[dict[str | None, int], list[FolderCount]]:
    """Count the assets ``attention_lines``, ``untrusted_c2pa_lines`` and
    ``unread_mark_lines`` yield together (each once) by root, and in ``folders`` by folder
    and status."""
    sources = [select(_A.id).where(*attention_where(unknown_tools))]
    if unknown_tools:
        sources.append(select(_A.id).where(*_untooled()))
    sources.append(
        select(_A.id)
        .join(_SIGNALS, _SIGNALS.c.asset_id == _A.id)
        .where(*_doubtful_c2pa_in(tx.dialect))
    )
    sources.append(select(_A.id).where(*_unread_mark()))
    named = union(*(source.correlate(None) for source in sources))
    return _counts(tx, (_A.id.in_(named.scalar_subquery()),), root, folders)


def events_between(
    tx: Tx,
    actions: Sequence[str],
    start: datetime,
    end: datetime,
    root: str | None = None,
    limit: int | None = None,
) -> Iterator[EventLine]:
    """Yield events of ``actions`` at ``[start, end)`` in order (the first ``limit``), with
    their asset's root."""
    query = (
        select(
            _E.id,
            _E.asset_id,
            _E.at,
            _E.action,
            _E.user,
            _E.host,
            _E.path,
            _E.reason,
            _E.before,
            _E.after,
            _A.root,
            _A.generator,
            _A.policy,
        )
        .outerjoin(_ASSETS, _A.id == _E.asset_id)
        .where(
            _E.action.in_(actions),
            _E.at >= start,
            _E.at < end,
        )
    )
    # on SQLite by the time's text (the same order): walking the time index in order, to
    # skip the sort, reads every event of the period (an ``indexed`` one per asset found)
    # to keep the few of ``actions``; (action, at, asset_id) finds those alone
    at = _E.at if tx.dialect == "postgresql" else type_coerce(_E.at, String).concat("")
    query = _in_root(query, root).order_by(at, _E.id)
    for row in _stream(tx, _limited(query, limit)):
        yield EventLine(*row[:8], row[8] or {}, row[9] or {}, *row[10:])  # type: ignore[call-arg]


def events_by_root(
    tx: Tx, actions: Sequence[str], start: datetime, end: datetime, root: str | None = None
) -> dict[str | None, int]:
    """Count what ``events_between`` yields by its asset's root, in the database."""
    query = (
        select(_A.root, func.count())
        .select_from(_EVENTS)
        .outerjoin(_ASSETS, _A.id == _E.asset_id)
        .where(_E.action.in_(actions), _E.at >= start, _E.at < end)
    )
    query = _in_root(query, root).group_by(_A.root)
    return {row[0]: int(row[1]) for row in tx.session.execute(query)}


def status_counts(tx: Tx, root: str | None = None) -> dict[tuple[str, str], int]:
    """Return ``{(root, status): count}`` of AI assets, counted by the database."""
    # naming the statuses lets the status index skip the (many) not-ai rows
    query = select(_A.status, _A.root, func.count()).where(_A.status.in_(AI_STATUSES), _is_ai())
    query = _in_root(query, root).group_by(_A.status, _A.root)
    return {(row[1], row[0]): row[2] for row in tx.session.execute(query)}


def deadlines_per_day(
    tx: Tx, start: datetime, end: datetime, root: str | None = None
) -> dict[date, int]:
    """Return ``{day: count}`` of open AI assets due on each UTC day of ``[start, end)``."""
    day = func.date(_A.deadline)
    query = select(day, func.count()).where(*_due(start, end))
    query = _in_root(query, root).group_by(day)
    counts: dict[date, int] = {}
    for value, count in tx.session.execute(query):
        # SQLite's date() returns text, PostgreSQL's a date
        key = value if isinstance(value, date) else date.fromisoformat(str(value))
        counts[key] = counts.get(key, 0) + count
    return counts


def weekly_activity(
    tx: Tx, week_starts: Sequence[datetime], end: datetime, root: str | None = None
) -> dict[tuple[int, str], int]:
    """Return ``{(week index, kind): count}`` for kinds ``found``, ``cleared``, ``purged``.

    ``week_starts`` are the ascending starts of consecutive buckets; the last one ends at
    ``end``. ``found`` counts AI assets indexed, copied or tagged as AI (the class the event
    recorded), each asset once per week; the others count ``cleared`` and ``purged`` events.
    """
    if not week_starts:
        return {}
    bounds = [*week_starts[1:], end]
    bucket = case(
        *[(_E.at < bound, index) for index, bound in enumerate(bounds)],
        else_=len(bounds),
    )
    in_time = (_E.at >= week_starts[0], _E.at < end)
    # two queries, each read from an index of its own (``migrations._v16_event_indexes``,
    # ``_v18_found_events_sqlite``): the found events by their recorded class (partial), the
    # cleared and purged by action (a move's event is named for its status). Literal SQL,
    # the partial index's own words: the database then reads that index alone
    where = FOUND_EVENTS_WHERE if tx.dialect == "postgresql" else FOUND_EVENTS_WHERE_SQLITE
    found: ColumnElement[bool] = text(where)  # type: ignore[assignment]
    queries = [
        select(bucket, literal("found"), func.count(func.distinct(_E.asset_id)))
        .where(*in_time, found)
        .group_by(bucket),
        select(bucket, _E.action, func.count(func.distinct(_E.asset_id)))
        .where(*in_time, _E.action.in_((Status.CLEARED, Status.PURGED)))
        .group_by(bucket, _E.action),
    ]
    counts: dict[tuple[int, str], int] = {}
    for query in queries:
        if root is not None:
            query = query.join(_ASSETS, _A.id == _E.asset_id).where(_A.root == root)
        for row in tx.session.execute(query):
            counts[(int(row[0]), str(row[1]))] = int(row[2])
    return counts


@dataclass(frozen=True)
class ChainHead:
    """The audit chain's head as `audit verify` and the anchors know it: how many events
    (the newest one's place in the chain) and the newest one's hash; with its row id, the
    key that signed it and its HMAC (None on a chain written before the audit key)."""

    events: int
    head: str
    event_id: int | None = None
    key_id: str | None = None
    mac: str | None = None


def chain_head(tx: Tx) -> ChainHead:
    """Return the audit chain's head, with the newest event's id, key id and HMAC."""
    events, head = tx.chain_head()
    newest = tx.session.execute(
        select(_E.id, _E.key_id, _E.mac).order_by(_E.id.desc()).limit(1)
    ).first()
    if newest is None:
        return ChainHead(events, head)
    return ChainHead(events, head, int(newest[0]), newest[1], newest[2])
