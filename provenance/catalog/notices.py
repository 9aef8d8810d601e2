"""The audit events the notifications are made of, read in id order after a cursor, and the
cursors (``notify_cursors``: each webhook's last event id).

Appends to the chain are serialized (``Tx.finish``), so event ids become visible in order:
an event id below the newest one a reader sees never appears later, and a cursor (the last
id handled) loses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, func, select, update

from provenance.catalog.models import Event, NotifyCursor
from provenance.catalog.store import Tx

_E = cast(Table, Event.__table__).c  # type: ignore[attr-defined]
_NAMES = ("id", "action", "at", "path", "asset_id", "reason", "user", "host", "before", "after")


def last_event_id(tx: Tx) -> int:
    """Return the newest event's id, 0 when there is none."""
    return int(tx.session.execute(select(func.max(_E.id))).scalar() or 0)


def events_between(
    tx: Tx, after: int, upto: int, actions: Sequence[str], limit: int
) -> list[dict[str, Any]]:
    """Return up to ``limit`` events with ``after < id <= upto`` whose action is one of
    ``actions``, oldest first, as plain dicts (id, action, at, path, asset_id, reason, user,
    host, before, after)."""
    if not actions or upto <= after:
        return []
    query = (
        select(*(_E[name] for name in _NAMES))
        .where(_E.id > after, _E.id <= upto, _E.action.in_(list(actions)))
        .order_by(_E.id)
        .limit(limit)
    )
    rows = []
    for row in tx.session.execute(query):
        values = dict(zip(_NAMES, row, strict=True))
        at = values["at"]
        if isinstance(at, datetime) and at.tzinfo is None:
            values["at"] = at.replace(tzinfo=UTC)
        rows.append(values)
    return rows


_C = cast(Table, NotifyCursor.__table__).c  # type: ignore[attr-defined]


def load_cursors(tx: Tx) -> dict[str, int]:
    """Return ``{webhook name: last event id}``."""
    return {row[0]: int(row[1]) for row in tx.session.execute(select(_C.name, _C.event_id))}


def save_cursor(tx: Tx, name: str, event_id: int, now: datetime) -> None:
    """Set webhook ``name``'s cursor to ``event_id``."""
    done = tx.session.execute(
        update(NotifyCursor).where(_C.name == name).values(event_id=event_id, updated_at=now)
    )
    if not getattr(done, "rowcount", 0):
        tx.session.add(NotifyCursor(name=name, event_id=event_id, updated_at=now))
