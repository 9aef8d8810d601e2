"""``service.status`` called directly, on a real catalog of each backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.access.roles import Role
from provenance.errors import PermissionDeniedError
from provenance.service.context import App
from provenance.service.status import RootStatus, status
from tests.retention.helpers import MakeAsset
from tests.service.conftest import caller


def test_status_counts_the_assets_and_checks_each_root(
    app: App, root: Path, make_asset: MakeAsset
) -> None:
    make_asset("a.png")
    make_asset("b.png", status="flagged")
    make_asset("c.png", status="flagged")
    shown = status(app, caller(Role.VIEWER))
    assert not shown.running and shown.pid is None and shown.daemon is None
    assert shown.counts == {"temporary": 1, "flagged": 2}
    assert shown.roots == [
        RootStatus(
            path=str(root),
            mode=None,
            watching=False,
            hears=False,
            proof=None,
            proved_at=None,
            deaf_restarts=0,
            last_deaf="",
            last_deaf_at=None,
            online=True,
            reason="",
            last_scan=None,
            last_scan_files=None,
        )
    ]
    assert (shown.unreadable.files, shown.interrupted) == (0, [])
    as_json = shown.as_dict()
    assert list(as_json) == [
        "running",
        "pid",
        "state_dir",
        "catalog",
        "daemon",
        "roots",
        "counts",
        "unreadable",
        "interrupted",
    ]
    assert as_json["unreadable"] == {"files": 0, "not_retried": 0}


def test_a_root_gone_offline_says_why(app: App, root: Path) -> None:
    root.rmdir()
    (shown,) = status(app, caller(Role.VIEWER)).roots
    assert shown.online is False and shown.reason


def test_status_needs_the_viewer_role(app: App) -> None:
    with pytest.raises(PermissionDeniedError, match="may not status: that needs the viewer role"):
        status(app, caller())
