"""Bulk inserts for a first scan: on SQLite straight to the driver, elsewhere through SQLAlchemy.

SQLAlchemy's per-row parameter processing costs more than the insert itself when a scan
adds tens of thousands of rows, so on SQLite the values are converted here, once per column
type, exactly as SQLAlchemy would store them (naive-UTC timestamp text, JSON text, 0/1),
and ids are assigned under the write lock the transaction already holds (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import repeat
from operator import is_not, itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, Table, insert, text
from sqlalchemy.orm import Session

from provenance.catalog.models import UTCDateTime

_Converter = Callable[[Any], Any]


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return naive.strftime("%Y-%m-%d %H:%M:%S.%f")


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _bool(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def _same(value: Any) -> Any:
    return value


def _converter(column_type: Any) -> _Converter:
    if isinstance(column_type, UTCDateTime):
        return _timestamp
    if isinstance(column_type, JSON):
        return _json
    if isinstance(column_type, Boolean):
        return _bool
    return _same


def insert_rows(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], *, ids: bool
) -> None:
    """Insert ``rows`` (column name -> value) into ``table``; with ``ids`` set each row's ``id``."""
    if not rows:
        return
    names = [c.name for c in table.columns if c.name != "id" and c.name in rows[0]]
    pick = itemgetter(*names)
    values = [pick(row) for row in rows] if len(names) > 1 else [(pick(row),) for row in rows]
    made = insert_values(session, table, names, values, ids=ids)
    if ids:
        for row, row_id in zip(rows, made, strict=True):
            row["id"] = row_id


def insert_values(
    session: Session,
    table: Table,
    names: Sequence[str],
    values: Sequence[tuple[Any, ...]],
    *,
    ids: bool,
) -> list[int]:
    """Insert ``values`` (each a tuple of the ``names`` columns, ``id`` not among them) into
    ``table``; with ``ids`` return each row's new ``id``, in order (else an empty list).

    Tuples, not a dict a row: a first scan builds its rows as tuples in one C call each and
    this takes them apart column by column, with no dict between (2 µs less a row).
    """
    if not values:
        return []
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        rows = [dict(zip(names, value, strict=True)) for value in values]
        if ids:
            statement = insert(table).returning(table.c.id, table.c.uid)
            by_uid = {uid: row_id for row_id, uid in session.execute(statement, rows)}
            return [by_uid[row["uid"]] for row in rows]
        session.execute(insert(table), rows)
        return []
    by_column = dict(zip(names, zip(*values, strict=True), strict=True))
    # a column no row sets is left out (NULL): a plain file's row is half empty
    columns = [
        c
        for c in table.columns
        if c.name in by_column and any(map(is_not, by_column[c.name], repeat(None)))
    ]
    made: list[int] = []
    if ids:
        start = connection.execute(
            text(f"SELECT coalesce(max(id), 0) FROM {table.name}")
        ).scalar_one()
        made = list(range(start + 1, start + 1 + len(values)))
        by_column["id"] = tuple(made)
        columns.insert(0, table.c.id)
    column_names = [c.name for c in columns]
    records = list(
        zip(*(_converted(by_column[c.name], _converter(c.type)) for c in columns), strict=True)
    )
    # a NOT NULL column is always named: None there fails as it should, not as its default
    unset = tuple(None if c.nullable else _NEVER_UNSET for c in columns)
    for shape, group in _by_shape(records, unset, keep_order=not ids):
        kept = [i for i, is_set in enumerate(shape) if is_set]
        if len(kept) < len(column_names):
            if len(kept) == 1:
                group = [(value[kept[0]],) for value in group]
            else:
                group = list(map(itemgetter(*kept), group))
        quoted = ", ".join(f'"{column_names[i]}"' for i in kept)
        marks = ", ".join("?" for _ in kept)
        connection.exec_driver_sql(f"INSERT INTO {table.name} ({quoted}) VALUES ({marks})", group)
    return made


_NEVER_UNSET = object()


def _by_shape(
    values: list[tuple[Any, ...]], unset: tuple[Any, ...], *, keep_order: bool
) -> Iterator[tuple[tuple[bool, ...], list[tuple[Any, ...]]]]:
    """Group rows by which of their values are set (``value[i] is not unset[i]``: None for a
    nullable column), for inserts that leave the unset columns out: the table gives their
    NULL.

    The driver binds None through its adapter lookup, about 0.3 µs a value, where it binds
    an int or a str directly; a plain file's row has ten of them, and binding them cost half
    as much as inserting the row. With ``keep_order`` (the table numbers its rows in insert
    order) only neighbouring rows of one shape go together; else all of a shape do.
    """
    groups: dict[tuple[bool, ...], list[tuple[Any, ...]]] = {}
    previous: tuple[bool, ...] | None = None
    for value in values:
        shape = tuple(map(is_not, value, unset))
        if keep_order and shape != previous and groups:
            yield from groups.items()
            groups = {}
        groups.setdefault(shape, []).append(value)
        previous = shape
    yield from groups.items()


def _converted(values: Sequence[Any], convert: _Converter) -> Sequence[Any]:
    """One column's ``values``, as the driver takes them.

    Column by column, so that the loops run in C: a timestamp or a flag is converted once
    per distinct value (every row of a scan has the same ``now``), JSON once per row.
    """
    if convert is _same:
        return values
    if convert is _json:  # a dict or a list is no key
        return list(map(convert, values))
    converted = {value: convert(value) for value in set(values)}
    return list(map(converted.__getitem__, values))
