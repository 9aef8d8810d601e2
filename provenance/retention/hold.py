"""Legal holds: a held path (a file, or a folder and everything under it) is never moved.

A hold is stored by path prefix, so files that arrive under a held folder later are held
too (the sweep marks them before it would ever flag them). Releasing a hold returns each
asset to the lifecycle: the next sweep decides its state again from its policy.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from provenance.audit import Actor
from provenance.catalog import Catalog, Hold, Tx
from provenance.catalog.clearance import active_clearance
from provenance.catalog.lifecycle import active_holds, assets_at_or_under, is_under
from provenance.errors import PurgeError
from provenance.lifecycle.states import HOLDABLE, Status, move

log = logging.getLogger(__name__)


def hold_assets(tx: Tx, hold_path: str, reason: str, actor: Actor, now: datetime) -> list[str]:
    """Mark every holdable asset at or under ``hold_path`` held; return their paths."""
    held = []
    for row in assets_at_or_under(tx, hold_path):
        if row.status not in HOLDABLE:
            continue
        asset = tx.asset_by_id(row.id)
        assert asset is not None
        move(tx, asset, Status.HELD, actor, now, reason=reason, after={"hold": hold_path})
        held.append(asset.path)
    return held


@dataclass(frozen=True)
class HoldOutcome:
    """What placing or releasing a hold did on one path (on a dry run, would do)."""

    path: str
    #: The assets it holds, or frees.
    assets: int
    dry_run: bool = False
    #: A hold was placed on exactly this path already: nothing was done.
    already: bool = False


def hold(
    catalog: Catalog,
    paths: Sequence[str],
    reason: str,
    actor: Actor,
    now: datetime,
    *,
    dry_run: bool = False,
    unseen: Collection[str] = (),
) -> list[HoldOutcome]:
    """Place a hold on each path; return what each covers.

    Raises PurgeError, before anything is held, for a path that is neither on disk nor
    known to the catalog (a typo would otherwise hold nothing and say so quietly), and for
    one that is a symbolic link (a hold names what it holds, not a way to it). ``unseen``:
    paths the caller does not see (their command line looked, in their own view of the
    files): only the catalog can vouch for those, never what happens to be at that name here.
    """
    if not reason.strip():
        raise PurgeError("a hold needs a reason (--reason TEXT)")
    with catalog.read() as tx:
        for path in paths:
            known = next(assets_at_or_under(tx, path), None) is not None
            try:
                here = os.lstat(path)
            except OSError:
                here = None
            if here is not None and stat.S_ISLNK(here.st_mode) and not known:
                raise PurgeError(f"{path} is a symbolic link: hold the file or folder it leads to")
            if known:
                continue
            if path in unseen or here is None:
                where = " (the daemon's account sees it, you do not)" if here else ""
                raise PurgeError(f"no such path: {path}{where}")
    outcomes = []
    for path in paths:
        if dry_run:
            with catalog.read() as tx:
                count = sum(1 for r in assets_at_or_under(tx, path) if r.status in HOLDABLE)
            outcomes.append(HoldOutcome(path, count, dry_run=True))
            continue
        with catalog.write() as tx:
            if any(h.path == path for h in active_holds(tx)):
                outcomes.append(HoldOutcome(path, 0, already=True))
                continue
            tx.add(Hold(path=path, reason=reason, user=actor.user, host=actor.host, created_at=now))
            tx.record(actor, "hold placed", now, path=path, reason=reason)
            held = hold_assets(tx, path, reason, actor, now)
        log.info("hold placed on %s (%d assets): %s", path, len(held), reason)
        outcomes.append(HoldOutcome(path, len(held)))
    return outcomes


def release(
    catalog: Catalog, paths: Sequence[str], actor: Actor, now: datetime, *, dry_run: bool = False
) -> list[HoldOutcome]:
    """Release the hold placed on each path; return what each frees.

    Raises PurgeError naming the path when no hold was placed on exactly that path.
    """
    outcomes = []
    for path in paths:
        with catalog.write() as tx:
            holds = active_holds(tx)
            mine = [h for h in holds if h.path == path]
            if not mine:
                above = [h.path for h in holds if is_under(path, h.path)]
                hint = f" (it is covered by the hold on {above[0]})" if above else ""
                raise PurgeError(f"{path}: no hold was placed on this path{hint}")
            others = [h.path for h in holds if h.path != path]
            rows = [r for r in assets_at_or_under(tx, path) if r.status == Status.HELD]
            freed = [r for r in rows if not any(is_under(r.path, other) for other in others)]
            if dry_run:
                outcomes.append(HoldOutcome(path, len(freed), dry_run=True))
                continue
            for entry in mine:
                entry.released_at = now
            tx.record(actor, "hold released", now, path=path, reason=mine[0].reason)
            for row in freed:
                asset = tx.asset_by_id(row.id)
                assert asset is not None
                clearance = active_clearance(tx, row.id)
                if asset.quarantine_path is not None:
                    to, asset.quarantined_at = Status.QUARANTINED, now
                elif clearance is not None and clearance.content_hash == asset.content_hash:
                    to = Status.CLEARED  # approved while held: the approval stands
                else:
                    to = Status.TEMPORARY
                move(
                    tx, asset, to, actor, now, action="released", reason=f"hold on {path} released"
                )
        log.info("hold released on %s (%d assets)", path, len(freed))
        outcomes.append(HoldOutcome(path, len(freed)))
    return outcomes
