"""Every query the services need, as methods of ``Tx`` (one transaction; see engine.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlmodel import Session, col

from provenance.audit import GENESIS, Actor, event_hash, in_ranges
from provenance.audit.keys import AuditKey
from provenance.catalog.bulk import insert_rows, insert_values
from provenance.catalog.chunks import in_chunks
from provenance.catalog.known import KnownQueries
from provenance.catalog.models import Asset, Event, ScanRun, SignalRow

log = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock that serializes appends to the audit chain.
AUDIT_LOCK_KEY = 0x70726F76  # "prov"


@dataclass(frozen=True)
class EventSpec:
    """One audit event to append: what happened to which asset, and why."""

    action: str
    asset_id: int | None = None
    path: str | None = None
    reason: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


def bytewise(path: Any, dialect: str) -> Any:
    """The ``path`` column compared and ordered byte by byte: SQLite's own order; on
    PostgreSQL ``COLLATE "C"``, whatever the database's collation (its index:
    ``ix_assets_path_bytes``)."""
    return path.collate("C") if dialect == "postgresql" else path


def path_under(path: Any, folder: str, dialect: str = "sqlite") -> Any:
    """The condition that the ``path`` column is ``folder`` or below it.

    A range of the path index in byte order (``folder`` up to ``folder`` + "0", the byte
    after "/"), so one folder of a big catalog is read alone, and within it a compare of
    the path's prefix (substr, not LIKE, whose wildcards a folder's name may hold) that
    leaves out the siblings the range takes in ("folder.old").
    """
    base = folder.rstrip("/")
    prefix = base + "/"
    ordered = bytewise(path, dialect)
    return and_(
        ordered >= base,
        ordered < base + "0",
        or_(path == folder, func.substr(path, 1, len(prefix)) == prefix),
    )


class Tx(KnownQueries):
    """The queries of one transaction. Rows it returns stay usable after it ends."""

    def __init__(
        self, session: Session, dialect: str, signer: Callable[[int], AuditKey] | None = None
    ) -> None:
        self.session = session
        self.dialect = dialect
        session.expire_on_commit = False
        #: Returns the key that signs new events, given how many events the chain holds.
        self._signer = signer
        #: Events recorded in this transaction, appended by ``finish`` just before commit.
        self._pending: list[tuple[Actor, datetime, EventSpec]] = []

    # --- assets -------------------------------------------------------------------------

    def asset_by_path(self, path: str) -> Asset | None:
        return self.session.execute(select(Asset).where(col(Asset.path) == path)).scalars().first()

    def asset_by_id(self, asset_id: int) -> Asset | None:
        return self.session.get(Asset, asset_id)

    def assets_by_ids(self, ids: Sequence[int]) -> dict[int, Asset]:
        """Return id -> asset for the ids that exist."""
        found: dict[int, Asset] = {}
        for chunk in in_chunks(ids):
            query = select(Asset).where(col(Asset.id).in_(chunk))
            found.update((a.id, a) for a in self.session.execute(query).scalars() if a.id)
        return found

    def asset_by_uid(self, uid: str) -> Asset | None:
        return self.session.execute(select(Asset).where(col(Asset.uid) == uid)).scalars().first()

    def assets_by_hash(self, content_hash: str) -> list[Asset]:
        query = select(Asset).where(col(Asset.content_hash) == content_hash).order_by(col(Asset.id))
        return list(self.session.execute(query).scalars())

    def assets_by_paths(self, paths: Sequence[str]) -> dict[str, Asset]:
        """Return path -> asset for those of ``paths`` the catalog knows (one query a chunk)."""
        found: dict[str, Asset] = {}
        for chunk in self._known_values("path", paths):
            query = select(Asset).where(col(Asset.path).in_(chunk))
            found.update((a.path, a) for a in self.session.execute(query).scalars())
        return found

    def known_uids(self, uids: Sequence[str]) -> set[str]:
        """Return those of ``uids`` that some asset has (one indexed probe a chunk)."""
        found: set[str] = set()
        for chunk in self._known_values("uid", uids):
            query = select(col(Asset.uid)).where(col(Asset.uid).in_(chunk))
            found.update(self.session.execute(query).scalars())
        return found

    def held_hashes(self, hashes: Sequence[str]) -> set[str]:
        """Return those of ``hashes`` that some asset still holds: a file on the disk, at its
        path or in quarantine (not missing, not purged). One indexed probe a chunk."""
        found: set[str] = set()
        for chunk in self._known_values("content_hash", hashes, "present"):
            found.update(chunk)
        return found

    def assets_by_hashes(self, hashes: Sequence[str]) -> dict[str, list[Asset]]:
        """Return content hash -> assets with that content, oldest first."""
        found: dict[str, list[Asset]] = {}
        for chunk in self._known_values("content_hash", hashes):
            query = select(Asset).where(col(Asset.content_hash).in_(chunk)).order_by(col(Asset.id))
            for asset in self.session.execute(query).scalars():
                found.setdefault(asset.content_hash or "", []).append(asset)
        return found

    def insert_assets(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert new asset rows (every column but ``id``) in one statement; set each ``id``."""
        insert_rows(self.session, Asset.__table__, rows, ids=True)  # type: ignore[attr-defined]

    def insert_asset_values(
        self, names: Sequence[str], values: Sequence[tuple[Any, ...]]
    ) -> list[int]:
        """Insert new asset rows, each a tuple of the ``names`` columns (every column but
        ``id``), in one statement; return their ids, in order."""
        return insert_values(self.session, Asset.__table__, names, values, ids=True)  # type: ignore[attr-defined]

    def insert_signals(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert signal rows (every column but ``id``) in one statement."""
        insert_rows(self.session, SignalRow.__table__, rows, ids=False)  # type: ignore[attr-defined]

    def assets_under(self, folder: str) -> list[Asset]:
        """Return the assets at ``folder`` or below it (``folder`` without trailing slash)."""
        query = select(Asset).where(path_under(col(Asset.path), folder, self.dialect))
        query = query.order_by(bytewise(col(Asset.path), self.dialect))
        return list(self.session.execute(query).scalars())

    def move_paths(
        self,
        moves: Sequence[tuple[str, str]],
        root: str,
        actor: Actor,
        at: datetime,
        reason: str,
    ) -> list[Asset]:
        """Give the asset at each old path its new path under ``root`` (renamed, same content),
        with one "moved" event per asset. A move onto a path that another asset holds, or from
        a path no asset holds, is skipped. Returns the assets moved."""
        olds = self.assets_by_paths([old for old, _ in moves])
        taken = set(self.assets_by_paths([new for _, new in moves]))
        moved: list[Asset] = []
        events: list[EventSpec] = []
        for old, new in moves:
            asset = olds.get(old)
            if asset is None or new in taken:
                continue
            asset.path, asset.root, asset.last_seen = new, root, at
            taken.add(new)
            moved.append(asset)
            events.append(EventSpec("moved", asset.id, new, reason, {"path": old}, {"path": new}))
        self.record_many(actor, at, events)
        return moved

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
            query = query.where(path_under(col(Asset.path), under, self.dialect))
        if not include_missing:
            query = query.where(col(Asset.present).is_(True))
        query = query.order_by(bytewise(col(Asset.path), self.dialect))
        if limit is not None:
            query = query.limit(limit)
        yield from self.session.execute(query.execution_options(yield_per=1000)).scalars()

    def known_roots(self) -> list[str]:
        """Return every root the catalog has assets under."""
        query = select(col(Asset.root)).distinct().order_by(col(Asset.root))
        return [row[0] for row in self.session.execute(query)]

    def count_by_status(self, root: str | None = None) -> dict[str, int]:
        query = select(col(Asset.status), func.count()).group_by(col(Asset.status))
        if root is not None:
            query = query.where(col(Asset.root) == root)
        return {status: count for status, count in self.session.execute(query)}

    def add(self, row: Any) -> None:
        self.session.add(row)

    def flush(self) -> None:
        self.session.flush()

    def let_go(self) -> None:
        """Write the changes made so far and forget the rows loaded: a walk through many
        assets, a page at a time, then holds one page, not all of them."""
        self.session.flush()
        self.session.expunge_all()

    def mark_missing(self, paths: Sequence[str], when: datetime) -> None:
        """Mark the assets at ``paths`` as not present (their rows and history stay)."""
        for chunk in in_chunks(paths):
            for asset in self.session.execute(
                select(Asset).where(col(Asset.path).in_(chunk))
            ).scalars():
                asset.present = False
                asset.missing_since = when

    # --- signals ------------------------------------------------------------------------

    def signals_of(self, asset_id: int) -> list[SignalRow]:
        return self.signals_of_many([asset_id])[asset_id]

    def signals_of_many(self, asset_ids: Sequence[int]) -> dict[int, list[SignalRow]]:
        """Return asset id -> its signals (oldest first), one query per 500 assets."""
        found: dict[int, list[SignalRow]] = {asset_id: [] for asset_id in asset_ids}
        for chunk in in_chunks(asset_ids):
            query = (
                select(SignalRow)
                .where(col(SignalRow.asset_id).in_(chunk))
                .order_by(col(SignalRow.id))
            )
            for row in self.session.execute(query).scalars():
                found[row.asset_id].append(row)
        return found

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
    ) -> None:
        """Append one audit event, chained to the last one (serialized across writers)."""
        if asset is not None and asset.id is None:
            self.session.flush()
        self.record_many(
            actor,
            at,
            [
                EventSpec(
                    action=action,
                    asset_id=asset.id if asset is not None else None,
                    path=path if path is not None else (asset.path if asset is not None else None),
                    reason=reason,
                    before=dict(before or {}),
                    after=dict(after or {}),
                )
            ],
        )

    def record_many(self, actor: Actor, at: datetime, specs: Sequence[EventSpec]) -> None:
        """Record events in order; they are appended to the chain, each signed, when the
        transaction commits (``finish``), so that each carries the state it left."""
        self._pending.extend((actor, at, spec) for spec in specs)

    @property
    def pending_actions(self) -> list[str]:
        return [spec.action for _actor, _at, spec in self._pending]

    def finish(self) -> tuple[int, str] | None:
        """Append the events recorded in this transaction to the chain, each chained to the
        one before, with the state digest of its asset or hold and its HMAC, in one
        statement (serialized across writers). Return the chain's new head (events, hash),
        or None when nothing was recorded. Called by ``Catalog.write`` before it commits.
        """
        from provenance.catalog.attest import HOLD_ACTIONS, asset_states, hold_states

        if not self._pending:
            return None
        self.session.flush()
        if self.dialect == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
        last = self.session.execute(
            select(col(Event.hash), col(Event.seq)).order_by(col(Event.id).desc()).limit(1)
        ).first()
        prev = last[0] if last else GENESIS
        if last is None:
            seq = 0
        elif last[1] is not None:
            seq = int(last[1])
        else:  # the first keyed event after events written before the audit key
            seq = int(self.session.execute(select(func.count()).select_from(Event)).scalar_one())
        key = self._signer(seq) if self._signer is not None else None
        specs = [spec for _actor, _at, spec in self._pending]
        assets = asset_states(self, [s.asset_id for s in specs if s.asset_id is not None])
        holds = hold_states(
            self, [s.path for s in specs if s.action in HOLD_ACTIONS and s.path is not None]
        )
        rows = []
        for actor, at, spec in self._pending:
            fields: dict[str, Any] = {
                "asset_id": spec.asset_id,
                "at": at,
                "user": actor.user,
                "host": actor.host,
                "action": spec.action,
                "path": spec.path,
                "reason": spec.reason,
                "before": spec.before,
                "after": spec.after,
            }
            digest = event_hash(prev, fields)
            seq += 1
            if spec.asset_id is not None:
                state = assets.get(spec.asset_id)
            elif spec.action in HOLD_ACTIONS and spec.path is not None:
                state = holds.get(spec.path)
            else:
                state = None
            signed = {
                "seq": seq,
                "state": state,
                "key_id": key.key_id if key else None,
                "mac": key.sign(seq, state, digest) if key else None,
            }
            rows.append({**fields, "prev_hash": prev, "hash": digest, **signed})
            prev = digest
        self._pending.clear()
        insert_rows(self.session, Event.__table__, rows, ids=False)  # type: ignore[attr-defined]
        return seq, prev

    def chain_head(self) -> tuple[int, str]:
        """Return the chain's head: how many events it holds and the newest one's hash."""
        last = self.session.execute(
            select(col(Event.hash), col(Event.seq)).order_by(col(Event.id).desc()).limit(1)
        ).first()
        if last is None:
            return 0, GENESIS
        if last[1] is not None:
            return int(last[1]), last[0]
        return int(
            self.session.execute(select(func.count()).select_from(Event)).scalar_one()
        ), last[0]

    def newest_key_id(self) -> str | None:
        """Return the key id of the newest signed event, or None when no event is signed."""
        query = (
            select(col(Event.key_id))
            .where(col(Event.key_id).is_not(None))
            .order_by(col(Event.id).desc())
            .limit(1)
        )
        return self.session.execute(query).scalars().first()

    def events_of(self, asset_id: int) -> list[Event]:
        """Return the history of one asset, oldest first: its own events and, for a file
        indexed as not AI, the one event that indexed its batch (``plain_files_event``)."""
        first_seen = select(col(Asset.first_seen)).where(col(Asset.id) == asset_id)
        query = (
            select(Event)
            .where(
                or_(
                    col(Event.asset_id) == asset_id,
                    and_(
                        col(Event.asset_id).is_(None),
                        col(Event.action) == "indexed",
                        col(Event.at) == first_seen.scalar_subquery(),
                    ),
                )
            )
            .order_by(col(Event.id))
        )
        return [
            event
            for event in self.session.execute(query).scalars()
            if event.asset_id is not None
            or in_ranges(asset_id, str((event.after or {}).get("assets", "")))
        ]

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
