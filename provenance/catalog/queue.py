"""The review queue's queries: the uncleared AI assets a page at a time, by path (keyset: the
page after a path, never an OFFSET), and how many a folder holds with its nearest deadline.

Each query names the conditions of the partial index ``ix_assets_queue`` (the paths of
uncleared AI assets) as the index does, so that SQLite walks that index alone: a page of a
catalog of a million assets reads its hundred rows, whatever comes before them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, exists, func, select, text

from provenance.catalog.lines import ASSET_LINE_COLUMNS, AssetLine
from provenance.catalog.models import Asset, Clearance
from provenance.catalog.store import Tx, path_under
from provenance.lifecycle.states import UNCLEARED

_A = cast(Table, Asset.__table__).c  # type: ignore[attr-defined]
_C = cast(Table, Clearance.__table__).c  # type: ignore[attr-defined]

#: The condition of ``ix_assets_queue``, word for word (SQLite uses a partial index only
#: for a query whose conditions contain the index's own).
QUEUE_WHERE = "ai_class != 'none' AND status IN ({})".format(
    ", ".join(f"'{status}'" for status in UNCLEARED)
)


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


def _queued() -> tuple[Any, ...]:
    return (
        text(QUEUE_WHERE),
        ~exists().where(_C.asset_id == _A.id, _C.voided_at.is_(None)),
    )


def _within(tx: Tx, folder: str) -> Any:
    return path_under(_A.path, folder, tx.dialect)


def queue_page(
    tx: Tx, *, after: str | None = None, limit: int = 100, under: str | None = None
) -> list[QueueLine]:
    """Return up to ``limit`` uncleared AI assets by path, those after the path ``after``
    (the last of the page before), at or under the folder ``under``."""
    query = select(*ASSET_LINE_COLUMNS, _A.uid, _A.risk, _A.tool_status).where(*_queued())
    if after is not None:
        query = query.where(_A.path > after)
    if under is not None:
        query = query.where(_within(tx, under))
    rows = tx.session.execute(query.order_by(_A.path).limit(limit))
    width = len(ASSET_LINE_COLUMNS)
    return [
        QueueLine(AssetLine(*row[:width]), row[width], row[width + 1], row[width + 2])
        for row in rows
    ]


def queue_spans(tx: Tx, folders: Sequence[tuple[str, bool]]) -> dict[tuple[str, bool], Span]:
    """Return each folder's span: ``(folder, True)`` counts the files right in the folder,
    ``(folder, False)`` everything at or under it."""
    spans = {}
    for folder, direct in dict.fromkeys(folders):
        query = select(func.count(), func.min(_A.deadline)).where(*_queued(), _within(tx, folder))
        if direct:
            depth = len(folder.rstrip("/")) + 2
            find = func.instr if tx.dialect == "sqlite" else func.strpos
            query = query.where(find(func.substr(_A.path, depth), "/") == 0)
        count, nearest = tx.session.execute(query).one()
        if isinstance(nearest, str):  # a min() the column's type did not convert
            nearest = datetime.fromisoformat(nearest).replace(tzinfo=UTC)
        spans[(folder, direct)] = Span(int(count or 0), nearest)
    return spans
