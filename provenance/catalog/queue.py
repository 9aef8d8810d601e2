"""The review queue's queries: the uncleared AI assets a page at a time, by path (keyset: the
page after a path, never an OFFSET), and how many a folder holds with its nearest deadline.

Each query names the conditions of the partial index ``ix_assets_queue`` (the paths of
uncleared AI assets) in the index's own words (``migrations.QUEUE_WHERE``: SQLite uses a
partial index only for a query that states its condition), so that a page reads its hundred
rows from that index, however many files that are not AI or decided lie between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, case, exists, func, literal, literal_column, select, text, union_all

from provenance.catalog.lines import ASSET_LINE_COLUMNS, AssetLine
from provenance.catalog.migrations import QUEUE_INDEX_NAME, QUEUE_WHERE
from provenance.catalog.models import Asset, Clearance
from provenance.catalog.store import Tx, bytewise, path_under
from provenance.lifecycle.states import UNCLEARED, Status

_A = cast(Table, Asset.__table__).c  # type: ignore[attr-defined]
_C = cast(Table, Clearance.__table__).c  # type: ignore[attr-defined]


@dataclass(frozen=True)
class QueueLine:
    """One uncleared AI asset as the queue lists it: the report's line, its uid and risk."""

    line: AssetLine
    uid: str
    risk: str | None
    tool_status: str | None


@dataclass(frozen=True)
class Span:
    """How many uncleared AI assets a folder holds and the nearest deadline among them."""

    count: int
    nearest: datetime | None


@dataclass(frozen=True)
class Total:
    """The whole queue (or a folder's part of it): how many uncleared AI assets, how many of
    them are past their deadline, and how many are held."""

    count: int
    overdue: int
    held: int


class _Source:
    """The assets table as the queue's queries read it: on SQLite through ``ix_assets_queue``
    by name (``INDEXED BY``: a catalog never analysed leaves SQLite's planner to guess, and
    it guesses the status index, then sorts every uncleared asset for one page); on a server
    as it is (its planner has the statistics autovacuum keeps)."""

    def __init__(self, tx: Tx) -> None:
        self.sqlite = tx.dialect == "sqlite"
        self.dialect = tx.dialect
        self.table: Any = text(f"assets INDEXED BY {QUEUE_INDEX_NAME}") if self.sqlite else None
        self._columns: dict[str, Any] = {}
        self._queued: tuple[Any, ...] | None = None

    def __getitem__(self, name: str) -> Any:
        if not self.sqlite:
            return _A[name]
        if name not in self._columns:  # by its name, typed: the FROM is the hinted table alone
            self._columns[name] = literal_column(f"assets.{name}", _A[name].type)
        return self._columns[name]

    def select(self, *columns: Any) -> Any:
        query = select(*columns)
        return query.select_from(self.table) if self.sqlite else query

    def queued(self, folder: str | None = None) -> tuple[Any, ...]:
        """The conditions of an uncleared AI asset (at or under ``folder``)."""
        if self._queued is None:  # built once: a page's spans share them
            self._queued = (
                text(QUEUE_WHERE),
                ~exists().where(_C.asset_id == self["id"], _C.voided_at.is_(None)),
            )
        if folder is None:
            return self._queued
        return (*self._queued, path_under(self["path"], folder, self.dialect))


def queue_page(
    tx: Tx, *, after: str | None = None, limit: int = 100, under: str | None = None
) -> list[QueueLine]:
    """Return up to ``limit`` uncleared AI assets by path in byte order (a folder's files lie
    together, as in ``path_under``'s range), those after the path ``after`` (the last of the
    page before), at or under the folder ``under``."""
    assets = _Source(tx)
    names = [column.name for column in ASSET_LINE_COLUMNS] + ["uid", "risk", "tool_status"]
    query = assets.select(*(assets[name] for name in names)).where(*assets.queued(under))
    ordered = bytewise(assets["path"], tx.dialect)
    if after is not None:
        query = query.where(ordered > after)
    rows = tx.session.execute(query.order_by(ordered).limit(limit))
    width = len(ASSET_LINE_COLUMNS)
    return [
        QueueLine(AssetLine(*row[:width]), row[width], row[width + 1], row[width + 2])
        for row in rows
    ]


def queue_spans(tx: Tx, folders: Sequence[tuple[str, bool]]) -> dict[tuple[str, bool], Span]:
    """Return each folder's span: ``(folder, True)`` counts the files right in the folder,
    ``(folder, False)`` everything at or under it. One statement for them all (each a range
    of the queue index), not one per folder."""
    wanted = list(dict.fromkeys(folders))
    if not wanted:
        return {}
    assets = _Source(tx)
    find = func.instr if assets.sqlite else func.strpos
    parts: list[Any] = []
    for index, (folder, direct) in enumerate(wanted):
        part = assets.select(
            literal(index).label("n"),
            func.count().label("files"),
            func.min(assets["deadline"]).label("nearest"),
        ).where(*assets.queued(folder))
        if direct:
            depth = len(folder.rstrip("/")) + 2
            part = part.where(find(func.substr(assets["path"], depth), "/") == 0)
        parts.append(part)
    query: Any = parts[0] if len(parts) == 1 else union_all(*parts)
    spans = {}
    for index, count, nearest in tx.session.execute(query):
        if isinstance(nearest, str):  # a min() the column's type did not convert (a union's)
            nearest = datetime.fromisoformat(nearest).replace(tzinfo=UTC)
        spans[wanted[index]] = Span(int(count or 0), nearest)
    return spans


def queue_total(tx: Tx, now: datetime, under: str | None = None) -> Total:
    """Return the total of the queue (at or under the folder ``under``): one statement.

    The whole queue is counted from the status indexes (``ix_assets_status_root`` holds the
    status and AI class of every asset: a count from it alone; ``ix_assets_status_deadline``
    the overdue ones), less the uncleared assets a live clearance covers (a hold wins over
    one), found from the live clearances. A folder's part is a range of the queue index."""
    uncleared = (_A.status.in_(sorted(UNCLEARED)), _A.ai_class != "none")
    if under is not None:
        assets = _Source(tx)
        overdue: Any = func.coalesce(func.sum(case((assets["deadline"] < now, 1), else_=0)), 0)
        kept = cast(Table, Asset.__table__).alias("held_assets")  # type: ignore[attr-defined]
        held = (
            select(func.count())
            .select_from(kept)
            .where(
                kept.c.status == Status.HELD,
                kept.c.ai_class != "none",
                ~exists().where(_C.asset_id == kept.c.id, _C.voided_at.is_(None)),
                path_under(kept.c.path, under, tx.dialect),
            )
            .scalar_subquery()
        )
        query = assets.select(func.count(), overdue, held).where(*assets.queued(under))
        count, late, holds = tx.session.execute(query).one()
        return Total(int(count or 0), int(late or 0), int(holds or 0))

    def counted(*where: Any) -> Any:
        return select(func.count()).select_from(Asset).where(*where).scalar_subquery()

    def cleared(*where: Any) -> Any:
        covered = select(func.count()).select_from(Clearance).join(Asset, _A.id == _C.asset_id)
        return covered.where(_C.voided_at.is_(None), *uncleared, *where).scalar_subquery()

    query = select(
        counted(*uncleared),
        counted(*uncleared, _A.deadline < now),
        counted(_A.status == Status.HELD, _A.ai_class != "none"),
        cleared(),
        cleared(_A.deadline < now),
        cleared(_A.status == Status.HELD),
    )
    count, late, holds, less, less_late, less_held = tx.session.execute(query).one()
    return Total(int(count - less), int(late - less_late), int(holds - less_held))
