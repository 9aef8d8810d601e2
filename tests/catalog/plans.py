"""What SQLite plans for the statements a catalog sends: the index tests' one recorder."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from provenance.catalog import Catalog


@contextmanager
def recorded(catalog: Catalog, keep: Callable[[str], bool]) -> Iterator[list[tuple[str, Any]]]:
    """Yield the list of (statement, parameters) ``catalog`` sends meanwhile that ``keep``
    accepts; the catalog is closed on leaving."""
    sent: list[tuple[str, Any]] = []

    def remember(_conn: object, _cursor: object, statement: str, parameters: Any, *_: object):
        if keep(statement):
            sent.append((statement, parameters))

    event.listen(catalog.engine, "before_cursor_execute", remember)
    try:
        yield sent
    finally:
        event.remove(catalog.engine, "before_cursor_execute", remember)
        catalog.close()


def explain(path: Path, statement: str, parameters: Any) -> list[Any]:
    """Return SQLite's ``EXPLAIN QUERY PLAN`` rows of ``statement`` on the catalog at ``path``."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
