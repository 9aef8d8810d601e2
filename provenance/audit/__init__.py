"""Append-only, hash-chained audit events: who did what to which asset, and proof of order."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Actor lives in provenance.access.identity; the services import it from here, beside the events.
from provenance.access.identity import Actor as Actor
from provenance.lifecycle.states import Status

GENESIS = "0" * 64

#: Actions after which the chain's head is anchored at once (destructive or deciding steps);
#: other writes anchor it at most hourly (``provenance.catalog.engine``).
#: A move's event is named for the status it goes to (``provenance.lifecycle.states.move``).
ANCHORED_ACTIONS = (
    Status.QUARANTINED,
    Status.PURGED,
    "restored",
    Status.CLEARED,
    "revoked",
    "clearance-voided",
    Status.HELD,
    "released",
    "hold placed",
    "hold released",
    "tagged",
    "facts-declared",
    "audit-key-rotated",
    "audit-key-replaced",
)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def event_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """Return the SHA-256 that binds an event's fields to the hash of the event before it."""
    at = fields["at"]
    body = {
        "asset_id": fields.get("asset_id"),
        "at": at.isoformat() if isinstance(at, datetime) else str(at),
        "user": fields["user"],
        "host": fields["host"],
        "action": fields["action"],
        "path": fields.get("path"),
        "reason": fields.get("reason", ""),
        "before": fields.get("before") or {},
        "after": fields.get("after") or {},
    }
    return hashlib.sha256((prev_hash + _canonical(body)).encode("utf-8")).hexdigest()


def id_ranges(ids: Iterable[int]) -> str:
    """Return ascending ids as compact ranges: ``[1, 2, 3, 7]`` -> ``"1-3,7"``."""
    parts: list[str] = []
    start = end = None
    for value in sorted(ids):
        if end is not None and value == end + 1:
            end = value
            continue
        if start is not None:
            parts.append(str(start) if start == end else f"{start}-{end}")
        start = end = value
    if start is not None:
        parts.append(str(start) if start == end else f"{start}-{end}")
    return ",".join(parts)


def in_ranges(value: int, ranges: str) -> bool:
    """Return whether ``value`` is one of the ids written by ``id_ranges``."""
    for part in ranges.split(","):
        first, _, last = part.partition("-")
        if first and int(first) <= value <= int(last or first):
            return True
    return False


def rows_digest(rows: Iterable[tuple[Any, ...]]) -> str:
    """Return the SHA-256 of rows of plain values (order matters).

    Each value is written as its length and its text (None as ``-``), so no value (a file
    name may hold a tab or a newline) can be mistaken for two.
    """
    digest = hashlib.sha256()
    parts: list[str] = []
    for row in rows:
        for value in row:
            if value is None:
                parts.append("-")
                continue
            text = str(value)
            parts.append(f"{len(text)}:{text}")
        parts.append("\n")
    digest.update("".join(parts).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first event whose link does not hold, and why."""

    event_id: int
    reason: str


def verify_chain(events: Iterable[Mapping[str, Any]]) -> ChainBreak | None:
    """Return the first broken link in events ordered by id, or None when the chain holds.

    An edited row changes its hash; an inserted or deleted row breaks the next ``prev_hash``.
    """
    prev = GENESIS
    for event in events:
        if event["prev_hash"] != prev:
            return ChainBreak(
                event["id"], "does not follow the event before it (row inserted or deleted)"
            )
        expected = event_hash(prev, event)
        if event["hash"] != expected:
            return ChainBreak(event["id"], "its content does not match its hash (row edited)")
        prev = event["hash"]
    return None
