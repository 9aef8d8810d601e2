"""The daemon is never deaf while it says it watches: each root proves it hears (a canary, the
root's device and inode), a watcher that does not is restarted and its root rescanned, and
systemd's watchdog is pinged only while the consumer makes progress."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from provenance.audit import Actor
from provenance.catalog import Catalog, utcnow
from provenance.config import CatalogSettings, RootSettings, Settings
from provenance.daemon.systemd import Notifier
from provenance.errors import ConfinementError, Refusal
from provenance.ingest.scan import scan
from provenance.watch.changes import RunJob
from provenance.watch.hearing import CANARY_DIR, write_canary
from tests.media import write_plain_png
from tests.needs import unavailable
from tests.planted import mode as mode_of
from tests.watch.conftest import Running, Start, wait_for


def root_status(daemon: Running, root: Path) -> dict[str, Any]:
    status = daemon.daemon.status("running")
    return next(r for r in status["roots"] if r["path"] == str(root))


def hears(daemon: Running, root: Path) -> bool:
    return bool(root_status(daemon, root)["hears"])


def test_a_new_watcher_proves_it_hears_with_a_canary(
    root: Path, mode: str, start_daemon: Start
) -> None:
    daemon = start_daemon(RootSettings(path=root, watch=mode))
    wait_for(lambda: hears(daemon, root), what="the proof")
    status = root_status(daemon, root)
    assert status["proof"] == "canary" and status["proved_at"] is not None
    assert status["deaf_restarts"] == 0
    # the canary is taken back once heard, and nothing of its folder reaches the catalog
    assert (root / CANARY_DIR).stat().st_mode & 0o777 == 0o700
    wait_for(lambda: not list((root / CANARY_DIR).iterdir()), what="the canary taken back")
    daemon.idle()
    with daemon.catalog.read() as tx:
        assert not [a for a in tx.list_assets() if CANARY_DIR in a.path]


def test_canaries_are_never_catalogued(root: Path, tmp_path: Path, catalog: Catalog) -> None:
    write_canary(str(root), "host-1-1")
    write_plain_png(root / CANARY_DIR / "even_a_picture.png")
    write_plain_png(root / "plate.png")
    settings = Settings(state_dir=tmp_path / "state", roots=[RootSettings(path=root)])
    result = scan(settings, catalog, Actor("editor", "host1"), utcnow())
    assert result.counts.indexed == 1
    with catalog.read() as tx:
        assert [a.path for a in tx.list_assets()] == [str(root / "plate.png")]


def test_the_canary_folder_and_file_are_private_whatever_the_umask(
    root: Path, no_umask: None
) -> None:
    write_canary(str(root), "host-1-1")
    made = root / CANARY_DIR
    assert (mode_of(made), mode_of(made / "host-1-1")) == (0o700, 0o600)


def test_a_canary_folder_that_is_a_link_is_never_written_through(
    root: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / CANARY_DIR).symlink_to(elsewhere)
    with pytest.raises(ConfinementError) as caught:
        write_canary(str(root), "host-1-1")
    assert caught.value.kind is Refusal.SYMLINK
    assert list(elsewhere.iterdir()) == []


def test_canaries_left_by_an_earlier_run_on_this_host_are_swept(
    root: Path, start_daemon: Start
) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    host = socket.gethostname()
    write_canary(str(root), f"{host}-{gone.pid}-1")  # an earlier daemon, killed
    write_canary(str(root), f"{host}-{os.getpid()}-999")  # a live one (another state dir)
    write_canary(str(root), f"another-host-{gone.pid}-1")  # another host's, on this share
    daemon = start_daemon(RootSettings(path=root))
    wait_for(lambda: hears(daemon, root), what="the proof")
    wait_for(
        lambda: (
            sorted(p.name for p in (root / CANARY_DIR).iterdir())
            == sorted([f"{host}-{os.getpid()}-999", f"another-host-{gone.pid}-1"])
        ),
        what="only this host's dead daemon's canary swept",
    )


def test_a_watcher_alive_but_deaf_is_restarted_and_its_root_rescanned(
    root: Path, start_daemon: Start, caplog: pytest.LogCaptureFixture
) -> None:
    daemon = start_daemon(
        RootSettings(path=root, watch="native"), proof_interval=0.2, canary_timeout=1.0
    )
    wait_for(lambda: hears(daemon, root), what="the proof")
    scans = daemon.scans(str(root))
    watcher = daemon.daemon.roots[str(root)].watcher
    assert watcher is not None and watcher.observer is not None and watcher.watch is not None
    # its threads run, but no event reaches the daemon any more
    watcher.observer.remove_handler_for_watch(watcher.handler, watcher.watch)
    missed = write_plain_png(root / "missed.png")
    wait_for(lambda: root_status(daemon, root)["deaf_restarts"] == 1, what="a restart")
    assert "canary was not heard within" in root_status(daemon, root)["last_deaf"]
    assert watcher.observer is None  # stopped: a new one watches
    wait_for(lambda: daemon.scans(str(root)) > scans, what="a rescan")
    daemon.wait_asset(missed)  # caught up by the rescan
    wait_for(lambda: hears(daemon, root), what="the new watcher's proof")
    daemon.wait_asset(write_plain_png(root / "after.png", color="red"))
    assert any("is not heard" in r.getMessage() for r in caplog.records)
    assert "was not heard" in daemon.daemon._summary()


def test_native_root_whose_canaries_are_lost_again_is_polled(
    root: Path, start_daemon: Start, caplog: pytest.LogCaptureFixture
) -> None:
    daemon = start_daemon(
        RootSettings(path=root, watch="native"), proof_interval=0.2, canary_timeout=1.0
    )
    for restarts in (1, 2):
        wait_for(lambda: hears(daemon, root), what="the proof")
        watcher = daemon.daemon.roots[str(root)].watcher
        assert watcher is not None and watcher.observer is not None and watcher.watch
        watcher.observer.remove_handler_for_watch(watcher.handler, watcher.watch)
        wait_for(
            lambda restarts=restarts: root_status(daemon, root)["deaf_restarts"] == restarts,
            what=f"restart {restarts}",
        )
    assert daemon.daemon.roots[str(root)].mode == "polling"
    assert any("polling it from now on" in r.getMessage() for r in caplog.records)
    wait_for(lambda: hears(daemon, root), what="the poller's proof")
    daemon.wait_asset(write_plain_png(root / "polled.png"))


def test_a_root_where_no_canary_can_be_written_is_proved_by_its_identity(
    root: Path, start_daemon: Start, caplog: pytest.LogCaptureFixture
) -> None:
    if os.geteuid() != 0:
        unavailable("needs root to give the canary folder to another user")
    caplog.set_level(logging.INFO, logger="provenance")
    (root / CANARY_DIR).mkdir()
    os.chown(root / CANARY_DIR, 4321, 4321)  # not the daemon's: never written into
    daemon = start_daemon(RootSettings(path=root))
    wait_for(lambda: hears(daemon, root), what="the proof")
    assert root_status(daemon, root)["proof"] == "identity"
    assert list((root / CANARY_DIR).iterdir()) == []
    assert any("cannot write a canary" in r.getMessage() for r in caplog.records)
    daemon.wait_asset(write_plain_png(root / "plate.png"))


def test_a_reload_makes_every_root_prove_again(root: Path, start_daemon: Start) -> None:
    daemon = start_daemon(RootSettings(path=root))  # a canary a minute only
    wait_for(lambda: hears(daemon, root), what="the first proof")
    first = root_status(daemon, root)["proved_at"]
    daemon.daemon.request_reload()  # as SIGHUP does
    wait_for(lambda: root_status(daemon, root)["proved_at"] != first, what="a new proof")


def test_a_root_replaced_under_the_watch_is_watched_again(root: Path, start_daemon: Start) -> None:
    daemon = start_daemon(RootSettings(path=root, watch="native"))
    wait_for(lambda: hears(daemon, root), what="the proof")
    # the old folder keeps the watch wherever it goes; the new one at the root's path has none
    os.rename(root, root.with_name("old"))
    root.mkdir()
    new = write_plain_png(root / "in_the_new_folder.png")
    daemon.wait_asset(new)


# --- a real unmount and mount ----------------------------------------------------------------


@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[Callable[[], None]]:
    """A tmpfs mounted on tmp_path/production; calling the result unmounts and mounts it again."""
    point = tmp_path / "production"
    point.mkdir()

    def mount() -> None:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", str(point)],
            check=True,
            capture_output=True,
        )

    def umount() -> None:
        done = subprocess.run(["umount", str(point)], capture_output=True, check=False)
        if done.returncode != 0:  # busy for a moment (a worker reading): detach it
            subprocess.run(["umount", "-l", str(point)], check=True, capture_output=True)

    try:
        mount()
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        unavailable(f"mounting a tmpfs is not permitted here: {exc} {detail.decode().strip()}")

    def remount() -> None:
        umount()
        mount()

    try:
        yield remount
    finally:
        umount()


def test_a_root_unmounted_and_mounted_again_is_heard_within_15s(
    tmp_path: Path,
    mount_point: Callable[[], None],
    mode: str,
    catalog: Catalog,
    start_daemon: Start,
) -> None:
    root = tmp_path / "production"
    daemon = start_daemon(
        RootSettings(path=root, watch=mode),
        catalog_settings=CatalogSettings(url=catalog.url),  # on both backends
        status_interval=2.0,  # as run
    )
    wait_for(lambda: hears(daemon, root), what="the proof")
    daemon.wait_asset(write_plain_png(root / "before.png"))
    mount_point()  # a share that drops and comes back
    began = time.monotonic()
    after = write_plain_png(root / "after.png", color="red")
    daemon.wait_asset(after, timeout=15)
    assert time.monotonic() - began < 15
    assert "another folder" in root_status(daemon, root)["last_deaf"]


# --- systemd's watchdog ----------------------------------------------------------------------


class NotifySocket:
    """A datagram socket standing for systemd's $NOTIFY_SOCKET; collects what it is sent."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.messages: list[str] = []
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._receive, daemon=True)
        self.thread.start()

    def _receive(self) -> None:
        while not self.closed.is_set():
            try:
                message = self.sock.recv(4096).decode()
            except TimeoutError:
                continue
            with self.lock:
                self.messages.append(message)

    def pings(self) -> int:
        with self.lock:
            return sum("WATCHDOG=1" in m for m in self.messages)

    def statuses(self) -> list[str]:
        with self.lock:
            return [m for m in self.messages if m.startswith("STATUS=")]

    def close(self) -> None:
        self.closed.set()
        self.thread.join(5)
        self.sock.close()


def test_watchdog_is_pinged_only_while_the_consumer_makes_progress(
    root: Path, tmp_path: Path, start_daemon: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="provenance")
    systemd = NotifySocket(tmp_path / "notify.sock")
    try:
        notifier = Notifier(
            {"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "200000"}
        )
        daemon = start_daemon(RootSettings(path=root), notifier=notifier)
        wait_for(lambda: systemd.pings() >= 2, what="pings while the consumer goes round")
        release = threading.Event()
        # a job that blocks the consumer: it waits, using no CPU, going nowhere
        daemon.daemon.changes.put(RunJob("stuck", release.wait))
        wait_for(
            lambda: any("no progress" in r.getMessage() for r in caplog.records),
            what="the stall logged",
        )
        stalled = systemd.pings()
        wait_for(
            lambda: any("consumer stuck for" in s for s in systemd.statuses()),
            what="the STATUS= line",
        )
        assert systemd.pings() == stalled  # no ping all the while
        assert root_status(daemon, root)["hears"]  # the watcher is fine; the consumer is not
        release.set()
        wait_for(lambda: systemd.pings() > stalled, what="pings again")
        assert any("makes progress again" in r.getMessage() for r in caplog.records)
    finally:
        systemd.close()
