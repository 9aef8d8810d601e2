"""Check the audit trail: every link of the hash chain, every event's HMAC under the key file,
and the chain against every head anchored outside the catalog (pure: events in, verdict out).

What each check catches, for someone who can write the catalog but not read the key:
- an edited event: its hash no longer matches (or, re-hashed, its MAC does not);
- an inserted or deleted event: the next event's ``prev_hash`` (or a re-chained MAC);
- a forged event appended: no valid MAC;
- the newest events deleted, or all of them: the anchors record more events than are left;
- a whole chain rebuilt without MACs: events the key file says must be signed are not.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from provenance.audit import GENESIS, ChainBreak, event_hash
from provenance.audit.anchor import Anchor
from provenance.audit.keys import KeyRing, event_mac


@dataclass(frozen=True)
class Verdict:
    """What a walk of the chain found: how many events, signed by which keys, the first
    problem (None when the chain holds), and how many anchors were checked."""

    events: int
    signed: dict[str, int]
    unauthenticated: int
    anchors: int
    broken: ChainBreak | None = None
    #: A problem not tied to one event (deleted events, a missing key file).
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None and self.problem is None


def verify_events(
    events: Iterable[Mapping[str, Any]], ring: KeyRing | None, anchors: list[Anchor]
) -> Verdict:
    """Walk ``events`` in id order; return the first problem found, or an intact verdict.

    ``ring`` None: there is no key file; that is only right while no event is signed.
    """
    at_count: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        at_count.setdefault(anchor.count, []).append(anchor)
    prev = GENESIS
    count = 0
    signed: dict[str, int] = {}
    unauthenticated = 0
    newest_key = -1
    checked = 0

    def verdict(broken: ChainBreak | None = None, problem: str | None = None) -> Verdict:
        return Verdict(count, signed, unauthenticated, checked, broken, problem)

    for event in events:
        count += 1
        event_id = event["id"]
        if event["prev_hash"] != prev:
            return verdict(
                ChainBreak(
                    event_id, "does not follow the event before it (row inserted or deleted)"
                )
            )
        digest = event_hash(prev, event)
        if event["hash"] != digest:
            return verdict(ChainBreak(event_id, "its content does not match its hash (row edited)"))
        mac, key_id = event.get("mac"), event.get("key_id")
        if ring is not None and count <= ring.unauthenticated:
            unauthenticated += 1  # written before this key file (an older release, a lost key)
        elif mac is None:
            if ring is not None:
                return verdict(
                    ChainBreak(
                        event_id,
                        "carries no MAC, but the key file says every event after the first "
                        f"{ring.unauthenticated} is signed (forged or rewritten)",
                    )
                )
            unauthenticated += 1
        else:
            if ring is None:
                return verdict(
                    problem=(
                        f"the audit key file is missing: event {event_id} and others are signed "
                        f"(key {key_id}) and cannot be checked; restore the key file from its "
                        "backup, or see README, Audit trail: a lost key"
                    )
                )
            key = ring.by_id(str(key_id))
            if key is None:
                return verdict(
                    ChainBreak(
                        event_id, f"is signed with key {key_id!r}, which the key file does not hold"
                    )
                )
            order = ring.order(key.key_id)
            if order < newest_key:
                return verdict(
                    ChainBreak(
                        event_id,
                        f"is signed with key {key_id!r}, retired before the event before it",
                    )
                )
            newest_key = order
            if event.get("seq") != count:
                return verdict(
                    ChainBreak(
                        event_id,
                        f"says it is event {event.get('seq')} of the chain, but it is {count} "
                        "(row inserted or deleted)",
                    )
                )
            expected = event_mac(key.secret, key.key_id, count, event.get("state"), digest)
            if not hmac.compare_digest(str(mac), expected):
                return verdict(
                    ChainBreak(
                        event_id,
                        "its MAC does not match (edited, re-chained or forged without the key)",
                    )
                )
            signed[key.key_id] = signed.get(key.key_id, 0) + 1
        for anchor in at_count.get(count, []):
            checked += 1
            if anchor.head != digest:
                return verdict(
                    ChainBreak(
                        event_id,
                        f"differs from the head anchored at {anchor.at} "
                        f"(event {count} of the chain was replaced)",
                    )
                )
        prev = digest
    beyond = [anchor for anchor in anchors if anchor.count > count]
    if beyond:
        most = max(beyond, key=lambda anchor: anchor.count)
        return verdict(
            problem=(
                f"events deleted: the head anchored at {most.at} records {most.count} events, "
                f"the catalog holds {count}"
            )
        )
    if ring is not None and count < ring.unauthenticated:
        return verdict(
            problem=(
                f"events deleted: the key file was made when the chain held {ring.unauthenticated}"
                f" events, the catalog holds {count}"
            )
        )
    return verdict()
