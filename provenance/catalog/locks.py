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
import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import Connection, text

from provenance.catalog.engine import Catalog
from provenance.config.locations import PRIVATE_FILE_MODE, open_private_dir
from provenance.files.confined import Folder


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
    with open_private_dir(state_dir) as folder:
        fd = _try_flock(folder, f"{name}.lock")
    if fd is None:
        yield False
        return
    try:
        yield True
    finally:
        os.close(fd)  # drops the flock


def lock_folder(catalog: Catalog, state_dir: Path) -> Path:
    """Return the folder of the root lock files: beside a SQLite catalog, else the state dir."""
    database = catalog.engine.url.database if catalog.dialect == "sqlite" else None
    if database and database != ":memory:":
        return Path(database).expanduser().parent / "locks"
    return state_dir / "locks"


def _try_flock(folder: Folder, name: str) -> int | None:
    """Return the lock file ``name`` of ``folder`` open and locked (0600, no link followed),
    or None when another process holds it."""
    fd = folder.open_for_writing(name, mode=PRIVATE_FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@contextmanager
def root_locks(catalog: Catalog, roots: Sequence[str], state_dir: Path) -> Iterator[list[str]]:
    """Yield the roots among ``roots`` whose sweep lock this process took; the others are
    held by another sweep (on this host or another node) and must be left alone."""
    with ExitStack() as stack:
        folder = stack.enter_context(open_private_dir(lock_folder(catalog, state_dir)))
        connection = (
            stack.enter_context(catalog.engine.connect())
            if catalog.dialect == "postgresql"
            else None
        )
        held = []
        for root in sorted(set(roots)):
            digest = hashlib.sha256(root.encode()).hexdigest()[:16]
            fd = _try_flock(folder, f"sweep-{digest}.lock")
            if fd is None:
                continue
            if connection is not None:
                key = lock_key(f"sweep-root:{root}")
                taken = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
                got = bool(taken.scalar())
                connection.commit()  # the lock is the session's; no transaction stays open
                if not got:
                    os.close(fd)
                    continue
                stack.callback(_advisory_unlock, connection, key)
            stack.callback(os.close, fd)  # closing the file drops the flock
            held.append(root)
        yield held


def _advisory_unlock(connection: Connection, key: int) -> None:
    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    connection.commit()
