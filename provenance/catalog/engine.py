"""The catalog's engine: SQLite (WAL, busy timeout) or PostgreSQL, migrations, short transactions.

Services open ``catalog.write()`` (one short transaction; on SQLite ``BEGIN IMMEDIATE`` so
two writers queue instead of failing) or ``catalog.read()`` and call the methods of the
``Tx`` (store.py) it yields.
"""

from __future__ import annotations

import logging
import sqlite3
import time
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

from provenance.audit import ANCHORED_ACTIONS
from provenance.audit.anchor import Anchor, now_text, write_anchor
from provenance.audit.keys import AuditKey, KeyRing, create_keys, key_path, read_keys
from provenance.catalog.migrations import migrate
from provenance.catalog.models import utcnow
from provenance.catalog.store import Tx
from provenance.config.locations import default_state_dir, private_dir, private_file
from provenance.errors import AuditError, CatalogError, RowRefusedError

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Seconds between two anchors of the chain's head when no step forces one.
ANCHOR_EVERY = 3600


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
    """The source of truth: owns the engine; hands out short transactions.

    ``state_dir`` holds the audit key that signs every event and the file the chain's head is
    anchored in (``provenance.audit``); by default the user's state directory.
    """

    def __init__(self, engine: Engine, url: str, state_dir: Path | None = None) -> None:
        self.engine = engine
        self.url = url
        self.state_dir = state_dir if state_dir is not None else default_state_dir()
        self._keys: KeyRing | None = None
        #: When this process last anchored the chain's head (monotonic seconds).
        self._anchored_at: float | None = None
        #: Whether this process committed events since its last anchor (``close`` anchors them).
        self._unanchored = False

    @classmethod
    def open(cls, url: str, state_dir: Path | None = None) -> Catalog:
        """Open (creating or upgrading) the catalog at ``url``.

        Raises CatalogError with the URL (password hidden) when it cannot be opened.
        """
        try:
            engine = _sqlite_engine(url) if url.startswith("sqlite") else _server_engine(url)
            catalog = cls(engine, url, state_dir)
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
        """Anchor the events this process wrote since its last anchor, then let go of the
        connections."""
        self.anchor_unanchored("closing")
        self.engine.dispose()

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[Any]:
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE" if write else "DEFERRED")
            yield conn

    def signing_key(self, events: int) -> AuditKey:
        """Return the key that signs new events, making the key file on first use.

        ``events``: how many events the chain holds (those a new key file leaves
        unauthenticated). Raises AuditError when the key file is gone but the chain's newest
        event is signed: a lost key is never replaced silently (``audit new-key --lost``).
        """
        if self._keys is None:
            path = key_path(self.state_dir)
            ring = read_keys(path)
            if ring is None:
                with self.read() as tx:
                    signed = tx.newest_key_id()
                if signed is not None:
                    raise AuditError(
                        f"{path}: the audit key file is missing, but the catalog's events are "
                        f"signed (key {signed}): restore the file from its backup, or run "
                        "`provenance audit new-key --lost` (see README, Audit trail)"
                    )
                ring = create_keys(path, events, utcnow())
                log.info("made a new audit key file %s (back it up)", path)
            self._keys = ring
        return self._keys.current

    def forget_keys(self) -> None:
        """Read the key file again before the next event (after a rotation)."""
        self._keys = None

    def anchor(self, head: tuple[int, str], why: str) -> None:
        """Write the chain's head outside the catalog (``provenance.audit.anchor``)."""
        count, head_hash = head
        write_anchor(self.state_dir, Anchor(now_text(utcnow()), count, head_hash, why))
        self._anchored_at = time.monotonic()
        self._unanchored = False

    def anchor_unanchored(self, why: str) -> None:
        """Anchor the chain's head if this process committed events since its last anchor:
        when it stops, so that the events written within its last hour (ingest, refusals
        counted at the stop) are not left for the next process to anchor, by then perhaps
        deleted. Never raises: a catalog or state folder out of reach is logged."""
        if not self._unanchored:
            return
        try:
            with self.read() as tx:
                head = tx.chain_head()
            self.anchor(head, why)
        except (AuditError, CatalogError) as exc:
            log.error("audit head not anchored (%s): %s", why, exc)

    def _anchor_after(self, head: tuple[int, str], actions: list[str]) -> None:
        """Anchor after a commit with a destructive or deciding step, else at most hourly."""
        decisive = sorted(set(actions) & set(ANCHORED_ACTIONS))
        due = self._anchored_at is None or time.monotonic() - self._anchored_at >= ANCHOR_EVERY
        if not decisive and not due:
            self._unanchored = True
            return
        try:
            self.anchor(head, ",".join(decisive) or "hourly")
        except AuditError as exc:  # the events are committed; the next anchor covers them
            self._unanchored = True
            log.error("%s", exc)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """Yield a Tx in one write transaction, committed on exit, rolled back on error.

        On SQLite a second writer waits for the first (``BEGIN IMMEDIATE``, then the busy
        timeout); one that waited ``SQLITE_BUSY_TIMEOUT_MS`` in vain gets a CatalogError
        that says so. Raises RowRefusedError when the catalog refuses a value of a row (the
        same write would fail again), CatalogError for any other database error (SQLAlchemy's
        or the driver's: no caller sees one of theirs). The events the transaction recorded
        are appended, signed, just before the commit; the chain's head is then anchored when
        a step was destructive or deciding (or an hour passed).
        """
        try:
            with self._connection(write=True) as conn, Session(bind=conn) as session:
                tx = Tx(session, self.dialect, self.signing_key)
                yield tx
                actions = tx.pending_actions
                head = tx.finish()
                session.commit()
        except (DataError, IntegrityError) as exc:
            raise RowRefusedError(f"catalog refused a row: {_first_line(exc)}") from exc
        except DBAPIError as exc:
            raise _failed("write", exc) from exc
        except (StatementError, UnicodeError) as exc:
            # a value that could not even be sent (bound): the data's fault
            raise RowRefusedError(f"catalog refused a row: {_first_line(exc)}") from exc
        except (SQLAlchemyError, sqlite3.Error) as exc:  # anything else the database said
            raise _failed("write", exc) from exc
        if head is not None:
            self._anchor_after(head, actions)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """Yield a Tx for reading; nothing it does is committed.

        Raises CatalogError when the catalog cannot be read (down, unreachable, busy) or
        any other database error happens in it."""
        try:
            with self._connection(write=False) as conn, Session(bind=conn) as session:
                yield Tx(session, self.dialect)
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise _failed("read", exc) from exc


def _failed(doing: str, exc: SQLAlchemyError | sqlite3.Error) -> CatalogError:
    """The CatalogError for a database error in a transaction (``doing``: read or write),
    saying so when SQLite gave up waiting for another process."""
    why = _first_line(exc)
    if _is_busy(exc):
        why += (
            f" (another process kept it busy for {SQLITE_BUSY_TIMEOUT_MS // 1000} s:"
            " a long scan or sweep?)"
        )
    return CatalogError(f"catalog {doing} failed: {why}")


def _is_busy(exc: BaseException) -> bool:
    """Whether SQLite gave up waiting for another connection (SQLITE_BUSY or SQLITE_LOCKED,
    by the error code the driver reports, extended codes included)."""
    code = getattr(getattr(exc, "orig", None) or exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
