"""The catalog's engine: SQLite (WAL, busy timeout) or PostgreSQL, migrations, short transactions.

Services open ``catalog.write()`` (one short transaction; on SQLite ``BEGIN IMMEDIATE`` so
two writers queue instead of failing) or ``catalog.read()`` and call the methods of the
``Tx`` (store.py) it yields.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, make_url
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    SQLAlchemyError,
    StatementError,
)
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

from provenance.catalog.migrations import migrate
from provenance.catalog.store import Tx
from provenance.errors import CatalogError, RowRefusedError
from provenance.locations import private_dir, private_file

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced, for logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split(":", 1)[0] + "://..."


def url_problem(url: str) -> str | None:
    """Return why a catalog at ``url`` cannot be opened on this machine before any connection
    is tried (a malformed URL, an unknown database, its driver not installed), or None."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        return f"unknown database or driver {url.split(':', 1)[0]!r}"
    except ArgumentError:
        return "not a database URL (e.g. postgresql+psycopg://user@host/provenance)"
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        driver = parsed.get_driver_name()
        advice = (
            " (install the postgres extra, or pip install 'psycopg[binary]')"
            if driver == "psycopg"
            else ""
        )
        return f"its driver {driver} is not installed: {exc}{advice}"
    return None


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        _make_private(Path(path).expanduser())
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        poolclass=NullPool if path in ("", ":memory:") else None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _server_engine(url: str) -> Engine:
    # psycopg prepares a statement on the server once it has run five times, and PostgreSQL
    # may then keep one generic plan for it, made while the table was small: a sequential
    # scan. An ingest asks "which of these 500 hashes do you have?" for every batch, so a
    # first scan into a new catalog slowed as the table grew (200,000 files: 20 minutes).
    # Unprepared, each query is planned for its own values and the table's size now.
    options = {"prepare_threshold": None} if make_url(url).get_driver_name() == "psycopg" else {}
    return create_engine(url, pool_pre_ping=True, connect_args=options)


def _make_private(database: Path) -> None:
    """Create the SQLite file 0600 (in a 0700 folder, if the folder is new) before SQLite
    opens it: SQLite gives its -wal and -shm files the database's mode. The files of a
    catalog written by an older release are made 0600 too."""
    if not database.parent.exists():
        private_dir(database.parent)
    private_file(database)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = database.with_name(database.name + suffix)
        if companion.exists():
            private_file(companion)


class Catalog:
    """The source of truth: owns the engine; hands out short transactions."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @classmethod
    def open(cls, url: str) -> Catalog:
        """Open (creating or upgrading) the catalog at ``url``.

        Raises CatalogError with the URL (password hidden) when it cannot be opened.
        """
        try:
            engine = _sqlite_engine(url) if url.startswith("sqlite") else _server_engine(url)
            catalog = cls(engine, url)
            with catalog._connection(write=True) as conn, conn.begin():
                migrate(conn)
        except (SQLAlchemyError, OSError) as exc:
            raise CatalogError(
                f"cannot open catalog {redact_url(url)}: {_first_line(exc)}"
            ) from exc
        except ModuleNotFoundError as exc:
            raise CatalogError(
                f"cannot open catalog {redact_url(url)}: {exc.name} is not installed "
                "(pip install 'provenance-tracker[postgres]')"
            ) from exc
        return catalog

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def release_idle(self) -> None:
        """Close idle pooled connections, and with them SQLite's page caches (tens of MB after
        a big scan); the next transaction opens a fresh one. For long-running, mostly idle
        callers such as the daemon."""
        self.engine.dispose()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[Any]:
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE" if write else "DEFERRED")
            yield conn

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """Yield a Tx in one write transaction, committed on exit, rolled back on error.

        On SQLite a second writer waits for the first (``BEGIN IMMEDIATE``, then the busy
        timeout); one that waited ``SQLITE_BUSY_TIMEOUT_MS`` in vain gets a CatalogError
        that says so. Raises RowRefusedError when the catalog refuses a value of a row (the
        same write would fail again), CatalogError for any other database error.
        """
        try:
            with self._connection(write=True) as conn, Session(bind=conn) as session:
                yield Tx(session, self.dialect)
                session.commit()
        except (DataError, IntegrityError) as exc:
            raise RowRefusedError(f"catalog refused a row: {_first_line(exc)}") from exc
        except DBAPIError as exc:
            if _is_busy(exc):
                raise CatalogError(
                    f"catalog write failed: {_first_line(exc)} (another process kept it busy "
                    f"for {SQLITE_BUSY_TIMEOUT_MS // 1000} s: a long scan or sweep?)"
                ) from exc
            raise CatalogError(f"catalog write failed: {_first_line(exc)}") from exc
        except (StatementError, UnicodeError) as exc:
            # a value that could not even be sent (bound): the data's fault
            raise RowRefusedError(f"catalog refused a row: {_first_line(exc)}") from exc

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """Yield a Tx for reading; nothing it does is committed.

        Raises CatalogError when the catalog cannot be read (down, unreachable)."""
        try:
            with self._connection(write=False) as conn, Session(bind=conn) as session:
                yield Tx(session, self.dialect)
        except DBAPIError as exc:
            raise CatalogError(f"catalog read failed: {_first_line(exc)}") from exc


def _is_busy(exc: DBAPIError) -> bool:
    """Whether SQLite gave up waiting for another connection (SQLITE_BUSY or SQLITE_LOCKED,
    by the error code the driver reports, extended codes included)."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
