"""Fixity: re-hash every cleared final and void the clearance of any whose bytes changed.

Run weekly by the daemon (``[schedule] fixity``, one node of a fleet) or once with
`provenance fixity`. Files are hashed outside any transaction; each change is written in a
short one: ``fixity-failed`` (the hash the clearance names and the hash found) and
``clearance-voided`` (back to temporary with a deadline from its policy). One summary event
per run: ``fixity-ok`` when every file matched, else ``fixity-failed``, with the counts as
fields (``FixityReport.counts``): the command renders its own sentence from them.
Nothing under an offline root is judged, and a missing file is reported, not voided. A file
is read from its root's descriptor following no link: a link in its place, or a folder on
its way swapped for one, is reported as not checked, never read through.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from provenance.audit import Actor
from provenance.catalog import Catalog
from provenance.catalog.clearance import active_clearance, cleared_assets
from provenance.clearance.binding import void
from provenance.clearance.clear import temporary_deadline
from provenance.clearance.policy import clearance_policy
from provenance.clearance.refresh import refresh_risk
from provenance.config import Settings
from provenance.errors import ConfinementError
from provenance.files.confined import open_root
from provenance.files.roots import check_root

log = logging.getLogger(__name__)

#: Why a run's summary event was recorded; its numbers are the event's ``after`` (the keys
#: of ``FixityReport.counts``; older events carried them in a sentence here as well).
OK_REASON = "every cleared file checked is unchanged"
FAILED_REASON = "cleared files changed after clearance (their clearances voided)"


@dataclass
class FixityReport:
    """What a fixity run checked and found."""

    checked: int = 0
    ok: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    unreadable: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)

    def counts(self) -> dict[str, int]:
        """The run's numbers, as its summary event records them (``after``): files
        ``checked``, ``ok`` (unchanged), ``failed`` (changed, clearance voided) and
        ``not_checked``."""
        return {
            "checked": self.checked,
            "ok": self.ok,
            "failed": len(self.failed),
            "not_checked": len(self.unreadable),
        }


def _offline_roots(settings: Settings) -> set[str]:
    return {str(root.path) for root in settings.roots if not check_root(root).online}


def _hash_inside(root: str, path: str) -> str:
    """Return the content hash of the file at ``path``, reached from ``root`` (no link)."""
    with open_root(root) as top, top.open_file(path) as file, file.folder:
        return file.content_hash()


def run_fixity(settings: Settings, catalog: Catalog, actor: Actor, now: datetime) -> FixityReport:
    """Re-hash every present asset with a clearance in force; void the changed ones.

    First brings the stored risk columns up to date if the rules or tools changed.
    """
    refresh_risk(catalog, clearance_policy(settings))
    report = FixityReport()
    offline = _offline_roots(settings)
    with catalog.read() as tx:
        targets = [(a.id, a.path, a.root, c.id, c.content_hash) for a, c in cleared_assets(tx)]
    changed: list[tuple[int, int, str, str]] = []
    for asset_id, path, root, clearance_id, expected in targets:
        if root in offline:
            report.unreadable.append({"path": path, "reason": "root is offline"})
            continue
        try:
            found = _hash_inside(root, path)
        except ConfinementError as exc:
            report.unreadable.append({"path": path, "reason": exc.reason})
            continue
        except OSError as exc:
            report.unreadable.append({"path": path, "reason": exc.strerror or str(exc)})
            continue
        report.checked += 1
        if found == expected:
            report.ok += 1
        else:
            changed.append((asset_id or 0, clearance_id or 0, expected, found))
    for asset_id, clearance_id, expected, found in changed:
        with catalog.write() as tx:
            asset, clearance = tx.asset_by_id(asset_id), active_clearance(tx, asset_id)
            if asset is None or clearance is None or clearance.id != clearance_id:
                continue  # cleared again or revoked meanwhile
            tx.record(
                actor,
                "fixity-failed",
                now,
                asset=asset,
                reason="content differs from the cleared content",
                before={"content_hash": expected},
                after={"content_hash": found},
            )
            deadline, policy = temporary_deadline(settings, asset)
            asset.content_hash = found
            void(
                tx,
                asset,
                clearance,
                action="clearance-voided",
                reason="fixity check: content changed after clearance",
                actor=actor,
                now=now,
                deadline=deadline,
                policy=policy,
                new_hash=found,
            )
            report.failed.append({"path": asset.path, "expected": expected, "found": found})
            log.warning("fixity failed: %s changed after clearance; clearance voided", asset.path)
    with catalog.write() as tx:
        tx.record(
            actor,
            "fixity-failed" if report.failed else "fixity-ok",
            now,
            reason=FAILED_REASON if report.failed else OK_REASON,
            after=report.counts(),
        )
    log.info(
        "fixity: %d cleared files checked, %d unchanged, %d changed, %d not checked",
        report.checked,
        report.ok,
        len(report.failed),
        len(report.unreadable),
    )
    return report
