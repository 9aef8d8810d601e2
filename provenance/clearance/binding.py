"""The clearance follows the content: voided when the bytes change or the approval is withdrawn,
carried to copies of the same bytes. Called inside a catalog write transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from provenance.audit import Actor
from provenance.catalog import Asset, Clearance, EventSpec, Tx
from provenance.catalog.clearance import (
    active_clearance,
    add_clearance,
    cleared_before_change,
    void_clearance,
)
from provenance.clearance.policy import ClearancePolicy
from provenance.lifecycle.states import PROTECTED, Status, born, move, status_of

log = logging.getLogger(__name__)


def void(
    tx: Tx,
    asset: Asset,
    clearance: Clearance,
    *,
    action: str,
    reason: str,
    actor: Actor,
    now: datetime,
    deadline: datetime | None,
    policy: str | None,
    new_hash: str | None = None,
) -> None:
    """End ``clearance`` and put the asset back to temporary with ``deadline`` (one event).

    ``action`` is ``clearance-voided`` (the bytes changed) or ``revoked`` (approval
    withdrawn). A held asset stays held (a hold wins); only its clearance ends.
    """
    void_clearance(tx, clearance, now, action, reason)
    to = status_of(asset.status)  # a hold wins: only its clearance ends
    if to is Status.CLEARED:
        to = Status.TEMPORARY
        asset.deadline, asset.policy = deadline, policy
    after: dict[str, Any] = {
        "deadline": asset.deadline.isoformat() if asset.deadline else None,
        "clearance_id": clearance.id,
    }
    before = {"content_hash": clearance.content_hash, "approval_ref": clearance.approval_ref}
    if new_hash is not None:
        after["content_hash"] = new_hash
    move(tx, asset, to, actor, now, action=action, reason=reason, before=before, after=after)


def copy_clearance(
    tx: Tx, asset_id: int, path: str, source: Clearance, actor: Actor, now: datetime
) -> EventSpec:
    """Store a clearance for a copy of cleared content; return its ``cleared`` event."""
    copied = add_clearance(
        tx,
        Clearance(
            asset_id=asset_id,
            content_hash=source.content_hash,
            approval_ref=source.approval_ref,
            note=source.note,
            consent_refs=list(source.consent_refs or []),
            escalation_ref=source.escalation_ref,
            user=actor.user,
            host=actor.host,
            cleared_at=now,
            intended_use=source.intended_use,
            risk=source.risk,
            rules=source.rules,
            labelled=source.labelled,
            source_clearance_id=source.id,
        ),
    )
    return EventSpec(
        Status.CLEARED,
        asset_id,
        path,
        f"copy of cleared content (clearance {source.id})",
        {},
        {
            "status": Status.CLEARED,
            "approval_ref": source.approval_ref,
            "clearance_id": copied.id,
            "source_clearance_id": source.id,
            "content_hash": source.content_hash,
        },
    )


class CopyRow(Protocol):
    """A new copy's row, as ingest builds it (``provenance.ingest.rows.NewRow``)."""

    ai_class: str
    generator: str | None
    family: str | None
    facts: dict[str, Any] | None
    content_hash: str | None
    status: str
    deadline: datetime | None
    policy: str | None
    risk: str | None
    risk_rules: str | None
    tool_status: str | None
    tool_name: str | None


class CopySource(Protocol):
    """What a copy is made from: an asset, or a new row of the same batch."""

    @property
    def id(self) -> int | None: ...
    @property
    def status(self) -> str: ...
    @property
    def facts(self) -> dict[str, Any] | None: ...


def follow_copy(
    tx: Tx, row: CopyRow, source: CopySource, policy: ClearancePolicy
) -> Clearance | None:
    """Give a new copy's ``row`` its source's declared facts and risk columns; when the
    source's content is cleared, make the row cleared and return the source's clearance."""
    row.facts = source.facts
    for name, value in policy.columns(row.ai_class, row.generator, row.family, row.facts).items():
        setattr(row, name, value)
    if source.id is None or row.content_hash is None:  # a copy always has its content hash
        return None
    clearance = None
    if source.status in PROTECTED:
        clearance = active_clearance(tx, source.id)
    if clearance is None or clearance.content_hash != row.content_hash:
        # the source's file may have changed since (even earlier in this scan) while the
        # copy still holds exactly the bytes that were cleared: those bytes stay cleared
        clearance = cleared_before_change(tx, source.id, row.content_hash)
    if clearance is None:
        return None
    born(row, Status.CLEARED)
    row.deadline, row.policy = None, None
    return clearance


def void_if_changed(
    tx: Tx,
    asset: Asset,
    schedule: Callable[[Mapping[str, Any]], tuple[datetime | None, str | None]],
    actor: Actor,
    now: datetime,
) -> None:
    """Void the clearance of an asset whose bytes no longer match it (``clearance-voided``).

    ``schedule`` gives the deadline of a temporary asset (ingest's retention rules).
    """
    if asset.status not in PROTECTED or asset.id is None:
        return
    clearance = active_clearance(tx, asset.id)
    if clearance is None or clearance.content_hash == asset.content_hash:
        return
    values = {**asset.model_dump(), "status": Status.TEMPORARY, "deadline": None, "policy": None}
    deadline, policy = schedule(values)
    void(
        tx,
        asset,
        clearance,
        action="clearance-voided",
        reason="content changed after clearance",
        actor=actor,
        now=now,
        deadline=deadline,
        policy=policy,
        new_hash=asset.content_hash,
    )
    log.warning("clearance voided: %s changed after it was cleared", asset.path)
