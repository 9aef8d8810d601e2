"""Locks: one node at a time runs a fleet-wide job; one sweep at a time works under a root.

PostgreSQL: a session advisory lock (``pg_try_advisory_lock``), released when the job ends
or its connection drops (a node that dies does not keep the lock). SQLite: every daemon of
a SQLite catalog is on one machine, so an ``flock`` on a file in the state directory.

A sweep (or restore) takes the lock of each root it works under (``root_locks``): an
``flock`` on a file beside the catalog (every process on this host that uses it, whatever
its state directory) and, on PostgreSQL, an advisory lock per root for the other nodes.
A node whose roots differ is never held up; one that shares a root leaves it to the
sweep already running there. The kernel drops both when a process dies (kill -9).
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, text

from provenance.catalog.engine import Catalog
from provenance.config.locations import private_dir, private_file


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
    path = private_file(private_dir(state_dir) / f"{name}.lock")
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_folder(catalog: Catalog, state_dir: Path) -> Path:
    """Return the folder of the root lock files: beside a SQLite catalog, else the state dir."""
    database = catalog.engine.url.database if catalog.dialect == "sqlite" else None
    if database and database != ":memory:":
        return Path(database).expanduser().parent / "locks"
    return state_dir / "locks"


def _try_flock(path: Path) -> IO[str] | None:
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


@contextmanager
def root_locks(catalog: Catalog, roots: Sequence[str], state_dir: Path) -> Iterator[list[str]]:
    """Yield the roots among ``roots`` whose sweep lock this process took; the others are
    held by another sweep (on this host or another node) and must be left alone."""
    folder = lock_folder(catalog, state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        connection = (
            stack.enter_context(catalog.engine.connect())
            if catalog.dialect == "postgresql"
            else None
        )
        held = []
        for root in sorted(set(roots)):
            digest = hashlib.sha256(root.encode()).hexdigest()[:16]
            handle = _try_flock(folder / f"sweep-{digest}.lock")
            if handle is None:
                continue
            if connection is not None:
                key = lock_key(f"sweep-root:{root}")
                taken = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
                got = bool(taken.scalar())
                connection.commit()  # the lock is the session's; no transaction stays open
                if not got:
                    handle.close()
                    continue
                stack.callback(_advisory_unlock, connection, key)
            stack.callback(handle.close)  # closing the file drops the flock
            held.append(root)
        yield held


def _advisory_unlock(connection: Connection, key: int) -> None:
    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    connection.commit()
