"""Files the reader could not read: recorded with why and how often, retried a bounded number
of times, listed for a person (``status``, ``list --unreadable``, the weekly report).

Each function takes an open ``Tx``. The table is small (a few rows on a healthy root), so a
scan loads a root's rows at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlmodel import col

from provenance.catalog.chunks import in_chunks
from provenance.catalog.models import Unreadable
from provenance.catalog.store import Tx, path_under


@dataclass(frozen=True)
class FailedRead:
    """One failed read to record: the file, its root, why, and its size and modification time
    when it could be told (None: it could not)."""

    path: str
    root: str
    reason: str
    size: int | None = None
    mtime_ns: int | None = None


def record_unreadable(tx: Tx, failed: Sequence[FailedRead], now: datetime) -> None:
    """Record failed reads: a file seen failing before counts one attempt more, unless its
    size or modification time changed since (then it is a new version: its first attempt)."""
    known = unreadable_by_paths(tx, [f.path for f in failed])
    for read in failed:
        row = known.get(read.path)
        if row is None:
            row = Unreadable(
                path=read.path,
                root=read.root,
                size=read.size,
                mtime_ns=read.mtime_ns,
                reason=read.reason,
                attempts=0,
                first_failed=now,
                last_failed=now,
            )
            tx.add(row)
            known[read.path] = row
        elif (row.size, row.mtime_ns) != (read.size, read.mtime_ns):
            row.attempts, row.first_failed = 0, now
        row.root, row.size, row.mtime_ns = read.root, read.size, read.mtime_ns
        row.reason, row.last_failed = read.reason, now
        row.attempts += 1


def unreadable_by_paths(tx: Tx, paths: Sequence[str]) -> dict[str, Unreadable]:
    """Return path -> its unreadable row, for those of ``paths`` that have one."""
    found: dict[str, Unreadable] = {}
    for chunk in in_chunks(sorted(set(paths))):
        query = select(Unreadable).where(col(Unreadable.path).in_(chunk))
        found.update((row.path, row) for row in tx.session.execute(query).scalars())
    return found


def unreadable_under(tx: Tx, root: str) -> dict[str, Unreadable]:
    """Return path -> unreadable row of every file recorded under ``root``."""
    query = select(Unreadable).where(col(Unreadable.root) == root)
    return {row.path: row for row in tx.session.execute(query).scalars()}


def unreadable_paths(tx: Tx) -> set[str]:
    """Return the path of every file recorded as unreadable."""
    return set(tx.session.execute(select(col(Unreadable.path))).scalars())


def forget_unreadable(tx: Tx, paths: Sequence[str]) -> None:
    """Drop the rows of ``paths``: each was read and recorded after all, or is gone."""
    for chunk in in_chunks(sorted(set(paths))):
        tx.session.execute(delete(Unreadable).where(col(Unreadable.path).in_(chunk)))


def _filtered(
    query: Select[Any], root: str | None, under: str | None, dialect: str = "sqlite"
) -> Select[Any]:
    if root is not None:
        query = query.where(col(Unreadable.root) == root)
    if under is not None:
        query = query.where(path_under(col(Unreadable.path), under, dialect))
    return query


def list_unreadable(
    tx: Tx, *, root: str | None = None, under: str | None = None, limit: int | None = None
) -> Iterator[Unreadable]:
    """Yield the unreadable files (under ``root``, or at or below the folder ``under``) by
    path, at most ``limit``."""
    query = _filtered(select(Unreadable), root, under, tx.dialect).order_by(col(Unreadable.path))
    if limit is not None:
        query = query.limit(limit)
    yield from tx.session.execute(query).scalars()


def count_unreadable(
    tx: Tx, *, root: str | None = None, retries: int | None = None
) -> tuple[int, int]:
    """Return how many files are recorded as unreadable (under ``root``), and how many of
    them are no longer tried again until they change (more than ``retries`` attempts)."""
    query = _filtered(select(func.count()).select_from(Unreadable), root, None)
    total = int(tx.session.execute(query).scalar_one())
    if retries is None:
        return total, 0
    given_up = query.where(col(Unreadable.attempts) > retries)
    return total, int(tx.session.execute(given_up).scalar_one())


def unreadable_by_root(tx: Tx, root: str | None = None) -> dict[str, int]:
    """Return root -> how many of its files are recorded as unreadable (only ``root``'s)."""
    query = select(col(Unreadable.root), func.count()).group_by(col(Unreadable.root))
    if root is not None:
        query = query.where(col(Unreadable.root) == root)
    return {str(row[0]): int(row[1]) for row in tx.session.execute(query)}
