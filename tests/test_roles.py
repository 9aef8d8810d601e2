"""Who may do what: roles from the service's config only, for real OS users and groups.

The catalog here is shared (root owns it; the users may open it), so roles come only from
the system config (``provenance.config.locations.SYSTEM_CONFIG``, pointed at a root-owned
file in the child process). Each user also passes a ``--config`` of their own that names them
in every role: it grants nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from provenance.access.roles import REQUIRED, Role, caller_grants, expand, roles_in
from provenance.cli import cli
from tests.media import write_a1111_png
from tests.osusers import OsAccounts, OsUser, accounts

__all__ = ["accounts"]


def test_every_action_needs_a_declared_role_and_roles_include_viewer() -> None:
    assert set(REQUIRED.values()) <= set(Role)
    for role in Role:
        assert Role.VIEWER in expand([role])
    assert Role.TAGGER in expand([Role.APPROVER])
    assert Role.APPROVER not in expand([Role.OPERATOR, Role.CUSTODIAN, Role.TAGGER])


def test_roles_are_given_to_users_groups_and_everyone() -> None:
    table = {
        "roles": {
            "viewer": {"users": ["*"]},
            "custodian": {"groups": ["legal"]},
            "operator": {"users": ["ops"]},
        },
        "clearance": {"approver_groups": ["clearance"]},
    }
    assert roles_in(table, "ana", frozenset({"legal"})) == {Role.VIEWER, Role.CUSTODIAN}
    assert roles_in(table, "ops", frozenset()) == {Role.VIEWER, Role.OPERATOR}
    assert roles_in(table, "bo", frozenset({"clearance"})) == {Role.VIEWER, Role.APPROVER}


def test_single_user_mode_holds_every_role_but_approver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("provenance.config.locations.SYSTEM_CONFIG", tmp_path / "none.toml")
    grants = caller_grants(None, os.getuid())
    assert grants.mode == "single-user"
    assert grants.roles == frozenset(Role) - {Role.APPROVER}
    assert caller_grants(None, None).roles == frozenset()  # an owner nobody knows: shared


def test_a_group_or_other_writable_config_grants_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "provenance.toml"
    system.write_text('[roles.approver]\nusers = ["*"]\n')
    monkeypatch.setattr("provenance.config.locations.SYSTEM_CONFIG", system)
    assert Role.APPROVER in caller_grants(None, None).roles
    system.chmod(0o666)
    assert Role.APPROVER not in caller_grants(None, None).roles


def test_the_refusal_names_the_role_and_the_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("provenance.config.locations.SYSTEM_CONFIG", tmp_path / "none.toml")
    poster = write_a1111_png(tmp_path / "show" / "poster.png")
    runner = CliRunner()
    assert runner.invoke(cli, ["scan", str(tmp_path / "show")]).exit_code == 0
    result = runner.invoke(cli, ["clear", str(poster), "--approval", "A-1"])
    assert result.exit_code == 1
    assert (
        "may not clear: that needs the approver role (single-user mode: your own catalog; "
        "roles from no trusted config file: give it in [roles] of "
    ) in result.stderr
    assert result.stderr.endswith("(README: Who may do what))\n")
    assert result.stderr.count("\n") == 1


# --- real OS users on a shared catalog --------------------------------------------------


@dataclass
class Site:
    """A shared catalog owned by root, a production folder, and users with each role."""

    accounts: OsAccounts
    system_config: Path
    catalog_url: str
    poster: Path
    users: dict[str, OsUser]

    def run(
        self, who: str, *argv: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``provenance --config <their own config> ARGV`` as user ``who``."""
        user = self.users[who]
        code = (
            "import provenance.config.locations as locations; from pathlib import Path; "
            f"locations.SYSTEM_CONFIG = Path({str(self.system_config)!r}); "
            "from provenance.cli import main; main()"
        )
        config = self.accounts.shared / user.name / "provenance.toml"
        return self.accounts.python(user, code, ["--config", str(config), *argv], env)


def _own_config(site_dir: Path, user: OsUser, catalog_url: str, state: Path) -> None:
    """A config the user wrote: the shared catalog and its state dir, every role."""
    home = site_dir / user.name
    home.mkdir()
    every_role = "\n".join(f'[roles.{role}]\nusers = ["{user.name}"]' for role in Role)
    (home / "provenance.toml").write_text(
        f"state_dir = {json.dumps(str(state))}\n"
        f"[catalog]\nurl = {json.dumps(catalog_url)}\n"
        f'[clearance]\napprovers = ["{user.name}"]\n{every_role}\n'
    )
    for path in (home, home / "provenance.toml"):
        os.chown(path, user.uid, user.gid)


@pytest.fixture
def site(accounts: OsAccounts) -> Site:
    artists, legal, clearance = accounts.group(), accounts.group(), accounts.group()
    users = {
        "nobody": accounts.user(),
        "viewer": accounts.user(),
        "tagger": accounts.user(groups=[artists]),
        "custodian": accounts.user(groups=[legal]),
        "approver": accounts.user(groups=[clearance]),
        "operator": accounts.user(),
    }
    shared = accounts.shared
    system_config = shared / "system.toml"
    system_config.write_text(
        f'[roles.viewer]\nusers = ["{users["viewer"].name}"]\n'
        f'[roles.tagger]\ngroups = ["{artists}"]\n'
        f'[roles.custodian]\ngroups = ["{legal}"]\n'
        f'[roles.approver]\ngroups = ["{clearance}"]\n'
        f'[roles.operator]\nusers = ["{users["operator"].name}"]\n'
    )
    system_config.chmod(0o644)
    show = shared / "show"
    poster = write_a1111_png(show / "finals" / "poster.png")
    state = shared / "service"
    url = f"sqlite:///{state / 'catalog.sqlite'}"
    service_config = shared / "service.toml"
    service_config.write_text(f'state_dir = {json.dumps(str(state))}\n[catalog]\nurl = "{url}"\n')
    result = CliRunner().invoke(cli, ["--config", str(service_config), "scan", str(show)])
    assert result.exit_code == 0, result.output
    # Shared the old way (a catalog, audit key and anchors others may read and write), as no
    # deployment should be: the role checks are what is tested here.
    for path in [state, show, show / "finals", *state.iterdir()]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    for user in users.values():
        _own_config(shared, user, url, state)
    return Site(accounts, system_config, url, poster, users)


def refused(done: subprocess.CompletedProcess[str], action: str, role: str) -> bool:
    return done.returncode == 1 and f"may not {action}: that needs the {role} role" in done.stderr


@pytest.mark.timeout(900)  # some twenty commands, each a new interpreter run as another user
def test_each_role_is_allowed_its_commands_and_refused_the_others(site: Site) -> None:
    poster = str(site.poster)
    assert site.run("viewer", "list").returncode == 0
    assert refused(site.run("nobody", "list"), "list", "viewer")
    assert refused(site.run("viewer", "hold", poster, "--reason", "r"), "hold", "custodian")
    assert refused(site.run("tagger", "hold", poster, "--reason", "r"), "hold", "custodian")
    held = site.run("custodian", "hold", poster, "--reason", "matter 9")
    assert held.returncode == 0, held.stderr
    assert held.stdout == f"held {poster} (1 assets)\n"
    assert refused(site.run("approver", "release", poster), "release", "custodian")
    assert refused(site.run("tagger", "release", poster), "release", "custodian")
    assert site.run("custodian", "release", poster).returncode == 0
    assert refused(site.run("viewer", "tag", poster, "--talent", "Jane"), "tag", "tagger")
    tagged = site.run("tagger", "tag", poster, "--talent", "Jane Doe")
    assert tagged.returncode == 0, tagged.stderr
    lowering = site.run("tagger", "tag", poster, "--use", "previs")
    assert lowering.returncode == 1
    assert "they lower what its clearance needs: that needs the approver role" in lowering.stderr
    assert site.run("approver", "tag", poster, "--use", "previs").returncode == 0
    for who in ("tagger", "custodian", "operator"):
        assert refused(site.run(who, "clear", poster, "--approval", "A-1"), "clear", "approver")
    cleared = site.run("approver", "clear", poster, "--approval", "A-1", "--consent", "C-1")
    assert "may not" not in cleared.stderr
    assert refused(site.run("approver", "sweep", "--dry-run"), "sweep", "operator")
    assert site.run("operator", "sweep", "--dry-run").returncode == 0


def test_logname_does_not_make_an_ordinary_user_an_approver(site: Site) -> None:
    approver = site.users["approver"].name
    spoof = {"LOGNAME": approver, "USER": approver, "USERNAME": approver, "LNAME": approver}
    done = site.run("nobody", "clear", str(site.poster), "--approval", "A-1", env=spoof)
    assert refused(done, "clear", "approver")
    assert done.stderr.startswith(f"error: user {site.users['nobody'].name!r} may not clear")


def test_a_callers_own_config_grants_nothing_on_a_shared_catalog(site: Site) -> None:
    done = site.run("nobody", "hold", str(site.poster), "--reason", "mine")
    assert refused(done, "hold", "custodian")
    assert "shared catalog: roles only from the service's config" in done.stderr


@pytest.mark.timeout(300)
def test_a_user_on_their_own_catalog_holds_every_role_but_approver(site: Site) -> None:
    user = site.users["nobody"]
    home = site.accounts.shared / user.name
    (home / "provenance.toml").write_text(
        f"state_dir = {json.dumps(str(home / 'state'))}\n"
    )  # their own catalog in their own state dir
    folder = home / "work"  # no scan: its workers are new interpreters, which this user
    folder.mkdir()  # may not start where the test's Python lives (a pyenv under /root)
    os.chown(folder, user.uid, user.gid)
    held = site.run("nobody", "hold", str(folder), "--reason", "mine")
    assert (held.returncode, held.stdout) == (0, f"held {folder} (0 assets)\n"), held.stderr
    assert site.run("nobody", "list").returncode == 0
    done = site.run("nobody", "clear", str(folder), "--approval", "A")
    assert refused(done, "clear", "approver")
    assert "single-user mode: your own catalog" in done.stderr
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in (home / "state").iterdir()}
    assert modes["catalog.sqlite"] == "0o600" and modes["audit.key"] == "0o600"
    assert oct((home / "state").stat().st_mode & 0o777) == "0o700"
