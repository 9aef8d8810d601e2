"""Proof that nothing changed behind the catalog's back: ``verify_audit`` (the event chain, its
MACs, the anchored heads, the state tables), the audit key (``rotate_key``, ``new_key``),
``anchor``, and ``fixity`` (cleared files re-hashed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from provenance.audit.anchor import read_anchors
from provenance.audit.keys import add_key, create_keys, key_path, read_keys
from provenance.audit.verify import Verdict, verify_events
from provenance.catalog import utcnow
from provenance.catalog.attest import state_mismatches
from provenance.clearance.fixity import FixityReport, run_fixity
from provenance.errors import AuditError
from provenance.service.context import App, Caller
from provenance.service.remote import Progress, served


@dataclass(frozen=True)
class Verified:
    """An intact audit trail: the verdict, and whether a key file exists."""

    verdict: Verdict
    has_keys: bool


@served("audit verify")
def verify_audit(app: App, caller: Caller) -> Verified:
    """Check every event's link and MAC, the anchored heads, and that the state tables agree
    with the events; AuditError naming the first problem."""
    caller.require("audit verify")
    catalog = app.catalog
    ring = read_keys(key_path(catalog.state_dir))
    anchors = read_anchors(catalog.state_dir)
    with catalog.read() as tx:
        verdict = verify_events((e.model_dump() for e in tx.all_events()), ring, anchors)
        mismatch = next(state_mismatches(tx), None) if verdict.ok else None
    if verdict.broken is not None:
        raise AuditError(
            f"audit chain broken at event {verdict.broken.event_id}: {verdict.broken.reason}"
        )
    if verdict.problem is not None:
        raise AuditError(f"audit chain broken: {verdict.problem}")
    if mismatch is not None:
        raise AuditError(f"audit state broken: {mismatch.what}: {mismatch.reason}")
    return Verified(verdict, ring is not None)


@dataclass(frozen=True)
class NewKey:
    """The audit key now signing new events, its file, and the events before it."""

    key_id: str
    path: Path
    earlier_events: int


def rotate_key(app: App, caller: Caller) -> NewKey:
    """Sign new events with a new key; the old keys stay in the key file for old events."""
    caller.require("audit key")
    catalog = app.catalog
    ring = add_key(key_path(catalog.state_dir), utcnow())
    catalog.forget_keys()
    with catalog.write() as tx:
        tx.record(
            caller.actor, "audit-key-rotated", utcnow(), reason=f"new key {ring.current.key_id}"
        )
    return NewKey(ring.current.key_id, ring.path, 0)


def new_key(app: App, caller: Caller) -> NewKey:
    """Start a new key file after the old one was lost: the events already in the catalog are
    then checked by their chain and the anchors only, and an event says so."""
    caller.require("audit key")
    catalog = app.catalog
    path = key_path(catalog.state_dir)
    if read_keys(path) is not None:
        raise AuditError(f"{path} exists: use `provenance audit rotate-key` for a new key")
    with catalog.read() as tx:
        count, _head = tx.chain_head()
    ring = create_keys(path, count, utcnow())
    with catalog.write() as tx:
        tx.record(
            caller.actor,
            "audit-key-replaced",
            utcnow(),
            reason=f"audit key lost; the {count} events before this are no longer authenticated",
        )
    return NewKey(ring.current.key_id, path, count)


def anchor(app: App, caller: Caller, *, occasion: str = "by hand") -> tuple[int, str]:
    """Write the chain's head (events, newest hash) to the anchor file and the system log,
    marked with the ``occasion`` ("by hand", "hourly"); return the head."""
    caller.require("audit key")
    catalog = app.catalog
    with catalog.read() as tx:
        head = tx.chain_head()
    catalog.anchor(head, occasion)
    return head


@served("fixity", long=True)
def fixity(
    app: App, caller: Caller, *, on_progress: Callable[[Progress], None] | None = None
) -> FixityReport:
    """Re-hash every cleared file; one whose bytes changed loses its clearance."""
    caller.require("fixity")
    if on_progress is not None:
        on_progress(Progress("checking cleared files"))
    return run_fixity(app.settings_with_roots(), app.catalog, caller.actor, utcnow())
