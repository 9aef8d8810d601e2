"""The catalog queries of the retention lifecycle: due assets, holds, the journal, settings memo.

Planning a sweep reads only what is due, through the (status, deadline) index, as plain
rows of the columns a decision needs; it never loads every asset as an ORM object.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, or_, select, text, update
from sqlmodel import col

from provenance.catalog.chunks import in_chunks
from provenance.catalog.migrations import META_TABLE, UPSERT_META
from provenance.catalog.models import Asset, Event, Hold, JournalEntry
from provenance.catalog.store import Tx, path_under
from provenance.lifecycle.states import SWEEPABLE, Status

_A = cast(Table, Asset.__table__).c  # type: ignore[attr-defined]

#: The columns a retention decision needs (see ``provenance.retention.policy.AssetFacts``).
FACT_COLUMNS = (
    _A.id,
    _A.path,
    _A.root,
    _A.ai_class,
    _A.status,
    _A.first_seen,
    _A.created_at,
    _A.generator,
    _A.family,
    _A.present,
    _A.flagged_at,
    _A.quarantined_at,
    _A.content_hash,
    _A.size,
    _A.deadline,
    _A.policy,
    _A.quarantine_path,
)


def due_assets(
    tx: Tx,
    roots: Sequence[str],
    due_by: Mapping[str, datetime],
    quarantined_by: datetime,
) -> Iterator[Row[Any]]:
    """Yield fact rows of assets under ``roots`` that may be due.

    That is assets of each movable status in ``due_by`` whose deadline is at or before its
    bound there, or not yet set, and quarantined ones that went into quarantine at or before
    ``quarantined_by``. Each part is a range over the (status, deadline) index.
    """
    if not roots:
        return
    wanted = set(roots)
    for status, bound in due_by.items():
        # a range of (status, deadline) and the partial index of those without one
        # (ix_assets_undated), the roots picked here: with an OR of the two, or the roots
        # in the query, PostgreSQL read the whole table or two whole indexes
        for deadline in (_A.deadline <= bound, _A.deadline.is_(None)):
            query = select(*FACT_COLUMNS).where(_A.status == status, deadline)
            rows = tx.session.execute(query.execution_options(yield_per=2000))
            yield from (row for row in rows if row.root in wanted)
    in_roots = _A.root.in_(list(roots))
    query = select(*FACT_COLUMNS).where(
        _A.status == Status.QUARANTINED,
        or_(_A.quarantined_at <= quarantined_by, _A.quarantined_at.is_(None)),
        in_roots,
    )
    yield from tx.session.execute(query)


def lifecycle_assets(tx: Tx, roots: Sequence[str]) -> Iterator[Row[Any]]:
    """Yield fact rows of every asset under ``roots`` in a movable or quarantined state."""
    query = select(*FACT_COLUMNS).where(
        _A.status.in_(SWEEPABLE),
        _A.root.in_(list(roots)),
    )
    yield from tx.session.execute(query.execution_options(yield_per=5000))


def assets_at_or_under(tx: Tx, path: str) -> Iterator[Row[Any]]:
    """Yield fact rows of the assets at ``path`` or below it (a hold's reach): one range
    of the path index, not a compare of every asset's path (2.5 s on PostgreSQL at
    10,000,000 assets for a hold or release of an empty folder)."""
    query = select(*FACT_COLUMNS).where(path_under(_A.path, path, tx.dialect))
    yield from tx.session.execute(query)


def count_ai_assets(tx: Tx, root: str) -> int:
    """Return how many AI assets of ``root`` still have bytes (on disk or in quarantine)."""
    query = select(func.count()).where(
        _A.root == root,
        _A.ai_class != "none",
        _A.status.not_in([Status.PURGED, Status.NOT_AI]),
        or_(_A.present.is_(True), _A.status == Status.QUARANTINED),
    )
    return int(tx.session.execute(query).scalar_one())


def set_deadlines(tx: Tx, changes: Iterable[tuple[int, datetime | None, str | None]]) -> int:
    """Store (asset id, deadline, policy name) for many assets; return how many."""
    rows = [{"b_id": i, "b_deadline": d, "b_policy": p} for i, d, p in changes]
    if not rows:
        return 0
    statement = (
        update(Asset)
        .where(_A.id == bindparam("b_id"))
        .values(deadline=bindparam("b_deadline"), policy=bindparam("b_policy"))
    )
    tx.session.connection().execute(statement, rows)
    return len(rows)


def get_meta(tx: Tx, key: str) -> str | None:
    row = tx.session.execute(
        text(f"SELECT value FROM {META_TABLE} WHERE key = :k"), {"k": key}
    ).first()
    return str(row[0]) if row else None


def set_meta(tx: Tx, key: str, value: str) -> None:
    """Store one value; two nodes storing the same new key at once both succeed."""
    tx.session.execute(text(UPSERT_META), {"k": key, "v": value})


# --- holds --------------------------------------------------------------------------------


def active_holds(tx: Tx) -> list[Hold]:
    query = select(Hold).where(col(Hold.released_at).is_(None)).order_by(col(Hold.path))
    return list(tx.session.execute(query).scalars())


def holds_covering(tx: Tx, path: str) -> list[Hold]:
    """Return the active holds on ``path`` or on a folder above it."""
    return [h for h in active_holds(tx) if is_under(path, h.path)]


def is_under(path: str, folder: str) -> bool:
    """Return whether ``path`` is ``folder`` or inside it (plain string paths)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


# --- journal ------------------------------------------------------------------------------


def open_journal_entries(tx: Tx) -> list[JournalEntry]:
    """Return the steps journaled as planned and never finished, oldest first."""
    query = (
        select(JournalEntry)
        .where(col(JournalEntry.state) == "planned")
        .order_by(col(JournalEntry.id))
    )
    return list(tx.session.execute(query).scalars())


def assets_in_flight(tx: Tx) -> set[int]:
    """Return the ids of assets with a step journaled and not finished (their file may be
    at neither place the catalog says until the step is settled)."""
    query = select(col(JournalEntry.asset_id)).where(col(JournalEntry.state) == "planned")
    return {row[0] for row in tx.session.execute(query)}


def journal_entry(tx: Tx, entry_id: int) -> JournalEntry | None:
    return tx.session.get(JournalEntry, entry_id)


def journal_entries(tx: Tx, entry_ids: Sequence[int | None]) -> dict[int, JournalEntry]:
    """Return id -> journal entry for the ids that exist (loaded in slices of ids)."""
    found: dict[int, JournalEntry] = {}
    for chunk in in_chunks([i for i in entry_ids if i is not None]):
        query = select(JournalEntry).where(col(JournalEntry.id).in_(chunk))
        found.update((e.id, e) for e in tx.session.execute(query).scalars() if e.id)
    return found


# --- events -------------------------------------------------------------------------------


def recent_events(tx: Tx, limit: int) -> list[Event]:
    """Return the last ``limit`` audit events, oldest first."""
    query = select(Event).order_by(col(Event.id).desc()).limit(limit)
    return list(reversed(list(tx.session.execute(query).scalars())))
