"""The daemon as a system service: the printed unit, and a run as a service account with no
home, its state where systemd's ``StateDirectory=`` puts it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from provenance.catalog import Catalog
from provenance.cli import cli
from provenance.config import Settings
from provenance.daemon.systemd import Unit, unit_file
from tests.media import write_a1111_png
from tests.needs import unavailable
from tests.osusers import OsAccounts, OsUser, accounts
from tests.processes import start_as_service, stop_service
from tests.watch.conftest import wait_for

__all__ = ["accounts"]

REPO = Path(__file__).resolve().parents[1]


def _print_unit(runner: CliRunner, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.delenv("PROVENANCE_STATE_DIR")
    result = runner.invoke(cli, [*args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _settings_of(unit: str) -> list[tuple[str, str]]:
    return [
        (key, value)
        for key, _, value in (line.partition("=") for line in unit.splitlines())
        if value and not key.startswith("#")
    ]


def _protect_home() -> str:
    """What ProtectHome= must be for this test's interpreter (pyenv keeps it under /root)."""
    homes = [Path("/home"), Path("/root"), Path("/run/user")]
    program = [Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()]
    return "read-only" if any(p.is_relative_to(h) for p in program for h in homes) else "yes"


def test_print_unit_runs_a_hardened_service_account(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "provenance.toml"
    config.write_text(
        '[[roots]]\npath = "/srv/show a"\n[[roots]]\npath = "/mnt/show_b"\n'
        '[report]\nout_dir = "/srv/reports"\n[daemon]\nmetrics_dir = "/var/lib/node_exporter"\n'
    )
    unit = _print_unit(runner, monkeypatch, "--config", str(config), "daemon", "--print-unit")
    settings = _settings_of(unit)
    for expected in [
        ("Type", "notify"),
        ("User", "provenance"),
        ("Group", "provenance"),
        ("StateDirectory", "provenance"),
        ("ConfigurationDirectory", "provenance"),
        ("UMask", "0077"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", _protect_home()),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("WatchdogSec", "60"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
    ]:
        assert expected in settings, expected
    writes = [value for key, value in settings if key == "ReadWritePaths"]
    assert writes == [
        '"-/srv/show a"',
        "-/mnt/show_b",
        "-/srv/reports",
        "-/var/lib/node_exporter",
    ]
    exec_start = dict(settings)["ExecStart"].split()
    assert Path(exec_start[0]).is_absolute()
    assert exec_start[-3:] == ["--config", str(config), "daemon"]
    assert not any(key == "Environment" for key, _ in settings)


@pytest.mark.parametrize(
    ("web", "shadow"),
    [
        ('[web]\nenabled = true\nauth = "pam"\n', True),
        ('[web]\nenabled = true\nauth = "header"\ntrusted_proxies = ["127.0.0.1"]\n', False),
        ('[web]\nenabled = false\nauth = "pam"\n', False),
    ],
)
def test_print_unit_lets_the_account_check_passwords_when_the_queue_signs_in_with_pam(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, web: str, shadow: bool
) -> None:
    config = tmp_path / "provenance.toml"
    config.write_text(f'[[roots]]\npath = "/srv/show"\n{web}')
    unit = _print_unit(runner, monkeypatch, "--config", str(config), "daemon", "--print-unit")
    groups = [value for key, value in _settings_of(unit) if key == "SupplementaryGroups"]
    assert groups == (["shadow"] if shadow else [])
    if shadow:  # and says why, on the lines above it
        lines = unit.splitlines()
        above = lines[lines.index("SupplementaryGroups=shadow") - 1]
        assert above.startswith("#") and "/etc/shadow" in above


def test_print_unit_for_another_account_and_roots_under_home(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    unit = _print_unit(
        runner,
        monkeypatch,
        "daemon",
        "/home/editor/show_%a",
        "--print-unit",
        "--user",
        "media-svc",
        "--group",
        "post",
    )
    settings = _settings_of(unit)
    assert ("User", "media-svc") in settings and ("Group", "post") in settings
    # the home folders are only read-only, and the root is writable in them
    assert ("ProtectHome", "read-only") in settings
    assert ("ReadWritePaths", "-/home/editor/show_%%a") in settings
    assert dict(settings)["ExecStart"].endswith(" daemon /home/editor/show_%%a")


def test_print_unit_warns_of_a_program_the_account_cannot_reach(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = tmp_path / "closed"
    (closed / "venv").mkdir(parents=True)
    closed.chmod(0o700)
    monkeypatch.setattr(sys, "prefix", str(closed / "venv"))
    result = runner.invoke(cli, ["daemon", "/srv/show", "--print-unit"])
    assert result.exit_code == 0
    # pytest's own folder is root's alone too: the first closed folder above is named
    assert result.stderr.startswith(f"warning: {closed / 'venv'} is under /")
    assert "which other accounts cannot enter" in result.stderr
    assert result.stdout.startswith("[Unit]")


def test_unit_options_without_print_unit_are_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["daemon", "--user", "x", "/srv"])
    assert result.exit_code == 2 and "--user and --group go with --print-unit" in result.output


def test_a_root_in_tmp_keeps_the_hosts_tmp() -> None:
    assert "PrivateTmp=no" in unit_file(Unit(["/usr/bin/provenance"], writes=(Path("/tmp/x"),)))


def test_printed_unit_passes_systemd_analyze_verify(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        unavailable("systemd-analyze is not installed (apt-get install systemd)")
    root = tmp_path / "show a"
    root.mkdir()
    unit = _print_unit(runner, monkeypatch, "daemon", str(root), "--print-unit")
    path = tmp_path / "provenance.service"
    path.write_text(unit)
    checked = subprocess.run(
        [analyze, "verify", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    # any warning (an unknown key, a bad value, a command that is not there) fails the test
    assert checked.returncode == 0 and not checked.stderr.strip(), checked.stderr


def test_state_dir_comes_from_systemds_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROVENANCE_STATE_DIR")
    monkeypatch.setenv("STATE_DIRECTORY", f"{tmp_path / 'state'}:{tmp_path / 'other'}")
    assert Settings().state_path == tmp_path / "state"
    assert Settings().catalog_url == f"sqlite:///{tmp_path / 'state' / 'catalog.sqlite'}"
    monkeypatch.setenv("PROVENANCE_STATE_DIR", str(tmp_path / "mine"))
    assert Settings().state_path == tmp_path / "mine"


# --- a real run as a service account ------------------------------------------------------


@pytest.fixture
def service_account(accounts: OsAccounts) -> OsUser:
    """A system account with no home (``/nonexistent``), as the README tells to create."""
    return accounts.user(system=True)


@contextlib.contextmanager
def _enterable(paths: list[Path]) -> Iterator[None]:
    """Let other users pass through the folders above ``paths`` (o+x) for a while.

    Where the interpreter was installed under root's 0700 home (pyenv), no other account can
    start it; a service is installed elsewhere (a venv in /opt), but the test runs the
    interpreter it has.
    """
    changed: dict[Path, int] = {}
    for path in paths:
        for folder in [path, *path.parents]:
            mode = folder.stat().st_mode
            if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH and folder not in changed:
                changed[folder] = stat.S_IMODE(mode)
                folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
    try:
        yield
    finally:
        for folder, mode in changed.items():
            folder.chmod(mode)


def _messages(sock: socket.socket, until: float) -> Iterator[str]:
    while time.monotonic() < until:
        sock.settimeout(max(0.01, until - time.monotonic()))
        try:
            yield sock.recv(4096).decode()
        except TimeoutError:
            return


def _wait_message(sock: socket.socket, needle: str, seconds: float) -> list[str]:
    seen = []
    for message in _messages(sock, time.monotonic() + seconds):
        seen.append(message)
        if needle in message.splitlines():
            return seen
    raise AssertionError(f"no {needle!r} from the daemon; it sent {seen}")


def test_daemon_runs_as_a_service_account_with_no_home(
    service_account: OsUser,
) -> None:
    uid, gid = service_account.uid, service_account.gid
    with contextlib.ExitStack() as stack:
        base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="provenance-svc-")))
        base.chmod(0o755)
        # what systemd makes of StateDirectory=provenance: the account's own 0700 folder
        state = base / "var-lib-provenance"
        state.mkdir(mode=0o700)
        os.chown(state, uid, gid)
        root = base / "show_a"
        root.mkdir()
        write_a1111_png(root / "before.png")
        for path in [root, *root.iterdir()]:
            os.chown(path, uid, gid)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        stack.callback(notify.close)
        notify.bind(str(base / "notify"))
        (base / "notify").chmod(0o777)
        program = [Path(sys.executable), Path(sys.executable).resolve(), Path(sys.prefix)]
        stack.enter_context(_enterable([*program, REPO]))
        log = base / "daemon.log"
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": "/nonexistent",
            "STATE_DIRECTORY": str(state),
            "NOTIFY_SOCKET": str(base / "notify"),
            "PYTHONPATH": str(REPO),
        }
        process = start_as_service(
            [sys.executable, "-m", "provenance", "daemon", str(root)],
            env=env,
            uid=uid,
            gid=gid,
            log=log,
        )
        stack.callback(stop_service, process)
        try:
            try:
                _wait_message(notify, "READY=1", 60)
            except AssertionError as exc:
                raise AssertionError(f"{exc}; its log:\n{log.read_text()}") from None
            wait_for(
                lambda: "reconciliation scan done" in log.read_text() or process.poll() is not None,
                30,
                "the start-up scan",
            )
            assert process.poll() is None
            process.send_signal(signal.SIGHUP)
            reload = _wait_message(notify, "RELOADING=1", 30)[-1].splitlines()
            assert any(line.startswith("MONOTONIC_USEC=") for line in reload)
            _wait_message(notify, "READY=1", 30)
            catalog = Catalog.open(f"sqlite:///{state / 'catalog.sqlite'}")
            stack.callback(catalog.close)
            with catalog.read() as tx:
                asset = tx.asset_by_path(str(root / "before.png"))
            assert asset is not None and asset.ai_class == "ai"
        finally:
            stop_service(process)
        text = log.read_text()
        assert process.returncode == 0, text
        assert "Permission denied" not in text and "Traceback" not in text, text
        # its state is where systemd said, the account's alone; nothing needed a home
        made = list(state.rglob("*"))
        assert {"catalog.sqlite", "daemon.lock", "daemon-status.json"} <= {p.name for p in made}
        for path in [state, *made]:
            info = path.lstat()
            assert info.st_uid == uid, path
            expected = 0o700 if stat.S_ISDIR(info.st_mode) else 0o600
            assert stat.S_IMODE(info.st_mode) == expected, (path, oct(info.st_mode))
        # its sidecars are for whoever reads the files they describe, umask 0077 or not
        sidecar = root / "before.png.xmp"
        assert stat.S_IMODE(sidecar.stat().st_mode) == stat.S_IMODE(
            (root / "before.png").stat().st_mode
        )
