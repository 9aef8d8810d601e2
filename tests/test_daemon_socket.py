"""Other local users use the daemon's private catalog through its socket, as themselves.

A real daemon runs as a service account (umask 0077: its catalog is 0600, its state folder
0700); real users run the command line; who they are comes from the socket's peer
credentials, whatever their environment or their request says.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from provenance.access.identity import Actor
from provenance.catalog import Catalog, utcnow
from provenance.config import Settings
from provenance.daemon.api import MAX_CONNECTIONS, ApiServer, peer_of
from provenance.errors import ConfinementError
from provenance.ingest.scan import scan
from tests.conftest import postgres_url
from tests.media import write_a1111_png
from tests.needs import unavailable
from tests.osusers import OsAccounts, OsUser, accounts
from tests.processes import start_as_service, stop_service
from tests.test_service import _enterable
from tests.watch.conftest import wait_for

__all__ = ["accounts"]

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Site:
    """A daemon serving its catalog, the accounts around it and the config they share."""

    accounts: OsAccounts
    service: OsUser
    viewer: OsUser
    custodian: OsUser
    approver: OsUser
    outsider: OsUser
    operator: OsUser
    config: Path
    state: Path
    socket: Path
    root: Path
    catalog_url: str
    log: Path

    def run(
        self, user: OsUser, *argv: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.accounts.run(user, ["--config", str(self.config), *argv], env)

    def events(self, action: str) -> list[dict[str, object]]:
        catalog = Catalog.open(self.catalog_url)
        try:
            with catalog.read() as tx:
                return [
                    {"user": e.user, "reason": e.reason, "after": e.after, "path": e.path}
                    for e in tx.all_events()
                    if e.action == action
                ]
        finally:
            catalog.close()


@contextlib.contextmanager
def _postgres_schema() -> Iterator[str]:
    url = postgres_url()
    if url is None:
        unavailable("PostgreSQL leg not selected: set PROVENANCE_TEST_POSTGRES_URL")
    assert url is not None
    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest, accounts: OsAccounts) -> Iterator[Site]:
    service = accounts.user(system=True)
    viewers, approvers = accounts.group(), accounts.group()
    viewer = accounts.user(groups=[viewers])
    custodian = accounts.user(groups=[viewers])
    approver = accounts.user(groups=[viewers, approvers])
    outsider = accounts.user()
    operator = accounts.user()
    with contextlib.ExitStack() as stack:
        base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="provenance-sock-")))
        base.chmod(0o755)
        state = base / "state"
        state.mkdir(mode=0o700)
        os.chown(state, service.uid, service.gid)
        root = base / "show_a"
        root.mkdir()
        write_a1111_png(root / "shot.png")
        for path in [root, *root.iterdir()]:
            os.chown(path, service.uid, service.gid)
            path.chmod(0o755 if path.is_dir() else 0o644)
        if request.param == "postgresql":
            catalog_url = stack.enter_context(_postgres_schema())
        else:
            catalog_url = f"sqlite:///{state / 'catalog.sqlite'}"
        # what systemd makes of RuntimeDirectory=provenance: the account's 0755 folder
        sock = base / "run" / "api.sock"
        sock.parent.mkdir(mode=0o755)
        os.chown(sock.parent, service.uid, service.gid)
        config = base / "provenance.toml"
        config.write_text(
            f'state_dir = "{state}"\n'
            f"[catalog]\nurl = {json.dumps(catalog_url if request.param != 'sqlite' else '')}\n"
            f'[[roots]]\npath = "{root}"\n'
            f'[daemon]\nsocket = "{sock}"\nsocket_timeout = 2.0\n'
            f'[roles]\nviewer = {{ groups = ["{viewers}"] }}\n'
            f'custodian = {{ users = ["{custodian.name}"] }}\n'
            f'approver = {{ groups = ["{approvers}"] }}\n'
            f'operator = {{ users = ["{operator.name}"] }}\n'
        )
        # the service's own config: its account's (or root's), written by nobody else
        os.chown(config, service.uid, service.gid)
        config.chmod(0o644)
        program = [Path(sys.executable), Path(sys.executable).resolve(), Path(sys.prefix)]
        stack.enter_context(_enterable([*program, REPO]))
        log = base / "daemon.log"
        process = start_as_service(
            [sys.executable, "-m", "provenance", "--config", str(config), "daemon"],
            env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PYTHONPATH": str(REPO)},
            uid=service.uid,
            gid=service.gid,
            log=log,
        )
        stack.callback(stop_service, process)
        wait_for(
            lambda: "reconciliation scan done" in log.read_text() or process.poll() is not None,
            180,  # an upper bound: a loaded machine starts the interpreters slowly
            "the start-up scan",
        )
        assert process.poll() is None, log.read_text()
        assert sock.exists(), log.read_text()
        yield Site(
            accounts,
            service,
            viewer,
            custodian,
            approver,
            outsider,
            operator,
            config,
            state,
            sock,
            root,
            catalog_url,
            log,
        )
        stop_service(process)
        assert "Traceback" not in log.read_text(), log.read_text()
        assert not sock.exists()


def _via(site: Site) -> tuple[str, ...]:
    """A SQLite catalog the user cannot open sends them to the daemon by itself; a server
    catalog is asked through the daemon with --via-daemon."""
    return () if site.catalog_url.startswith("sqlite") else ("--via-daemon",)


def test_the_catalog_is_private_and_the_socket_open_to_all(site: Site) -> None:
    if site.catalog_url.startswith("sqlite"):
        catalog = site.state / "catalog.sqlite"
        assert stat.S_IMODE(catalog.stat().st_mode) == 0o600
        assert catalog.stat().st_uid == site.service.uid
    assert stat.S_IMODE(site.socket.lstat().st_mode) == 0o666
    assert stat.S_IMODE(site.socket.parent.stat().st_mode) == 0o755
    assert site.socket.lstat().st_uid == site.service.uid


def test_a_second_user_asks_the_daemon_for_status(site: Site) -> None:
    done = site.run(site.viewer, *_via(site), "status")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("daemon: running"), done.stdout
    assert str(site.root) in done.stdout
    shared = f"catalog: via the daemon's socket {site.socket} (shared; your roles from its config)"
    assert shared in done.stdout.splitlines(), done.stdout
    as_json = site.run(site.viewer, *_via(site), "status", "--json")
    assert as_json.returncode == 0, as_json.stderr
    status = json.loads(as_json.stdout)
    assert status["running"] and status["counts"]["temporary"] == 1
    assert (status["mode"], status["socket"]) == ("shared", str(site.socket))
    # the service's account opens the catalog itself, and is told so
    own = json.loads(site.run(site.service, "status", "--json").stdout)
    assert (own["mode"], own["socket"]) == ("own", None)
    assert f"catalog: {own['catalog']} (your own)" in site.run(site.service, "status").stdout


def test_without_the_viewer_role_one_error_line_and_an_audit_event_of_the_real_user(
    site: Site,
) -> None:
    spoof = {"LOGNAME": site.approver.name, "USER": site.approver.name}
    done = site.run(site.outsider, *_via(site), "status", env=spoof)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert f"user {site.outsider.name!r} may not status" in done.stderr
    assert "viewer role" in done.stderr and "Traceback" not in done.stderr
    refused = site.events("refused")
    assert [e["user"] for e in refused] == [site.outsider.name]
    assert refused[0]["after"]["uid"] == site.outsider.uid  # type: ignore[index]


def test_a_forged_actor_in_the_request_is_ignored(site: Site) -> None:
    # the outsider writes the request by hand, naming the approver and a viewer's uid
    code = f"""
import json, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect({str(site.socket)!r})
s.sendall(json.dumps({{"v": 1, "id": 1, "verb": "status", "args": {{}},
    "actor": {site.approver.name!r}, "user": {site.approver.name!r},
    "uid": {site.viewer.uid}}}).encode() + b"\\n")
print(s.makefile().readline())
"""
    done = site.accounts.python(site.outsider, code)
    answer = json.loads(done.stdout)
    assert answer["id"] == 1 and f"user {site.outsider.name!r} may not" in answer["error"]
    assert [e["user"] for e in site.events("refused")] == [site.outsider.name]
    # an argument naming the caller is no argument of the action: refused as such
    code = code.replace('"args": {}', f'"args": {{"caller": {site.approver.name!r}}}')
    answer = json.loads(site.accounts.python(site.viewer, code).stdout)
    assert "unknown argument 'caller'" in answer["error"]


def test_an_oversize_request_and_a_slow_client_are_cut_off(site: Site) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as big:
        big.connect(str(site.socket))
        big.settimeout(10)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            big.sendall(b"{" + b" " * (200 * 1024))
        answer = json.loads(big.makefile().readline())
        assert "request over 65536 bytes" in answer["error"]
    started = time.monotonic()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as slow:
        slow.connect(str(site.socket))
        slow.settimeout(10)
        slow.sendall(b'{"v": 1, "id": 1, ')  # and nothing more
        answer = json.loads(slow.makefile().readline())
        assert "no request within 2s" in answer["error"]
        assert slow.recv(1) == b""  # closed
    assert 1.5 < time.monotonic() - started < 8
    # the daemon still serves
    done = site.run(site.viewer, *_via(site), "status")
    assert done.returncode == 0, done.stderr


def test_neither_catalog_nor_socket_is_one_error_line(site: Site) -> None:
    other = site.config.with_name("elsewhere.toml")
    other.write_text(site.config.read_text().replace(str(site.socket), str(site.socket) + ".none"))
    other.chmod(0o644)
    done = site.accounts.run(site.viewer, ["--config", str(other), *_via(site), "status"])
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("error: ")
    assert "no daemon" in done.stderr


def test_a_second_user_reads_the_catalog_as_the_service_account_would(site: Site) -> None:
    shot = str(site.root / "shot.png")
    for argv in [
        ("list",),
        ("list", "--json"),
        ("list", "--ai", "--under", str(site.root)),
        ("show", shot),
        ("show", shot, "--json"),
        ("uncleared", "--files"),
        ("log", shot),
    ]:
        remote = site.run(site.viewer, *_via(site), *argv)
        local = site.run(site.service, *argv)  # the service's account opens the catalog itself
        assert remote.returncode == local.returncode == 0, (argv, remote.stderr, local.stderr)
        assert remote.stdout == local.stdout, argv
        assert shot in remote.stdout, argv
    missing = site.run(site.viewer, *_via(site), "show", str(site.root / "nope.png"))
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1, missing.stderr
    assert "not in the catalog" in missing.stderr


#: The moment a report was made (each run's own): the rest is the same byte for byte.
_generated = re.compile(r'(?:(?<=Generated )|(?<="generated_at": "))[0-9T:.+-]+Z')


def test_a_second_user_gets_the_report_the_service_account_would(site: Site) -> None:
    for argv in [
        ("report", "--format", "md", "--as-of", "2026-01-05"),
        ("report", "--format", "json", "--as-of", "2026-01-05", "--days", "30"),
    ]:
        remote = site.run(site.viewer, *_via(site), *argv)
        local = site.run(site.service, *argv)
        assert remote.returncode == local.returncode == 0, (argv, remote.stderr, local.stderr)
        assert _generated.sub("", remote.stdout) == _generated.sub("", local.stdout), argv
        assert _generated.search(remote.stdout), remote.stdout
    json.loads(remote.stdout)
    # --out is written by the viewer's own process, as the viewer
    out = Path(tempfile.mkdtemp(prefix="provenance-report-"))
    try:
        os.chown(out, site.viewer.uid, site.viewer.gid)
        written = site.run(site.viewer, *_via(site), "report", "--out", str(out / "r.csv"))
        assert written.returncode == 0, written.stderr
        assert (out / "r.csv").stat().st_uid == site.viewer.uid
        refused = site.run(site.outsider, *_via(site), "report")
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
        assert f"user {site.outsider.name!r} may not report" in refused.stderr
    finally:
        for child in out.iterdir():
            child.unlink()
        out.rmdir()


def test_holds_and_clearances_need_their_roles_and_name_the_real_user(site: Site) -> None:
    shot = str(site.root / "shot.png")
    spoof = {"LOGNAME": site.approver.name, "USER": site.approver.name}
    for user, argv, role in [
        (site.viewer, ("hold", shot, "--reason", "LEG-1"), "custodian"),
        (site.viewer, ("clear", shot, "--approval", "APP-1"), "approver"),
        (site.custodian, ("clear", shot, "--approval", "APP-1"), "approver"),
    ]:
        done = site.run(user, *_via(site), *argv, env=spoof)
        assert done.returncode == 1, done.stdout
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
        assert f"user {user.name!r} may not {argv[0]}" in done.stderr
        assert f"needs the {role} role" in done.stderr
    refused = site.events("refused")
    assert [(e["user"], e["after"]["verb"]) for e in refused] == [  # type: ignore[index]
        (site.viewer.name, "hold"),
        (site.viewer.name, "clear"),
        (site.custodian.name, "clear"),
    ]
    assert [e["after"]["uid"] for e in refused] == [  # type: ignore[index]
        site.viewer.uid,
        site.viewer.uid,
        site.custodian.uid,
    ]
    held = site.run(site.custodian, *_via(site), "hold", shot, "--reason", "LEG-1", env=spoof)
    assert held.returncode == 0, held.stderr
    assert held.stdout == f"held {shot} (1 assets)\n"
    released = site.run(site.custodian, *_via(site), "release", shot, env=spoof)
    assert released.returncode == 0, released.stderr
    cleared = site.run(
        site.approver, *_via(site), "clear", shot, "--approval", "APP-1", "--escalation", "ESC-1"
    )
    assert cleared.returncode == 0, cleared.stderr
    assert "cleared" in cleared.stdout
    tag = ("tag", shot, "--tool", "Midjourney v6", "--dry-run")
    tagged = site.run(site.approver, *_via(site), *tag)
    assert tagged.returncode == 0, tagged.stderr
    assert tagged.stdout == site.run(site.service, *tag).stdout and shot in tagged.stdout
    users = {str(e["user"]) for a in ("hold placed", "hold released") for e in site.events(a)}
    assert users == {site.custodian.name}
    assert [e["user"] for e in site.events("cleared")] == [site.approver.name]
    # the refusals are events of the chain like any other: it still verifies
    verified = site.run(site.viewer, *_via(site), "audit", "verify")
    assert verified.returncode == 0, verified.stderr


def test_an_operator_sweeps_scans_and_checks_fixity_through_the_daemon(site: Site) -> None:
    shot = str(site.root / "shot.png")
    for argv in [
        ("sweep", "--dry-run"),
        ("sweep", "--force"),
        ("scan", str(site.root)),
        ("fixity",),
    ]:
        done = site.run(site.viewer, *_via(site), *argv)
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith(f"error: user {site.viewer.name!r} may not {argv[0]}: ")
        assert "needs the operator role" in done.stderr
    # the second refusal of sweep within the minute is counted, not recorded on its own
    refused = [(e["user"], e["after"]["verb"]) for e in site.events("refused")]  # type: ignore[index]
    assert refused == [(site.viewer.name, v) for v in ("sweep", "scan", "fixity")]
    # what the service's account would see, line for line, as the operator's own command
    forecast = ("sweep", "--dry-run", "--as-of", "2099-12-31")
    remote = site.run(site.operator, *_via(site), *forecast)
    local = site.run(site.service, *forecast)
    assert remote.returncode == local.returncode == 0, (remote.stderr, local.stderr)
    assert remote.stdout == local.stdout and "dry run: would flag on " in remote.stdout
    assert shot in remote.stdout and remote.stdout.endswith("\n"), remote.stdout
    swept = site.run(site.operator, *_via(site), "sweep")
    assert (swept.returncode, swept.stdout) == (0, "sweep: nothing due\n"), swept.stderr
    as_json = json.loads(site.run(site.operator, *_via(site), "sweep", "--json").stdout)
    assert as_json["dry_run"] is False and as_json["busy_roots"] == {}
    scanned = site.run(site.operator, *_via(site), "scan", str(site.root))
    assert scanned.returncode == 0, scanned.stderr
    assert scanned.stdout.startswith(f"{site.root}: 1 files\n0 new, 0 modified"), scanned.stdout
    outside = site.run(site.operator, *_via(site), "scan", str(site.accounts.shared))
    assert outside.returncode == 1 and outside.stderr.count("\n") == 1, outside.stderr
    assert f"error: {site.accounts.shared}: outside every root the daemon scans" in outside.stderr
    fixity = site.run(site.operator, *_via(site), "fixity")
    assert fixity.returncode == 0, fixity.stderr
    assert fixity.stdout.startswith("fixity: 0 cleared files checked"), fixity.stdout
    # the sweep, the scan and the fixity run were the service's work, for the operator
    assert "scan for " + site.operator.name in site.log.read_text()


def test_a_hold_names_the_path_the_caller_sees_and_the_daemon_checks_it_again(
    site: Site,
) -> None:
    shot = site.root / "shot.png"
    # relative to the custodian's working folder, with a way up and back: as the catalog keys it
    relative = os.path.relpath(shot.parent, site.accounts.shared) + "/./../show_a/shot.png"
    held = site.run(site.custodian, *_via(site), "hold", relative, "--reason", "LEG-2")
    assert (held.returncode, held.stdout) == (0, f"held {shot} (1 assets)\n"), held.stderr
    for argv, error in [
        (("hold", str(site.root / "shott.png")), f"no such path: {site.root / 'shott.png'}"),
        (
            ("hold", str(site.accounts.shared)),
            f"{site.accounts.shared}: outside every root ({site.root}): nothing there is swept",
        ),
    ]:
        done = site.run(site.custodian, *_via(site), *argv, "--reason", "LEG-3")
        assert (done.returncode, done.stdout) == (1, ""), done.stderr
        assert done.stderr == f"error: {error}\n"
    assert [e["path"] for e in site.events("hold placed")] == [str(shot)]


def test_a_path_the_caller_does_not_see_is_held_only_if_the_catalog_knows_it(
    tmp_path: Path, catalog: Catalog
) -> None:
    root = tmp_path / "show"
    root.mkdir()
    write_a1111_png(root / "a.png")
    sock = tmp_path / "run" / "api.sock"
    settings = Settings(
        state_dir=tmp_path / "state", roots=[{"path": root}], daemon={"socket": str(sock)}
    )
    scan(settings, catalog, Actor.current(), utcnow())
    (root / "new.png").write_bytes(b"not scanned yet")
    server = ApiServer(settings, catalog, utcnow)
    server.start()
    try:
        # the daemon sees new.png, but the caller said they do not: not held on the
        # daemon's word; a.png the catalog knows is held whatever the caller sees
        seen_here_only = {"paths": [str(root / "new.png")], "reason": "r", "dry_run": True}
        (refused,) = _exchange(
            sock,
            {
                "v": 1,
                "id": 1,
                "verb": "hold",
                "args": {**seen_here_only, "unseen": [str(root / "new.png")]},
            },
        )
        known = {"paths": [str(root / "a.png")], "reason": "r", "dry_run": True}
        (held,) = _exchange(
            sock,
            {"v": 1, "id": 2, "verb": "hold", "args": {**known, "unseen": [str(root / "a.png")]}},
        )
    finally:
        server.stop()
    assert refused["error"] == (
        f"no such path: {root / 'new.png'} (the daemon's account sees it, you do not)"
    )
    assert held["result"] == [
        {"path": str(root / "a.png"), "assets": 1, "dry_run": True, "already": False}
    ]


def test_a_forged_actor_in_a_hold_is_ignored(site: Site) -> None:
    code = f"""
import json, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect({str(site.socket)!r})
s.sendall(json.dumps({{"v": 1, "id": 2, "verb": "hold",
    "args": {{"paths": [{str(site.root)!r}], "reason": "forged"}},
    "actor": {site.custodian.name!r}, "user": {site.custodian.name!r}}}).encode() + b"\\n")
print(s.makefile().readline())
"""
    done = site.accounts.python(site.viewer, code)
    answer = json.loads(done.stdout)
    assert f"user {site.viewer.name!r} may not hold" in answer["error"]
    assert site.events("hold placed") == []
    assert [e["user"] for e in site.events("refused")] == [site.viewer.name]


@contextlib.contextmanager
def _planted(accounts: OsAccounts, user: OsUser, folder: Path) -> Iterator[tuple[Path, Any]]:
    """A listening socket ``user`` plants at ``folder/api.sock``; yields its path and a
    function that returns what its first connection sent: b'' when a client connected and
    sent nothing, b'poke' when no client connected (the test's own poke came first)."""
    sock, ready = folder / "api.sock", folder / "ready"
    code = f"""
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind({str(sock)!r})
os.chmod({str(sock)!r}, 0o666)
s.listen(1)
open({str(ready)!r}, "w").close()
s.settimeout(40)
c, _ = s.accept()
c.settimeout(10)
got = b""
while chunk := c.recv(65536):
    got += chunk
print(repr(got))
"""
    served: list[subprocess.CompletedProcess[str]] = []
    server = threading.Thread(target=lambda: served.append(accounts.python(user, code)))
    server.start()
    try:
        wait_for(ready.exists, 30, "the planted socket")

        def received(at: Path = sock) -> str:
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as poke:
                poke.connect(str(at))
                poke.sendall(b"poke")
            server.join(60)
            return served[0].stdout if served else "(no answer)"

        yield sock, received
    finally:
        server.join(60)


def _client_config(folder: Path, sock: Path, user: str = "") -> Path:
    config = folder / "provenance.toml"
    config.write_text(f'[daemon]\nsocket = "{sock}"\nuser = "{user}"\n')
    config.chmod(0o644)  # root's, as /etc/provenance/provenance.toml is
    return config


def test_a_socket_planted_by_a_user_who_owns_its_folder_is_refused_before_the_request(
    accounts: OsAccounts,
) -> None:
    # the user who can write the run folder plants a socket there and serves it: the socket
    # file and the listening process are both theirs (what the socket-owner check accepted)
    planter, service, user = accounts.user(), accounts.user(system=True), accounts.user()
    base = Path(tempfile.mkdtemp(prefix="provenance-planted-"))
    try:
        base.chmod(0o755)
        run = base / "run"
        run.mkdir(mode=0o755)
        os.chown(run, planter.uid, planter.gid)
        with _planted(accounts, planter, run) as (sock, received):
            config = _client_config(base, sock, service.name)
            done = accounts.run(user, ["--config", str(config), "--via-daemon", "status"])
            assert received() == "b'poke'\n"  # never even connected to
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr == (
            f"error: the daemon's socket {sock} is in {run}, which belongs to user "
            f"{planter.name!r} (uid {planter.uid}), not root or the service's account: not "
            "the daemon's; nothing sent\n"
        )
    finally:
        shutil.rmtree(base)


def test_a_socket_planted_in_a_folder_others_may_write_is_refused_before_the_request(
    accounts: OsAccounts,
) -> None:
    planter, service, user = accounts.user(), accounts.user(system=True), accounts.user()
    base = Path(tempfile.mkdtemp(prefix="provenance-planted-"))
    try:
        base.chmod(0o755)
        run = base / "run"
        run.mkdir()
        os.chown(run, service.uid, service.gid)
        run.chmod(0o1777)  # the service's folder, but anyone may add a name (sticky or not)
        with _planted(accounts, planter, run) as (sock, received):
            config = _client_config(base, sock, service.name)
            done = accounts.run(user, ["--config", str(config), "--via-daemon", "status"])
            assert received() == "b'poke'\n"
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith(f"error: the daemon's socket {sock} is in {run}, which ")
        assert "others may write to (mode 1777)" in done.stderr and "nothing sent" in done.stderr
    finally:
        shutil.rmtree(base)


def test_a_socket_served_by_a_process_not_the_services_is_refused_before_the_request(
    accounts: OsAccounts,
) -> None:
    # every folder is root's and the socket too (root moved it there): only the peer
    # credentials tell that another user's process listens
    planter, service, user = accounts.user(), accounts.user(system=True), accounts.user()
    base = Path(tempfile.mkdtemp(prefix="provenance-planted-"))
    try:
        base.chmod(0o755)
        theirs, run = base / "theirs", base / "run"
        theirs.mkdir(mode=0o755)
        run.mkdir(mode=0o755)
        os.chown(theirs, planter.uid, planter.gid)
        with _planted(accounts, planter, theirs) as (planted, received):
            sock = run / "api.sock"
            os.rename(planted, sock)
            os.lchown(sock, 0, 0)
            config = _client_config(base, sock, service.name)
            done = accounts.run(user, ["--config", str(config), "--via-daemon", "status"])
            assert received(sock) == "b''\n"
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr == (
            f"error: the socket {sock} is served by user {planter.name!r} (uid "
            f"{planter.uid}), not by uid 0 or user {service.name!r} (uid {service.uid}): "
            "not the daemon; nothing sent\n"
        ).replace("uid 0 or", "user 'root' (uid 0) or")
    finally:
        shutil.rmtree(base)


# --- the socket's name: nothing planted there is followed -------------------------------------


@contextlib.contextmanager
def _server(tmp_path: Path, sock: Path, timeout: float = 10.0) -> Iterator[ApiServer]:
    settings = Settings(
        state_dir=tmp_path / "state", daemon={"socket": str(sock), "socket_timeout": timeout}
    )
    catalog = Catalog.open(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    server = ApiServer(settings, catalog, utcnow)
    try:
        yield server
    finally:
        server.stop()
        catalog.close()


def test_a_link_planted_at_the_socket_name_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep")
    run = tmp_path / "run"
    run.mkdir()
    (run / "api.sock").symlink_to(target)
    refusal = "something other than this daemon's socket"
    with (
        _server(tmp_path, run / "api.sock") as server,
        pytest.raises(ConfinementError, match=refusal),
    ):
        server.start()
    assert (run / "api.sock").is_symlink() and target.read_text() == "keep"
    assert stat.S_ISREG(target.lstat().st_mode)


def test_a_link_of_another_user_on_the_way_to_the_socket_is_not_followed(
    tmp_path: Path, accounts: OsAccounts
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = accounts.user()
    (tmp_path / "run").symlink_to(elsewhere)
    os.lchown(tmp_path / "run", other.uid, other.gid)
    sock = tmp_path / "run" / "api.sock"
    with _server(tmp_path, sock) as server, pytest.raises(ConfinementError, match="symbolic link"):
        server.start()
    assert list(elsewhere.iterdir()) == []


def test_a_socket_left_by_a_dead_daemon_is_replaced_and_removed_at_stop(tmp_path: Path) -> None:
    sock = tmp_path / "run" / "api.sock"
    sock.parent.mkdir()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(sock))  # closed without its name removed, as by a killed daemon
    with _server(tmp_path, sock) as server:
        server.start()
        assert stat.S_ISSOCK(sock.lstat().st_mode)
        assert stat.S_IMODE(sock.lstat().st_mode) == 0o666
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(sock))
            client.sendall(b'{"v": 1, "id": "a", "verb": "nothing"}\n')
            answer = json.loads(client.makefile().readline())
        assert answer["id"] == "a" and "does not serve 'nothing'" in answer["error"]
        server.stop()
        assert not sock.exists()


def test_peer_credentials_name_the_connecting_process(tmp_path: Path) -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        peer = peer_of(left)
    assert (peer.pid, peer.uid, peer.gid) == (os.getpid(), os.getuid(), os.getgid())


def test_connections_past_the_cap_are_told_the_daemon_is_busy(tmp_path: Path) -> None:
    sock = tmp_path / "run" / "api.sock"
    with _server(tmp_path, sock, timeout=3.0) as serving:
        serving.start()
        with contextlib.ExitStack() as stack:
            idle = []
            for _ in range(MAX_CONNECTIONS):
                client = stack.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
                client.connect(str(sock))
                idle.append(client)
            wait_for(lambda: serving.connections == MAX_CONNECTIONS, 5, "every slot taken")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as one_more:
                one_more.connect(str(sock))
                one_more.settimeout(5)
                answer = json.loads(one_more.makefile().readline())
            assert "busy" in answer["error"]
        # the idle ones are cut off in time, and their slots come back
        wait_for(lambda: serving.connections == 0, 10, "the idle ones cut off")


SCHEMA = REPO / "schema" / "daemon-socket.schema.json"


def _exchange(sock: Path, request: dict[str, object]) -> list[dict[str, object]]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(sock))
        client.settimeout(10)
        client.sendall(json.dumps(request).encode() + b"\n")
        return [json.loads(line) for line in client.makefile()]


def test_every_line_follows_the_schema(tmp_path: Path, catalog: Catalog) -> None:
    schema = json.loads(SCHEMA.read_text())
    root = tmp_path / "show"
    root.mkdir()
    write_a1111_png(root / "a.png")
    sock = tmp_path / "run" / "api.sock"
    settings = Settings(
        state_dir=tmp_path / "state", roots=[{"path": root}], daemon={"socket": str(sock)}
    )
    scan(settings, catalog, Actor.current(), utcnow())
    server = ApiServer(settings, catalog, utcnow)
    server.start()
    try:
        requests: list[dict[str, object]] = [
            {"v": 1, "id": 1, "verb": "status", "args": {}},
            {"v": 1, "id": "two", "verb": "list", "args": {"ai_only": True}},
            {"v": 1, "id": 3, "verb": "show", "args": {"target": str(root / "b.png")}},
            {"v": 1, "id": 4, "verb": "list", "args": {"limit": "many"}},
            {"v": 2, "id": 5, "verb": "status"},
        ]
        answers = [_exchange(sock, request) for request in requests]
    finally:
        server.stop()
    for request in requests[:-1]:  # the last is of another version
        jsonschema.validate(request, schema)
    for request, lines in zip(requests, answers, strict=True):
        for line in lines:
            jsonschema.validate(line, schema)
            assert line["id"] == request["id"]
    assert "result" in answers[0][0]
    assert [line.get("end") for line in answers[1]] == [None, 1]
    assert answers[1][0]["item"]["path"] == str(root / "a.png")  # type: ignore[index]
    assert "not in the catalog" in str(answers[2][0]["error"])
    assert "argument 'limit'" in str(answers[3][0]["error"])
    assert "version 1 only" in str(answers[4][0]["error"])


# --- long actions: sweep, scan, fixity run as jobs ---------------------------------------------


@dataclass
class _HeldJobs:
    """A consumer kept busy: the jobs queued wait until the test lets them run."""

    queued: list[tuple[str, Any]]
    held: bool = True

    def __call__(self, name: str, body: Any) -> None:
        if self.held:
            self.queued.append((name, body))
        else:
            threading.Thread(target=body).start()

    def run_all(self) -> None:
        """Run the jobs queued, and from now on each as it comes."""
        while self.queued:
            _name, body = self.queued.pop(0)
            body()
        self.held = False


def _send(sock: Path, request: dict[str, object]) -> tuple[socket.socket, Any]:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(str(sock))
    client.settimeout(20)
    client.sendall(json.dumps(request).encode() + b"\n")
    return client, client.makefile()


def test_a_long_action_waits_for_its_job_with_progress_while_others_are_served(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance.service import remote

    monkeypatch.setattr(remote, "HEARTBEAT", 0.3)
    schema = json.loads(SCHEMA.read_text())
    root = tmp_path / "show"
    root.mkdir()
    write_a1111_png(root / "a.png")
    sock = tmp_path / "run" / "api.sock"
    settings = Settings(
        state_dir=tmp_path / "state", roots=[{"path": root}], daemon={"socket": str(sock)}
    )
    scan(settings, catalog, Actor.current(), utcnow())
    jobs = _HeldJobs([])
    server = ApiServer(settings, catalog, utcnow, jobs)
    server.start()
    requests: list[dict[str, Any]] = [
        {
            "v": 1,
            "id": 1,
            "verb": "sweep",
            "args": {"dry_run": True, "as_of": "2099-12-31T23:59:59+00:00"},
        },
        {"v": 1, "id": 2, "verb": "scan", "args": {"folders": [str(root)], "dry_run": True}},
        {"v": 1, "id": 3, "verb": "fixity", "args": {}},
    ]
    try:
        pending = [_send(sock, request) for request in requests]
        wait_for(lambda: len(jobs.queued) == 3, 10, "three jobs queued")
        # the consumer is busy: each client hears progress (queued), and another is served
        firsts = [json.loads(reader.readline()) for _client, reader in pending]
        assert [line["progress"]["stage"] for line in firsts] == ["queued"] * 3
        (status,) = _exchange(sock, {"v": 1, "id": 9, "verb": "status", "args": {}})
        assert "result" in status
        jobs.run_all()
        answers = [
            [first, *map(json.loads, reader)]
            for first, (_c, reader) in zip(firsts, pending, strict=True)
        ]
        for client, _reader in pending:
            client.close()
        refused = _exchange(sock, {"v": 1, "id": 4, "verb": "scan", "args": {"folders": ["/"]}})
        forged = _exchange(sock, {"v": 1, "id": 5, "verb": "sweep", "args": {"on_progress": 1}})
    finally:
        server.stop()
    for request, lines in zip(requests, answers, strict=True):
        jsonschema.validate(request, schema)
        jsonschema.validate(request["args"], schema["$defs"][f"{request['verb']}-args"])
        for line in lines:
            jsonschema.validate(line, schema)
            assert line["id"] == request["id"]
        assert all("progress" in line for line in lines[:-1]), lines
        jsonschema.validate(lines[-1]["result"], schema["$defs"][f"{request['verb']}-result"])
    sweep_result = answers[0][-1]["result"]
    assert sweep_result["dry_run"] and sweep_result["steps"][0]["path"] == str(root / "a.png")
    assert [r["root"] for r in answers[1][-1]["result"]["roots"]] == [str(root)]
    assert answers[2][-1]["result"]["checked"] == 0
    assert "outside every root the daemon scans" in str(refused[0]["error"])
    assert "unknown argument 'on_progress'" in str(forged[0]["error"])


def test_a_sweep_through_the_socket_leaves_a_root_another_sweep_holds(
    tmp_path: Path, catalog: Catalog
) -> None:
    from provenance.catalog.locks import root_locks

    root = tmp_path / "show"
    root.mkdir()
    write_a1111_png(root / "a.png")
    sock = tmp_path / "run" / "api.sock"
    settings = Settings(
        state_dir=tmp_path / "state", roots=[{"path": root}], daemon={"socket": str(sock)}
    )
    scan(settings, catalog, Actor.current(), utcnow())
    server = ApiServer(settings, catalog, utcnow)
    server.start()
    try:
        with root_locks(catalog, [str(root)], settings.state_path) as held:
            assert held == [str(root)]
            lines = _exchange(sock, {"v": 1, "id": 1, "verb": "sweep", "args": {}})
    finally:
        server.stop()
    result = lines[-1]["result"]
    assert isinstance(result, dict) and list(result["busy"]) == [str(root)], lines


# --- refusals: recorded, but not one by one for a user who loops ------------------------------


def test_refusals_of_one_user_and_verb_are_counted_past_the_first_an_interval(
    tmp_path: Path, catalog: Catalog
) -> None:
    from provenance.audit.refusals import COUNTED, REFUSED
    from provenance.service.context import App, Caller
    from provenance.service.integrity import verify_audit

    root = tmp_path / "show"
    root.mkdir()
    write_a1111_png(root / "a.png")
    sock = tmp_path / "run" / "api.sock"
    settings = Settings(
        state_dir=tmp_path / "state", roots=[{"path": root}], daemon={"socket": str(sock)}
    )
    scan(settings, catalog, Actor.current(), utcnow())
    # this user owns the catalog: every role but approver, so clear and revoke are refused
    clear = {"paths": [str(root / "a.png")], "request": {"approval_ref": "A-1"}}
    revoke = {"paths": [str(root / "a.png")], "reason": "r"}

    def events(action: str) -> list[Any]:
        with catalog.read() as tx:
            return [e for e in tx.all_events() if e.action == action]

    server = ApiServer(settings, catalog, utcnow, refusal_interval=1.5)
    server.start()
    try:
        for _ in range(30):
            (answer,) = _exchange(sock, {"v": 1, "id": 1, "verb": "clear", "args": clear})
            assert "may not clear: that needs the approver role" in str(answer["error"])
        assert [e.after["verb"] for e in events(REFUSED)] == ["clear"]
        assert events(COUNTED) == []
        (answer,) = _exchange(sock, {"v": 1, "id": 2, "verb": "revoke", "args": revoke})
        assert "may not revoke" in str(answer["error"])
        # the interval ends: its 29 refusals are one event, with the first and the last
        (counted,) = wait_for(lambda: events(COUNTED), 10, "the count of the refusals")
        assert (counted.after["verb"], counted.after["count"]) == ("clear", 29)
        assert counted.after["uid"] == os.getuid() and counted.user == Actor.current().user
        assert counted.after["from"] <= counted.after["to"]
        # the next refusal opens a new interval: an event of its own; the rest are counted
        # when the daemon stops
        for _ in range(4):
            _exchange(sock, {"v": 1, "id": 3, "verb": "clear", "args": clear})
    finally:
        server.stop()
    assert [e.after["verb"] for e in events(REFUSED)] == ["clear", "revoke", "clear"]
    assert [(e.after["verb"], e.after["count"]) for e in events(COUNTED)] == [
        ("clear", 29),
        ("clear", 3),
    ]
    # the counts are events of the chain like any other: it still verifies
    verify_audit(App.using(settings, catalog), Caller.service(Actor.current()))


def test_a_user_looping_a_refused_command_leaves_one_event(site: Site) -> None:
    code = f"""
import json, socket
for n in range(25):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect({str(site.socket)!r})
    s.sendall(json.dumps({{"v": 1, "id": n, "verb": "status", "args": {{}}}}).encode() + b"\\n")
    print(json.loads(s.makefile().readline())["error"])
    s.close()
"""
    done = site.accounts.python(site.outsider, code)
    lines = done.stdout.splitlines()
    assert len(lines) == 25 and all(
        f"user {site.outsider.name!r} may not status" in x for x in lines
    )
    assert [e["user"] for e in site.events("refused")] == [site.outsider.name]
