"""``service.scan`` called directly, on a real catalog of each backend, with real files and
the real reader workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.access.roles import Role
from provenance.errors import PermissionDeniedError
from provenance.service import assets, scan
from provenance.service.context import App
from tests.media import write_a1111_png
from tests.service.conftest import caller

OPERATOR = caller(Role.OPERATOR)


def test_a_scan_catalogs_the_ai_file_and_a_second_reads_nothing(app: App, root: Path) -> None:
    poster = write_a1111_png(root / "finals" / "poster.png")
    with scan.prepare(app, [root]) as ready:
        first = scan.scan(app, OPERATOR, ready)
    assert (first.counts.indexed, first.counts.ai) == (1, 1)
    (asset,) = assets.list_assets(app, caller(Role.VIEWER), ai_only=True)
    assert asset.path == str(poster) and asset.status == "temporary"
    with scan.prepare(app, [root]) as ready:
        again = scan.scan(app, OPERATOR, ready)
    assert (again.counts.indexed, again.counts.unchanged) == (0, 1)


def test_a_scan_needs_the_operator_role_and_records_nothing_without_it(
    app: App, root: Path
) -> None:
    write_a1111_png(root / "poster.png")
    for who in (caller(Role.VIEWER), caller(Role.TAGGER), caller(Role.CUSTODIAN)):
        with (
            scan.prepare(app, [root]) as ready,
            pytest.raises(PermissionDeniedError, match="may not scan: that needs the operator"),
        ):
            scan.scan(app, who, ready)
    assert list(assets.list_assets(app, caller(Role.VIEWER))) == []
