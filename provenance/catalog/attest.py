"""State digests: what an audit event says its asset or hold was left like, and the check that
the tables still say so.

Each event about an asset carries a digest of the asset's status, content hash and active
clearance as the transaction that wrote the event left them; a "hold placed" or "hold
released" event carries a digest of the holds on its path. The digests are inside the
event's MAC, so someone without the audit key who edits ``assets``, ``clearances`` or
``holds`` behind the trail's back leaves a row that no longer matches its newest event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlmodel import col

from provenance.catalog.chunks import in_chunks
from provenance.catalog.models import Asset, Clearance, Event, Hold
from provenance.lifecycle.states import Status

if TYPE_CHECKING:
    from provenance.catalog.store import Tx

#: Events whose digest is of the holds on their path, not of an asset.
HOLD_ACTIONS = ("hold placed", "hold released")


def _digest(parts: Iterable[object]) -> str:
    text = "\x1f".join("-" if part is None else str(part) for part in parts)
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def asset_digest(status: str, content_hash: str | None, clearance: tuple[int, str] | None) -> str:
    """Return the digest of an asset's status, content hash and active clearance (id, hash)."""
    return _digest(["asset", status, content_hash, *(clearance or (None, None))])


def hold_digest(holds: Sequence[tuple[int, str, bool]]) -> str:
    """Return the digest of the holds on one path: (id, reason, released) each, by id."""
    return _digest(["holds", *(part for hold in sorted(holds) for part in hold)])


def _active_clearances(tx: Tx, asset_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    found: dict[int, tuple[int, str]] = {}
    for chunk in in_chunks(asset_ids):
        query = (
            select(col(Clearance.asset_id), col(Clearance.id), col(Clearance.content_hash))
            .where(col(Clearance.asset_id).in_(chunk), col(Clearance.voided_at).is_(None))
            .order_by(col(Clearance.id))
        )
        for asset_id, clearance_id, content_hash in tx.session.execute(query):
            found[asset_id] = (clearance_id, content_hash)  # the newest active one
    return found


def asset_states(tx: Tx, asset_ids: Sequence[int]) -> dict[int, str]:
    """Return asset id -> its state digest now, for the ids that exist."""
    ids = sorted(set(asset_ids))
    clearances = _active_clearances(tx, ids)
    states: dict[int, str] = {}
    for chunk in in_chunks(ids):
        query = select(col(Asset.id), col(Asset.status), col(Asset.content_hash)).where(
            col(Asset.id).in_(chunk)
        )
        for asset_id, status, content_hash in tx.session.execute(query):
            states[asset_id] = asset_digest(status, content_hash, clearances.get(asset_id))
    return states


def hold_states(tx: Tx, paths: Sequence[str]) -> dict[str, str]:
    """Return path -> the digest of the holds placed on exactly that path."""
    found: dict[str, list[tuple[int, str, bool]]] = {path: [] for path in set(paths)}
    for chunk in in_chunks(sorted(found)):
        query = select(Hold).where(col(Hold.path).in_(chunk))
        for hold in tx.session.execute(query).scalars():
            assert hold.id is not None
            found[hold.path].append((hold.id, hold.reason, hold.released_at is not None))
    return {path: hold_digest(holds) for path, holds in found.items()}


@dataclass(frozen=True)
class Mismatch:
    """A row of a state table that does not agree with the newest event about it."""

    what: str
    reason: str


def state_mismatches(tx: Tx) -> Iterator[Mismatch]:
    """Yield every asset and hold whose row differs from the state its newest event recorded.

    Assets with no event of their own must still be "not-ai" (indexed in a batch); a hold
    row with no event is one nobody placed through provenance. Streams: one pass over the
    assets, joined to the newest event of each.
    """
    newest = (
        select(col(Event.asset_id), func.max(col(Event.id)).label("event_id"))
        .where(col(Event.asset_id).is_not(None))
        .group_by(col(Event.asset_id))
        .subquery()
    )
    query = (
        select(
            col(Asset.id),
            col(Asset.path),
            col(Asset.status),
            col(Asset.content_hash),
            newest.c.event_id,
            col(Event.state),
        )
        .outerjoin(newest, newest.c.asset_id == col(Asset.id))
        .outerjoin(Event, col(Event.id) == newest.c.event_id)
        .order_by(col(Asset.id))
        .execution_options(yield_per=2000)
    )
    batch: list[tuple[int, str, str, str | None, int | None, str | None]] = []
    for row in tx.session.execute(query):
        batch.append(tuple(row))
        if len(batch) >= 2000:
            yield from _check_assets(tx, batch)
            batch = []
    yield from _check_assets(tx, batch)
    yield from _check_holds(tx)


def _check_assets(
    tx: Tx, rows: list[tuple[int, str, str, str | None, int | None, str | None]]
) -> Iterator[Mismatch]:
    clearances = _active_clearances(tx, [row[0] for row in rows])
    for asset_id, path, status, content_hash, event_id, state in rows:
        what = f"asset {asset_id} ({path})"
        if event_id is None:
            if status != Status.NOT_AI or asset_id in clearances:
                yield Mismatch(what, f"status {status!r} was never recorded by an audit event")
            continue
        if state is None:
            continue  # its newest event predates the keyed audit
        if state != asset_digest(status, content_hash, clearances.get(asset_id)):
            yield Mismatch(
                what,
                f"status, content hash or clearance differ from what event {event_id} recorded "
                "(state table edited)",
            )


def _check_holds(tx: Tx) -> Iterator[Mismatch]:
    newest = (
        select(col(Event.path), func.max(col(Event.id)).label("event_id"))
        .where(col(Event.action).in_(HOLD_ACTIONS))
        .group_by(col(Event.path))
        .subquery()
    )
    query = select(newest.c.path, newest.c.event_id, col(Event.state)).join(
        Event, col(Event.id) == newest.c.event_id
    )
    recorded = {path: (event_id, state) for path, event_id, state in tx.session.execute(query)}
    paths = sorted({*recorded, *tx.session.execute(select(col(Hold.path)).distinct()).scalars()})
    current = hold_states(tx, paths)
    for path in paths:
        event = recorded.get(path)
        if event is None:
            yield Mismatch(f"hold on {path}", "no audit event placed it (holds table edited)")
            continue
        event_id, state = event
        if state is not None and state != current[path]:
            yield Mismatch(
                f"hold on {path}",
                f"differs from what event {event_id} recorded (holds table edited)",
            )
