"""The asset lifecycle (DESIGN.md): statuses, their groups, the allowed moves, and ``move``.

::

    not-ai -> temporary -> expiring -> flagged -> quarantined -> purged
                  |  ^                    ^            |
        cleared <-+  +- voided, revoked   +- restore --+

    cleared: from temporary, expiring, flagged (and held); held: from any status a sweep
    moves, back to temporary, cleared or quarantined when released (``TRANSITIONS``).

Every status an asset can have is a member of :class:`Status`, a ``str`` enum whose values
are the strings the catalog stores (no migration). Every other module reads statuses and
their groups from here, and every change of an asset's status goes through :func:`move`,
which refuses a move the lifecycle does not allow and writes the move's audit event.

This module sits below the catalog (whose queries filter on the groups) and imports nothing
of it but types: ``move`` is given the transaction that records the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from provenance.errors import TransitionError

if TYPE_CHECKING:
    from datetime import datetime

    from provenance.access.identity import Actor
    from provenance.catalog.models import Asset
    from provenance.catalog.store import Tx


class Status(StrEnum):
    """An asset's place in the lifecycle; the value is what the catalog stores."""

    #: tracked, no lifecycle
    NOT_AI = "not-ai"
    TEMPORARY = "temporary"
    EXPIRING = "expiring"
    FLAGGED = "flagged"
    QUARANTINED = "quarantined"
    PURGED = "purged"
    CLEARED = "cleared"
    HELD = "held"


#: Every status, "not-ai" first (the choices of ``provenance list --status``).
STATUSES: tuple[Status, ...] = tuple(Status)
#: Every status an AI asset can be in, in the order the report's columns show them.
AI_STATUSES: tuple[Status, ...] = tuple(s for s in Status if s is not Status.NOT_AI)
#: The statuses a sweep moves an asset through, in order (a sweep never moves one back).
SWEPT: tuple[Status, ...] = (
    Status.TEMPORARY,
    Status.EXPIRING,
    Status.FLAGGED,
    Status.QUARANTINED,
    Status.PURGED,
)
#: The steps of a sweep that change the catalog alone (no file moves): done in batches.
MARKED: tuple[Status, ...] = (Status.EXPIRING, Status.FLAGGED)
#: Past their deadline and marked so by a sweep: waiting for a person, or the quarantine.
OVERDUE: tuple[Status, ...] = (Status.FLAGGED,)
#: AI assets still waiting for a decision: a deadline ahead or behind them.
OPEN: tuple[Status, ...] = (Status.TEMPORARY, Status.EXPIRING)
#: The statuses a sweep may move an asset out of while its file is at its path.
MOVABLE: tuple[Status, ...] = (*OPEN, Status.FLAGGED)
#: The statuses a sweep looks at: movable ones, and quarantined ones (purged when due).
SWEEPABLE: tuple[Status, ...] = (*MOVABLE, Status.QUARANTINED)
#: The statuses a legal hold takes an asset out of (a cleared asset is never moved anyway).
HOLDABLE: tuple[Status, ...] = SWEEPABLE
#: The statuses a sweep never changes.
PROTECTED: tuple[Status, ...] = (Status.CLEARED, Status.HELD)
#: AI assets in the lifecycle and not cleared: what ``uncleared`` and the report list.
UNCLEARED: tuple[Status, ...] = (*SWEEPABLE, Status.HELD)
#: Assets whose file is no longer at their path for good (in quarantine, or its bytes gone).
RETIRED: tuple[Status, ...] = (Status.QUARANTINED, Status.PURGED)
#: Statuses with no way out.
TERMINAL: tuple[Status, ...] = (Status.PURGED,)
#: The statuses a rebuild takes back from a tag beside the same bytes: a sweep's own
#: marks. A tag cannot give back a protection (cleared, held), whose record it does not
#: carry, nor a quarantine or a purge (the file is at its path).
REBUILDABLE: tuple[Status, ...] = MOVABLE

#: A sweep's actions and the status each moves an asset to.
ACTIONS: Mapping[str, Status] = {
    "warn": Status.EXPIRING,
    "flag": Status.FLAGGED,
    "quarantine": Status.QUARANTINED,
    "purge": Status.PURGED,
    "hold": Status.HELD,
}

#: The moves the lifecycle allows: status -> the statuses an asset may go to from it.
#: Staying where it is is always allowed (an event that changes no status: a held asset
#: cleared, restored or whose clearance is voided stays held).
TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    # detected (on a re-read) or declared (provenance tag) as AI
    Status.NOT_AI: frozenset({Status.TEMPORARY}),
    # warned, flagged, cleared, held; read again as not AI
    Status.TEMPORARY: frozenset(
        {Status.EXPIRING, Status.FLAGGED, Status.CLEARED, Status.HELD, Status.NOT_AI}
    ),
    Status.EXPIRING: frozenset({Status.FLAGGED, Status.CLEARED, Status.HELD, Status.NOT_AI}),
    Status.FLAGGED: frozenset({Status.QUARANTINED, Status.CLEARED, Status.HELD}),
    # purged when due; restored (flagged again, with a fresh grace); held
    Status.QUARANTINED: frozenset({Status.PURGED, Status.FLAGGED, Status.HELD}),
    Status.PURGED: frozenset(),
    # its clearance voided (the bytes changed) or revoked
    Status.CLEARED: frozenset({Status.TEMPORARY}),
    # released: back to temporary, to cleared (approved while held), to quarantine
    Status.HELD: frozenset({Status.TEMPORARY, Status.CLEARED, Status.QUARANTINED}),
}


#: How the report shows each AI status (its bars and its status labels).
COLOURS: Mapping[str, str] = {
    Status.TEMPORARY: "#6b8fb5",
    Status.EXPIRING: "#d89b2b",
    Status.FLAGGED: "#c8553d",
    Status.QUARANTINED: "#8c4f9f",
    Status.PURGED: "#5b5b5b",
    Status.CLEARED: "#3f8f5a",
    Status.HELD: "#2f6f8f",
}

#: What a move to each status means, in a few words (a notice's title), for the statuses
#: whose move's audit event is named for them (``move``'s default action): the events of
#: these moves are the statuses a webhook can be told of (``config.notify.NOTIFIABLE``).
#: A move to temporary is named for why it happened (revoked, clearance-voided, released).
MEANINGS: Mapping[str, str] = {
    Status.EXPIRING: "AI asset expiring soon",
    Status.FLAGGED: "AI asset past its deadline (flagged)",
    Status.QUARANTINED: "AI asset quarantined",
    Status.PURGED: "AI asset purged",
    Status.CLEARED: "AI asset cleared",
    Status.HELD: "AI asset held",
}


#: The statuses ``clear`` accepts: those the lifecycle lets go to cleared (a held asset stays
#: held, its clearance recorded). ``hold`` accepts ``HOLDABLE``.
CLEARABLE: tuple[Status, ...] = tuple(
    status for status in Status if Status.CLEARED in TRANSITIONS[status]
)


def status_of(value: str) -> Status:
    """Return the status named ``value``; TransitionError for a name the lifecycle lacks."""
    try:
        return Status(value)
    except ValueError:
        raise TransitionError(f"{value!r} is not a status") from None


def allowed(current: str, to: Status) -> bool:
    """Return whether an asset in ``current`` may go to ``to`` (staying is always allowed)."""
    return current == to or to in TRANSITIONS.get(status_of(current), frozenset())


def initial(ai_class: str) -> Status:
    """Return the status of a newly seen asset of this AI class."""
    return Status.NOT_AI if ai_class == "none" else Status.TEMPORARY


def born(row: Any, status: Status) -> None:
    """Give a new row not yet in the catalog its first status (a copy of cleared bytes, a
    rebuild from its tag): it is born so, not moved; the event that records it says why."""
    row.status = status


def rebuilt(tag_status: str, ai_class: str) -> Status:
    """Return the status a rebuild gives an asset whose tag (beside the same bytes) says
    ``tag_status``: the tag's word for a sweep's own marks, else a new asset's status."""
    start = initial(ai_class)
    if start is Status.TEMPORARY and tag_status in REBUILDABLE:
        return Status(tag_status)
    return start


def move(
    tx: Tx,
    asset: Asset,
    to: Status,
    actor: Actor,
    now: datetime,
    *,
    action: str | None = None,
    reason: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    journaled: bool = False,
) -> Status:
    """Move ``asset`` to ``to`` and record the one audit event of the move; return the
    status it was in.

    The event is ``action`` (by default the new status's name), with ``reason``, and
    ``before``/``after`` with the old and new status added under ``"status"``. Raises
    TransitionError, having changed nothing, when the lifecycle does not allow the move.

    ``journaled`` records a file step that was journaled, re-checked and done before this
    transaction (``provenance.retention``): the file is where the step put it, so a
    clearance or a hold that came in the meantime does not refuse the record of it (a
    status the lifecycle lacks still does).
    """
    current = asset.status
    if journaled:
        status_of(current)
    elif not allowed(current, to):
        ways = ", ".join(sorted(TRANSITIONS[status_of(current)])) or "nothing (it is final)"
        raise TransitionError(
            f"{asset.path}: cannot go from {current} to {to} (from {current}: {ways})"
        )
    was = Status(current)
    asset.status = to.value
    tx.record(
        actor,
        action or to.value,
        now,
        asset=asset,
        reason=reason,
        before={**(before or {}), "status": was.value},
        after={**(after or {}), "status": to.value},
    )
    return was
