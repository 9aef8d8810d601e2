"""``service.decisions`` called directly, on a real catalog of each backend, and as real OS
users on a shared catalog: who may hold and release comes from the kernel's uid."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from provenance.access.roles import Role
from provenance.clearance.clear import ClearRequest, Revoked
from provenance.errors import PermissionDeniedError
from provenance.retention.hold import HoldOutcome
from provenance.service import decisions
from provenance.service.context import App
from tests.osusers import accounts
from tests.retention.helpers import MakeAsset, status_of
from tests.service.conftest import caller
from tests.test_roles import Site, site

__all__ = ["accounts", "site"]

CUSTODIAN = caller(Role.CUSTODIAN)


def test_hold_and_release_a_folder(app: App, root: Path, make_asset: MakeAsset) -> None:
    poster = make_asset("finals/poster.png")
    other = make_asset("temp/other.png")
    folder = str(root / "finals")
    assert decisions.hold(app, CUSTODIAN, [folder], "matter 9", dry_run=True) == [
        HoldOutcome(folder, 1, dry_run=True)
    ]
    assert status_of(app.catalog, poster.id) == "temporary"
    assert decisions.hold(app, CUSTODIAN, [folder], "matter 9") == [HoldOutcome(folder, 1)]
    assert decisions.hold(app, CUSTODIAN, [folder], "again") == [
        HoldOutcome(folder, 0, already=True)
    ]
    assert (status_of(app.catalog, poster.id), status_of(app.catalog, other.id)) == (
        "held",
        "temporary",
    )
    assert decisions.release(app, CUSTODIAN, [folder], dry_run=True) == [
        HoldOutcome(folder, 1, dry_run=True)
    ]
    assert decisions.release(app, CUSTODIAN, [folder]) == [HoldOutcome(folder, 1)]
    assert status_of(app.catalog, poster.id) != "held"


def test_hold_and_release_need_the_custodian_role(app: App, make_asset: MakeAsset) -> None:
    poster = make_asset("poster.png")
    for who in (caller(Role.VIEWER), caller(Role.TAGGER), caller(Role.APPROVER)):
        with pytest.raises(PermissionDeniedError, match="may not hold: that needs the custodian"):
            decisions.hold(app, who, [poster.path], "r")
        with pytest.raises(PermissionDeniedError, match="may not release: that needs the custod"):
            decisions.release(app, who, [poster.path])
    assert status_of(app.catalog, poster.id) == "temporary"


def _as(site: Site, who: str, action: str) -> subprocess.CompletedProcess[str]:
    """Call ``decisions.<action>`` on the site's poster as user ``who``, the caller being the
    process's own (``App.caller``: the kernel's uid, whatever the environment says)."""
    user = site.users[who]
    config = site.accounts.shared / user.name / "provenance.toml"
    extra = ", 'matter 9'" if action == "hold" else ""
    code = (
        "import sys; from pathlib import Path\n"
        "import provenance.config.locations as locations\n"
        f"locations.SYSTEM_CONFIG = Path({str(site.system_config)!r})\n"
        "from provenance.errors import PermissionDeniedError\n"
        "from provenance.service import decisions\n"
        "from provenance.service.context import App\n"
        "app = App(Path(sys.argv[1]))\n"
        "try:\n"
        f"    done = decisions.{action}(app, app.caller, [sys.argv[2]]{extra})\n"
        "    print([(o.path, o.assets, o.already) for o in done])\n"
        "except PermissionDeniedError as exc:\n"
        "    print('refused:', exc)\n"
        "app.close()\n"
    )
    spoof = {"LOGNAME": site.users["custodian"].name, "USER": site.users["custodian"].name}
    return site.accounts.python(user, code, [str(config), str(site.poster)], spoof)


@pytest.mark.timeout(300)
def test_as_real_users_only_a_custodian_holds_and_releases(site: Site) -> None:
    for who in ("viewer", "tagger", "approver"):
        done = _as(site, who, "hold")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(
            f"refused: user {site.users[who].name!r} may not hold: that needs the custodian role"
        ), done.stdout
    held = _as(site, "custodian", "hold")
    assert held.stdout == f"[({str(site.poster)!r}, 1, False)]\n", held.stderr
    assert _as(site, "approver", "release").stdout.startswith("refused: ")
    released = _as(site, "custodian", "release")
    assert released.stdout == f"[({str(site.poster)!r}, 1, False)]\n", released.stderr


def test_clear_then_revoke(app: App, make_asset: MakeAsset) -> None:
    poster = make_asset("finals/poster.png")
    approver = caller(Role.APPROVER)
    request = ClearRequest("LEGAL-1", "", ("C-1",), "ESC-1", False)
    for who in (CUSTODIAN, caller(Role.OPERATOR)):
        with pytest.raises(PermissionDeniedError, match="may not clear: that needs the approver"):
            decisions.clear(app, who, [poster.path], request)
    (cleared,) = decisions.clear(app, approver, [poster.path], request)
    assert (cleared.path, cleared.problem) == (poster.path, None), cleared
    assert status_of(app.catalog, poster.id) == "cleared"
    with pytest.raises(PermissionDeniedError, match="may not revoke: that needs the approver"):
        decisions.revoke(app, CUSTODIAN, [poster.path], "withdrawn")
    assert decisions.revoke(app, approver, [poster.path], "withdrawn", dry_run=True) == [
        Revoked(poster.path, "LEGAL-1", None)
    ]
    assert decisions.revoke(app, approver, [poster.path], "withdrawn") == [
        Revoked(poster.path, "LEGAL-1", "temporary")
    ]
    assert status_of(app.catalog, poster.id) == "temporary"
