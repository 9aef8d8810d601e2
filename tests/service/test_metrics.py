"""``service.metrics.catalog_counts``: the numbers ``status`` and the daemon's metrics share,
on a real catalog of each backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.access.roles import Role
from provenance.catalog import Catalog
from provenance.catalog.models import ScanRun
from provenance.catalog.unreadable import FailedRead, record_unreadable
from provenance.errors import PermissionDeniedError
from provenance.service.context import App
from provenance.service.metrics import LastScan, catalog_counts
from provenance.service.status import status
from tests.retention.helpers import T0, MakeAsset
from tests.service.conftest import caller


def test_catalog_counts_count_each_asset_once_and_each_root_s_last_scan(
    app: App, catalog: Catalog, root: Path, make_asset: MakeAsset
) -> None:
    make_asset("a.png")
    make_asset("b.png", status="flagged")
    make_asset("c.png", status="flagged")
    make_asset("plain.png", status="not-ai", ai_class="none")
    with catalog.write() as tx:
        tx.add(ScanRun(root=str(root), started_at=T0, finished_at=T0, counts={"files": 4}))
        record_unreadable(tx, [FailedRead(str(root / "bad.png"), str(root), "too slow")], T0)
    counted = catalog_counts(app, caller(Role.VIEWER), [str(root), "/never/scanned"])
    assert counted.by_status == {"temporary": 1, "flagged": 2, "not-ai": 1}
    assert counted.ai_assets == {(str(root), "temporary"): 1, (str(root), "flagged"): 2}
    assert counted.last_scans == {str(root): LastScan(T0, 4, 0)}
    assert (counted.unreadable, counted.not_retried) == (1, 0)
    # status reads the same numbers
    shown = status(app, caller(Role.VIEWER))
    assert shown.counts == counted.by_status
    assert shown.roots[0].last_scan == T0 and shown.roots[0].last_scan_files == 4
    assert shown.unreadable.files == 1


def test_a_node_s_metrics_count_the_ai_assets_under_its_own_roots_only(
    app: App, catalog: Catalog, root: Path, make_asset: MakeAsset
) -> None:
    # a fleet's nodes share one catalog: summed over them, each root is counted once, and
    # no node counts the whole catalog every 30 s
    make_asset("a.png")
    make_asset("b.png", status="flagged")
    elsewhere = make_asset("elsewhere.png")
    with catalog.write() as tx:  # recorded by another node, under its root
        moved = tx.asset_by_path(elsewhere.path)
        assert moved is not None
        moved.root = "/mnt/other node"
    counted = catalog_counts(app, caller(Role.VIEWER), [str(root)], totals=False)
    assert counted.ai_assets == {(str(root), "temporary"): 1, (str(root), "flagged"): 1}
    assert (counted.by_status, counted.unreadable) == ({}, 0)
    every = catalog_counts(app, caller(Role.VIEWER), [str(root)])
    assert every.ai_assets[("/mnt/other node", "temporary")] == 1


def test_catalog_counts_need_the_viewer_role(app: App) -> None:
    with pytest.raises(PermissionDeniedError, match="needs the viewer role"):
        catalog_counts(app, caller(), [])
