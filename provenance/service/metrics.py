"""``metrics``: the catalog's counts that ``provenance status``, the daemon's metrics file and
the web service's ``/metrics`` show, read in one place (one read transaction)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from provenance.catalog.reports import status_counts
from provenance.catalog.unreadable import count_unreadable
from provenance.service.context import App, Caller


@dataclass(frozen=True)
class LastScan:
    """A root's last scan: when it finished (None while it runs) and what it counted."""

    finished_at: datetime | None
    #: Files it walked, when it counted them.
    files: int | None
    #: Files it found beside a sidecar of ours written for other content.
    stale_sidecars: int


@dataclass(frozen=True)
class CatalogCounts:
    """The catalog's numbers at one moment."""

    #: Every asset by status (AI or not).
    by_status: dict[str, int]
    #: AI assets by (root, status).
    ai_assets: dict[tuple[str, str], int]
    #: The roots asked for that were ever scanned, by path.
    last_scans: dict[str, LastScan]
    #: Files that could not be read, and those of them not read again until they change.
    unreadable: int
    not_retried: int


def catalog_counts(
    app: App, caller: Caller, roots: Iterable[str], *, totals: bool = True
) -> CatalogCounts:
    """Return the catalog's counts: assets by status, AI assets by root and status, the last
    scan of each of ``roots`` and the files that could not be read.

    ``totals`` False: leave out every asset by status and the unreadable files (empty and 0),
    which ``status`` shows and the daemon's metrics file does not: counting every asset of a
    large catalog every 30 s for nothing is what it saves. The AI assets are then counted
    under ``roots`` alone (a node's metrics are its own roots': summed over a fleet's nodes,
    each root is counted once, and no node counts the whole catalog every 30 s).
    """
    caller.require("status")
    roots = list(roots)
    with app.catalog.read() as tx:
        last_scans = {}
        for path in roots:
            last = tx.last_scan(path)
            if last is not None:
                counts = last.counts or {}
                last_scans[path] = LastScan(
                    last.finished_at, counts.get("files"), counts.get("stale_sidecars", 0)
                )
        if totals:
            ai_assets = status_counts(tx)
        else:
            ai_assets = {}
            for path in roots:
                ai_assets.update(status_counts(tx, path))
        by_status, unreadable, not_retried = {}, 0, 0
        if totals:
            by_status = tx.count_by_status()
            retries = app.settings.scan.retry_unreadable
            unreadable, not_retried = count_unreadable(tx, retries=retries)
    return CatalogCounts(by_status, ai_assets, last_scans, unreadable, not_retried)


__all__ = ["CatalogCounts", "LastScan", "catalog_counts"]
