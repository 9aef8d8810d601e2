"""Fleet-wide locks: with several daemons on one catalog, one node at a time runs a job.

PostgreSQL: a session advisory lock (``pg_try_advisory_lock``), released when the job ends
or its connection drops (a node that dies does not keep the lock). SQLite: every daemon of
a SQLite catalog is on one machine, so an ``flock`` on a file in the state directory.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from provenance.catalog.engine import Catalog


def lock_key(name: str) -> int:
    """Return the signed 64-bit advisory lock key of a job name (stable across nodes)."""
    digest = hashlib.sha256(f"provenance-job:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def fleet_lock(catalog: Catalog, name: str, state_dir: Path) -> Iterator[bool]:
    """Yield True while this process holds the lock called ``name``; False if another does."""
    if catalog.dialect == "postgresql":
        with catalog.engine.connect() as conn:
            key = lock_key(name)
            held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()  # the lock is the session's; no transaction stays open meanwhile
            try:
                yield held
            finally:
                if held:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        return
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / f"{name}.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
