"""The catalog: engine, short transactions, and every query the services need.

Only this module speaks SQL. Services open ``catalog.write()`` (one short transaction; on
SQLite ``BEGIN IMMEDIATE`` so two writers queue instead of failing) or ``catalog.read()``
and call the methods of the ``Tx`` it yields.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, or_, select, text
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, col, create_engine

from provenance.audit import GENESIS, Actor, event_hash
from provenance.catalog.migrations import migrate
from provenance.catalog.models import Asset, Event, ScanRun, SignalRow
from provenance.errors import CatalogError

log = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock that serializes appends to the audit chain.
AUDIT_LOCK_KEY = 0x70726F76  # "prov"
SQLITE_BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class KnownFile:
    """What a re-scan needs to decide that a file is unchanged, without loading the asset."""

    id: int
    size: int
    mtime_ns: int
    inode: int
    present: bool


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced, for logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split(":", 1)[0] + "://..."


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
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
            if url.startswith("sqlite"):
                engine = _sqlite_engine(url)
            else:
                engine = create_engine(url, pool_pre_ping=True)
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
                "(pip install 'provenance[postgres]')"
            ) from exc
        return catalog

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[Any]:
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE" if write else "DEFERRED")
            yield conn

    @contextmanager
    def write(self, retries: int = 5) -> Iterator[Tx]:
        """Yield a Tx in one write transaction, committed on exit, rolled back on error."""
        attempt = 0
        while True:
            try:
                with self._connection(write=True) as conn, Session(bind=conn) as session:
                    tx = Tx(session, self.dialect)
                    yield tx
                    session.commit()
                return
            except OperationalError as exc:
                # "database is locked" after the busy timeout; the transaction has not started
                attempt += 1
                if attempt > retries or "locked" not in str(exc):
                    raise CatalogError(f"catalog write failed: {_first_line(exc)}") from exc
                log.warning("catalog busy, retrying (%d/%d)", attempt, retries)
                time.sleep(0.2 * attempt)
            except DBAPIError as exc:
                raise CatalogError(f"catalog write failed: {_first_line(exc)}") from exc

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """Yield a Tx for reading; nothing it does is committed."""
        with self._connection(write=False) as conn, Session(bind=conn) as session:
            yield Tx(session, self.dialect)


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


class Tx:
    """The queries of one transaction. Rows it returns stay usable after it ends."""

    def __init__(self, session: Session, dialect: str) -> None:
        self.session = session
        self.dialect = dialect
        session.expire_on_commit = False

    # --- assets -------------------------------------------------------------------------

    def asset_by_path(self, path: str) -> Asset | None:
        return self.session.execute(select(Asset).where(col(Asset.path) == path)).scalars().first()

    def asset_by_id(self, asset_id: int) -> Asset | None:
        return self.session.get(Asset, asset_id)

    def asset_by_uid(self, uid: str) -> Asset | None:
        return self.session.execute(select(Asset).where(col(Asset.uid) == uid)).scalars().first()

    def assets_by_hash(self, content_hash: str) -> list[Asset]:
        query = select(Asset).where(col(Asset.content_hash) == content_hash).order_by(col(Asset.id))
        return list(self.session.execute(query).scalars())

    def assets_under(self, folder: str) -> list[Asset]:
        """Return the assets at ``folder`` or below it (``folder`` without trailing slash)."""
        prefix = folder.rstrip("/") + "/"
        query = select(Asset).where(
            or_(col(Asset.path) == folder, func.substr(col(Asset.path), 1, len(prefix)) == prefix)
        )
        return list(self.session.execute(query.order_by(col(Asset.path))).scalars())

    def known_files(self, root: str) -> dict[str, KnownFile]:
        """Return path -> stat facts of every asset under ``root``, for unchanged-file checks."""
        query = select(
            col(Asset.path),
            col(Asset.id),
            col(Asset.size),
            col(Asset.mtime_ns),
            col(Asset.inode),
            col(Asset.present),
        ).where(col(Asset.root) == root)
        return {
            row[0]: KnownFile(row[1], row[2], row[3], row[4], row[5])
            for row in self.session.execute(query)
        }

    def list_assets(
        self,
        *,
        ai_only: bool = False,
        statuses: Sequence[str] = (),
        root: str | None = None,
        under: str | None = None,
        include_missing: bool = True,
        limit: int | None = None,
    ) -> Iterator[Asset]:
        """Yield assets ordered by path, filtered as asked, streaming (no full list in memory)."""
        query = select(Asset)
        if ai_only:
            query = query.where(col(Asset.ai_class) != "none")
        if statuses:
            query = query.where(col(Asset.status).in_(statuses))
        if root is not None:
            query = query.where(col(Asset.root) == root)
        if under is not None:
            prefix = under.rstrip("/") + "/"
            query = query.where(
                or_(
                    col(Asset.path) == under, func.substr(col(Asset.path), 1, len(prefix)) == prefix
                )
            )
        if not include_missing:
            query = query.where(col(Asset.present).is_(True))
        query = query.order_by(col(Asset.path))
        if limit is not None:
            query = query.limit(limit)
        yield from self.session.execute(query.execution_options(yield_per=1000)).scalars()

    def count_by_status(self, root: str | None = None) -> dict[str, int]:
        query = select(col(Asset.status), func.count()).group_by(col(Asset.status))
        if root is not None:
            query = query.where(col(Asset.root) == root)
        return {status: count for status, count in self.session.execute(query)}

    def add(self, row: Any) -> None:
        self.session.add(row)

    def flush(self) -> None:
        self.session.flush()

    def mark_missing(self, paths: Sequence[str], when: datetime) -> None:
        """Mark the assets at ``paths`` as not present (their rows and history stay)."""
        for chunk_start in range(0, len(paths), 500):
            chunk = paths[chunk_start : chunk_start + 500]
            for asset in self.session.execute(
                select(Asset).where(col(Asset.path).in_(chunk))
            ).scalars():
                asset.present = False
                asset.missing_since = when

    # --- signals ------------------------------------------------------------------------

    def signals_of(self, asset_id: int) -> list[SignalRow]:
        query = (
            select(SignalRow).where(col(SignalRow.asset_id) == asset_id).order_by(col(SignalRow.id))
        )
        return list(self.session.execute(query).scalars())

    def replace_signals(self, asset_id: int, signals: Sequence[SignalRow]) -> None:
        """Replace an asset's detected signals; manual tags stay until removed on purpose."""
        for row in self.signals_of(asset_id):
            if row.kind != "manual":
                self.session.delete(row)
        for row in signals:
            row.asset_id = asset_id
            self.session.add(row)

    # --- audit --------------------------------------------------------------------------

    def record(
        self,
        actor: Actor,
        action: str,
        at: datetime,
        *,
        asset: Asset | None = None,
        path: str | None = None,
        reason: str = "",
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> Event:
        """Append one audit event, chained to the last one (serialized across writers)."""
        if asset is not None and asset.id is None:
            self.session.flush()
        if self.dialect == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
        last = self.session.execute(
            select(col(Event.hash)).order_by(col(Event.id).desc()).limit(1)
        ).first()
        prev = last[0] if last else GENESIS
        fields: dict[str, Any] = {
            "asset_id": asset.id if asset is not None else None,
            "at": at,
            "user": actor.user,
            "host": actor.host,
            "action": action,
            "path": path if path is not None else (asset.path if asset is not None else None),
            "reason": reason,
            "before": dict(before or {}),
            "after": dict(after or {}),
        }
        row = Event(**fields, prev_hash=prev, hash=event_hash(prev, fields))
        self.session.add(row)
        self.session.flush()
        return row

    def events_of(self, asset_id: int) -> list[Event]:
        query = select(Event).where(col(Event.asset_id) == asset_id).order_by(col(Event.id))
        return list(self.session.execute(query).scalars())

    def all_events(self) -> Iterator[Event]:
        query = select(Event).order_by(col(Event.id)).execution_options(yield_per=2000)
        yield from self.session.execute(query).scalars()

    # --- scan runs ----------------------------------------------------------------------

    def last_scan(self, root: str) -> ScanRun | None:
        query = (
            select(ScanRun)
            .where(col(ScanRun.root) == root)
            .order_by(col(ScanRun.id).desc())
            .limit(1)
        )
        return self.session.execute(query).scalars().first()
