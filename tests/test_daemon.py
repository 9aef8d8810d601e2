"""`provenance daemon` as systemd runs it: a real process, signals, sd_notify, pid lock, status."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from provenance.catalog import Catalog
from provenance.cli import cli
from provenance.daemon.runstate import PidLock, daemon_pid, read_status
from provenance.daemon.systemd import Notifier
from tests.media import write_a1111_png, write_plain_png
from tests.processes import descendants, inotify_watches_limited_to, need_proc, running
from tests.watch.conftest import wait_for

REPO = Path(__file__).resolve().parents[1]


class DaemonProcess:
    """``python3 -m provenance daemon`` in a child process, its stderr collected in a file."""

    def __init__(
        self,
        tmp_path: Path,
        *args: str,
        env: dict[str, str] | None = None,
        prefix: list[str] | None = None,
    ) -> None:
        self.state = tmp_path / "state"
        self.log = tmp_path / f"daemon-{time.monotonic_ns()}.log"
        environ = {
            **os.environ,
            "PROVENANCE_STATE_DIR": str(self.state),
            "PYTHONPATH": str(REPO),
            **(env or {}),
        }
        with open(self.log, "wb") as stream:
            self.process = subprocess.Popen(
                [*(prefix or []), sys.executable, "-m", "provenance", *args],
                cwd=tmp_path,
                env=environ,
                stdout=subprocess.DEVNULL,
                stderr=stream,
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        wait_for(
            lambda: "reconciliation scan done" in self.text() or self.process.poll() is not None,
            20,
            "the daemon to finish its start-up scan",
        )
        assert self.process.poll() is None, self.text()

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for process in started:
        process.kill()


def start_ready(
    daemons: list[DaemonProcess], tmp_path: Path, *args: str, prefix: list[str] | None = None
) -> DaemonProcess:
    """Start ``provenance ARGS`` (kept in ``daemons`` to be killed after the test) and wait
    for its start-up scan."""
    daemon = DaemonProcess(tmp_path, *args, prefix=prefix)
    daemons.append(daemon)
    daemon.wait_ready()
    return daemon


def config(tmp_path: Path, *roots: Path, extra: str = "", watch: str = "auto") -> Path:
    """A daemon's config: the roots, one reader, ``extra`` after [scan]'s workers, and short
    quiet and poll intervals."""
    path = tmp_path / "provenance.toml"
    text = "".join(f'[[roots]]\npath = "{root}"\nwatch = "{watch}"\n' for root in roots)
    text += f"[scan]\nworkers = 1\n{extra}\n[daemon]\nquiet_period = 0.2\npoll_interval = 0.1\n"
    path.write_text(text)
    return path


def catalog_of(tmp_path: Path) -> Catalog:
    return Catalog.open(f"sqlite:///{tmp_path / 'state' / 'catalog.sqlite'}")


def count_assets(tmp_path: Path) -> int:
    catalog = catalog_of(tmp_path)
    try:
        with catalog.read() as tx:
            return sum(tx.count_by_status().values())
    finally:
        catalog.close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "production"
    folder.mkdir()
    return folder


def test_sigterm_mid_batch_stops_within_5s_and_leaves_a_consistent_catalog(
    tmp_path: Path, root: Path, daemons: list[DaemonProcess]
) -> None:
    daemon = start_ready(daemons, tmp_path, "--config", str(config(tmp_path, root)), "daemon")
    for i in range(300):
        write_plain_png(root / f"f{i:03}.png", color=(i % 256, i // 256, 0))  # type: ignore[arg-type]
    wait_for(lambda: count_assets(tmp_path) > 0, 20, "the first batch")
    began = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(5) == 0, daemon.text()
    assert time.monotonic() - began < 5
    catalog = catalog_of(tmp_path)
    try:
        with catalog.read() as tx:
            assets = list(tx.list_assets())
            # nothing half-recorded: every row has its "indexed" event
            assert all([e.action for e in tx.events_of(a.id)] == ["indexed"] for a in assets)  # type: ignore[arg-type]
    finally:
        catalog.close()
    # what the stop left behind, the next start-up (or a scan) catches up
    result = CliRunner().invoke(
        cli, ["scan", str(root)], env={"PROVENANCE_STATE_DIR": str(tmp_path / "state")}
    )
    assert result.exit_code == 0, result.output
    assert count_assets(tmp_path) == 300


def test_sighup_reloads_roots_and_rules(
    tmp_path: Path, root: Path, daemons: list[DaemonProcess]
) -> None:
    second = tmp_path / "second"
    second.mkdir()
    cfg = config(tmp_path, root)
    daemon = start_ready(daemons, tmp_path, "--config", str(cfg), "daemon")
    config(
        tmp_path,
        second,
        extra='[[detect.path_rules]]\nglob = "**/midjourney/**"\ntool = "Midjourney"\n',
    )
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: "config reloaded" in daemon.text(), 10, "the reload")
    write_plain_png(root / "after_removal.png")  # root is no longer watched
    write_plain_png(second / "midjourney" / "frame.png")
    catalog = catalog_of(tmp_path)
    try:

        def frame() -> object:
            with catalog.read() as tx:
                return tx.asset_by_path(str(second / "midjourney" / "frame.png"))

        asset = wait_for(frame, 10, "the new root's file")
        assert asset.ai_class == "ai" and asset.generator == "Midjourney"  # type: ignore[attr-defined]
        with catalog.read() as tx:
            assert tx.asset_by_path(str(root / "after_removal.png")) is None
    finally:
        catalog.close()
    assert daemon.process.poll() is None
    # a broken config on reload is reported and the running one kept
    cfg.write_text("[[roots]]\npath = 'relative/path'\n")
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: "config not reloaded" in daemon.text(), 10, "the refused reload")
    assert "roots.0.path: must be an absolute path" in daemon.text()
    write_plain_png(second / "still_watched.png", color="red")
    wait_for(
        lambda: "still_watched" in daemon.text() or _has(tmp_path, second / "still_watched.png"), 10
    )
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(5) == 0


def _has(tmp_path: Path, path: Path) -> bool:
    catalog = catalog_of(tmp_path)
    try:
        with catalog.read() as tx:
            return tx.asset_by_path(str(path)) is not None
    finally:
        catalog.close()


def test_second_daemon_on_the_same_state_dir_is_refused(
    tmp_path: Path, root: Path, daemons: list[DaemonProcess]
) -> None:
    first = start_ready(daemons, tmp_path, "daemon", str(root))
    second = DaemonProcess(tmp_path, "daemon", str(root))
    daemons.append(second)
    assert second.wait(20) == 1
    assert (
        f"error: a provenance daemon is already running on this host (pid {first.process.pid}"
        in second.text()
    )
    assert first.process.poll() is None


def test_a_daemon_killed_outright_leaves_no_worker_behind(
    tmp_path: Path, root: Path, daemons: list[DaemonProcess]
) -> None:
    # SIGKILL (or the OOM killer) gives the daemon no chance to shut its workers down
    need_proc()
    daemon = start_ready(daemons, tmp_path, "daemon", str(root))
    workers = descendants(daemon.process.pid)
    assert workers, "the daemon has worker processes"
    daemon.kill()
    wait_for(lambda: not any(map(running, workers)), 10, "the workers to end")


def test_an_idle_daemon_is_one_process_and_a_file_dropped_later_is_recorded(
    tmp_path: Path, root: Path, daemons: list[DaemonProcess]
) -> None:
    # its readers end after daemon.idle_workers_after with nothing to read; the watcher
    # still hears, and the next file starts a reader again
    need_proc()
    write_plain_png(root / "before.png")
    cfg = config(tmp_path, root)
    cfg.write_text(cfg.read_text().replace("[scan]\nworkers = 1", "[scan]\nworkers = 2"))
    with cfg.open("a") as stream:
        stream.write('idle_workers_after = "1s"\n')
    daemon = DaemonProcess(tmp_path, "--config", str(cfg), "daemon")
    daemons.append(daemon)
    daemon.wait_ready()
    pid = daemon.process.pid
    wait_for(lambda: not descendants(pid), 20, "the idle readers to end")
    for n in range(2):
        time.sleep(1.5)  # idle longer than idle_workers_after: every reader has ended
        assert not descendants(pid)
        dropped = write_a1111_png(root / "later" / f"castle_{n}.png")
        wait_for(lambda dropped=dropped: _has(tmp_path, dropped), 20, f"{dropped.name} recorded")
        wait_for(lambda: not descendants(pid), 20, "the readers to end again")
    assert _has(tmp_path, root / "before.png")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(5) == 0, daemon.text()


def test_sd_notify_ready_watchdog_and_stopping(
    tmp_path: Path, root: Path, daemons: list[DaemonProcess]
) -> None:
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        sock.settimeout(20)
        env = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "400000"}
        daemon = DaemonProcess(tmp_path, "daemon", str(root), env=env)
        daemons.append(daemon)
        messages: list[str] = []
        while sum("WATCHDOG=1" in m for m in messages) < 2:
            messages.append(sock.recv(4096).decode())
        ready = next(m for m in messages if "READY=1" in m)
        assert "STATUS=watching 1 of 1 roots" in ready and f"MAINPID={daemon.process.pid}" in ready
        daemon.signal(signal.SIGTERM)
        while not any("STOPPING=1" in m for m in messages):
            messages.append(sock.recv(4096).decode())
        assert daemon.wait(5) == 0


def test_a_real_inotify_overflow_rescans_the_root(
    tmp_path: Path, root: Path, daemons: list[DaemonProcess]
) -> None:
    daemon = start_ready(daemons, tmp_path, "--config", str(config(tmp_path, root)), "daemon")
    # stopped, the daemon reads nothing: the kernel queues fs.inotify.max_queued_events
    # events at most, then drops the rest with IN_Q_OVERFLOW
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    daemon.signal(signal.SIGSTOP)
    try:
        for i in range(limit // 2 + 1000):  # a create and a close-write each; never assets
            (root / f"{i}.tmp").touch()
        write_plain_png(root / "during.png")
    finally:
        daemon.signal(signal.SIGCONT)
    wait_for(lambda: "events were lost" in daemon.text(), 20, "the overflow warning")
    wait_for(
        lambda: f"reconciliation scan of {root} (events lost" in daemon.text(), 20, "the rescan"
    )
    wait_for(lambda: _has(tmp_path, root / "during.png"), 20, "the file written meanwhile")
    wait_for(
        lambda: (read_status(tmp_path / "state") or {}).get("events_lost") == 1,
        20,
        "the status to count the loss",
    )


def test_watch_limit_at_start_falls_back_to_polling_with_advice(
    tmp_path: Path, root: Path, daemons: list[DaemonProcess]
) -> None:
    for name in "abcd":
        (root / name).mkdir()
    limited = inotify_watches_limited_to(3)
    cfg = config(tmp_path, root)
    daemon = start_ready(daemons, tmp_path, "--config", str(cfg), "daemon", prefix=limited)
    assert "inotify watch limit reached" in daemon.text()
    assert "fs.inotify.max_user_watches" in daemon.text()
    write_plain_png(root / "c" / "seen.png")
    wait_for(lambda: _has(tmp_path, root / "c" / "seen.png"), 20, "a file polled")


def test_watch_limit_reached_by_a_new_folder_switches_to_polling(
    tmp_path: Path, root: Path, daemons: list[DaemonProcess]
) -> None:
    (root / "a").mkdir()
    # the root and "a", one for the daemon's look at the limit, one spare
    limited = inotify_watches_limited_to(4)
    cfg = config(tmp_path, root)
    daemon = start_ready(daemons, tmp_path, "--config", str(cfg), "daemon", prefix=limited)
    assert "watch limit" not in daemon.text()
    (root / "new").mkdir()  # takes the spare watch
    (root / "newer").mkdir()  # cannot be watched: watchdog only logs it
    write_plain_png(root / "newer" / "seen.png")
    wait_for(lambda: "Polling them meanwhile" in daemon.text(), 20, "the switch to polling")
    assert "fs.inotify.max_user_watches" in daemon.text()
    wait_for(lambda: _has(tmp_path, root / "newer" / "seen.png"), 20, "the unwatched folder's file")


def test_json_log_lines_and_the_start_up_line(
    tmp_path: Path, root: Path, daemons: list[DaemonProcess]
) -> None:
    daemon = start_ready(
        daemons, tmp_path, "--config", str(config(tmp_path, root)), "daemon", "--log-format", "json"
    )
    write_a1111_png(root / "castle.png")
    wait_for(lambda: "castle.png" in daemon.text(), 10, "the indexed line")
    daemon.signal(signal.SIGINT)
    assert daemon.wait(5) == 0
    records = [json.loads(line) for line in daemon.text().splitlines() if line.strip()]
    started = next(r for r in records if "daemon started" in r["message"])
    assert f"config {tmp_path / 'provenance.toml'}" in started["message"]
    assert f"sqlite:///{tmp_path / 'state' / 'catalog.sqlite'}" in started["message"]
    assert f"{root} (native)" in started["message"]
    assert any(
        r["level"] == "info" and "indexed" in r["message"] and "castle.png" in r["message"]
        for r in records
    )


def test_status_shows_the_running_daemon_and_its_roots(
    tmp_path: Path, root: Path, daemons: list[DaemonProcess], runner: CliRunner
) -> None:
    cfg = config(tmp_path, root)
    write_plain_png(root / "plate.png")
    daemon = start_ready(daemons, tmp_path, "--config", str(cfg), "daemon")

    # the daemon rewrites its status file every 2 s: wait for one written after the start-up
    # scan and the root's first proof that it hears
    def idle_and_heard() -> bool:
        written = read_status(tmp_path / "state") or {}
        return written.get("queue", 1) == 0 and all(r["hears"] for r in written["roots"])

    wait_for(idle_and_heard, 10, "an idle status")
    result = runner.invoke(cli, ["--config", str(cfg), "status", "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["running"] and status["pid"] == daemon.process.pid
    assert status["counts"] == {"not-ai": 1}
    [shown] = status["roots"]
    assert (
        shown["path"] == str(root)
        and shown["online"]
        and shown["watching"]
        and shown["mode"] == "native"
        and shown["hears"]
        and shown["proof"] == "canary"
        and shown["deaf_restarts"] == 0
    )
    assert shown["last_scan"] is not None and shown["last_scan_files"] == 1
    assert status["daemon"]["queue"] == 0
    assert (status["mode"], status["socket"]) == ("own", None)
    text = runner.invoke(cli, ["--config", str(cfg), "status"])
    catalog = tmp_path / "state" / "catalog.sqlite"
    assert f"catalog: sqlite:///{catalog} (your own)" in text.output.splitlines(), text.output
    started = r"since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(\d+s ago\), status written \d+s ago\)"
    assert re.search(rf"daemon: running \(pid {daemon.process.pid}, {started}", text.output)
    assert f"{root}: online, watched (native), hears (canary " in text.output
    last_scan = r"last scan \d{4}-\d\d-\d\d \d\d:\d\d UTC \(\d+s ago\), 1 files"
    assert re.search(r"ago\), " + last_scan, text.output)
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(5) == 0
    assert daemon_pid(tmp_path / "state") is None
    stopped = runner.invoke(cli, ["--config", str(cfg), "status"])
    assert stopped.exit_code == 3 and "daemon: not running" in stopped.output


def test_daemon_without_roots_is_one_error_line(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["daemon"])
    assert result.exit_code == 1
    assert result.output.startswith("error: nothing to watch") and result.output.count("\n") == 1


def test_daemon_with_a_missing_folder_is_an_error(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["daemon", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "no such folder" in result.output


def test_print_unit(tmp_path: Path, runner: CliRunner) -> None:
    cfg = tmp_path / "provenance.toml"
    cfg.write_text("")
    result = runner.invoke(cli, ["--config", str(cfg), "daemon", "--print-unit"])
    assert result.exit_code == 0
    unit = result.output
    for line in (
        "Type=notify",
        "Restart=on-failure",
        "WatchdogSec=60",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ):
        assert line in unit.splitlines()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    command = exec_start.removeprefix("ExecStart=").split()
    assert Path(command[0]).is_absolute()
    assert command[-3:] == ["--config", str(cfg), "daemon"]


def test_notifier_speaks_to_an_abstract_socket() -> None:
    name = f"provenance-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "30000000"})
        assert notifier.watchdog_interval == 15.0
        assert notifier.ping()
        assert sock.recv(100) == b"WATCHDOG=1"


def test_notifier_without_systemd_does_nothing() -> None:
    notifier = Notifier({})
    assert not notifier.enabled and notifier.watchdog_interval is None
    assert not notifier.ready("x")
    other = Notifier(
        {"NOTIFY_SOCKET": "/nonexistent/socket", "WATCHDOG_USEC": "10", "WATCHDOG_PID": "1"}
    )
    assert other.watchdog_interval is None and not other.ping()


def test_pid_lock_is_exclusive_and_dies_with_its_holder(tmp_path: Path) -> None:
    from provenance.daemon.runstate import AlreadyRunningError

    first = PidLock(tmp_path / "daemon.lock")
    first.acquire()
    assert daemon_pid(tmp_path) == os.getpid()
    with pytest.raises(AlreadyRunningError, match=f"pid {os.getpid()}"):
        PidLock(tmp_path / "daemon.lock").acquire()
    first.release()
    assert daemon_pid(tmp_path) is None
    second = PidLock(tmp_path / "daemon.lock")
    second.acquire()
    second.release()


def test_sighup_with_new_path_rules_rejudges_files_already_recorded(
    tmp_path: Path, root: Path, daemons: list[DaemonProcess]
) -> None:
    frame = root / "shots" / "mj" / "frame.png"
    write_plain_png(frame)
    write_plain_png(root / "plates" / "plate.png")
    cfg = config(tmp_path, root)
    daemon = start_ready(daemons, tmp_path, "--config", str(cfg), "daemon")
    catalog = catalog_of(tmp_path)
    try:

        def verdict(path: Path) -> tuple[str, str | None] | None:
            with catalog.read() as tx:
                asset = tx.asset_by_path(str(path))
            return None if asset is None else (asset.ai_class, asset.generator)

        assert verdict(frame) == ("none", None)
        # the same roots, a new path rule: no file changes, no restart, no `scan --rebuild`
        config(
            tmp_path, root, extra='[[detect.path_rules]]\nglob = "**/mj/**"\ntool = "Midjourney"\n'
        )
        began = time.monotonic()
        daemon.signal(signal.SIGHUP)
        wait_for(lambda: verdict(frame) == ("ai", "Midjourney"), 10, "the file judged again")
        assert time.monotonic() - began < 10
        assert verdict(root / "plates" / "plate.png") == ("none", None)
        assert "detection settings changed" in daemon.text()
        # a reload that leaves the detection settings alone rescans nothing
        wait_for(lambda: daemon.text().count("reconciliation scan done") == 2, 10, "the rescan")
        scans = 2
        daemon.signal(signal.SIGHUP)
        wait_for(lambda: daemon.text().count("config reloaded") == 2, 10, "the second reload")
        time.sleep(0.5)
        assert daemon.text().count("reconciliation scan done") == scans
    finally:
        catalog.close()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(5) == 0
