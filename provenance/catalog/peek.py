"""A look at a SQLite catalog without loading the catalog: whether it has a file under a root.

A scan's head start (``provenance.ingest.prefetch``) asks this before SQLAlchemy and the
models are loaded, so it uses the standard library's ``sqlite3``, read-only. Any doubt (a
PostgreSQL catalog, a catalog that cannot be opened or has no assets table yet) is None.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote


def catalog_knows_root(url: str, root: str) -> bool | None:
    """Return whether the SQLite catalog at ``url`` has any file under ``root`` (an asset,
    or a file it could not read); None when that cannot be told cheaply (not SQLite, or the
    catalog cannot be read as it is)."""
    if not url.startswith("sqlite:///"):
        return None
    location = url.split("///", 1)[1]
    if location in ("", ":memory:"):
        return None
    path = Path(location).expanduser()
    if not path.exists():
        return False
    try:
        connection = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return None
    try:
        row = connection.execute(
            "SELECT EXISTS (SELECT 1 FROM assets WHERE root = ?)"
            " OR EXISTS (SELECT 1 FROM unreadable WHERE root = ?)",
            (root, root),
        ).fetchone()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return bool(row[0])
