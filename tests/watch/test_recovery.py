"""The daemon heals: dead watchers restart, lost events mean a rescan, hand scans run alongside."""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from watchdog.observers.inotify_c import InotifyConstants, InotifyEvent, InotifyFD

from provenance.audit import Actor
from provenance.catalog import Catalog, utcnow
from provenance.config import RootSettings, Settings
from provenance.scan import scan
from provenance.watch.observers import NativeObserver
from tests.media import write_plain_png
from tests.watch.conftest import Running, wait_for

Start = Callable[..., Running]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "production"
    folder.mkdir()
    return folder


def _observer(daemon: Running, root: Path) -> object | None:
    """The root's observer now (None for the moment a restart replaces it)."""
    watcher = daemon.daemon.roots[str(root)].watcher
    return watcher.observer if watcher is not None else None


def test_stopped_emitter_is_restarted_and_its_root_rescanned(
    root: Path, start_daemon: Start
) -> None:
    daemon = start_daemon(RootSettings(path=root, watch="native"))
    scans = daemon.scans(str(root))
    old = _observer(daemon, root)
    for emitter in list(old.emitters):  # type: ignore[attr-defined]
        emitter.stop()
    wait_for(lambda: _observer(daemon, root) not in (old, None), what="a new observer")
    wait_for(lambda: daemon.scans(str(root)) > scans, what="a rescan")
    daemon.wait_asset(write_plain_png(root / "after.png"))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize(
    "error",
    [
        FileNotFoundError(errno.ENOENT, "share gone"),  # watchdog's poller stops itself
        RuntimeError("bug in a snapshot"),  # the poller's thread dies
    ],
)
def test_poller_that_raises_is_restarted(root: Path, start_daemon: Start, error: Exception) -> None:
    daemon = start_daemon(RootSettings(path=root, watch="polling"))
    old = _observer(daemon, root)
    emitter = next(iter(old.emitters))  # type: ignore[attr-defined]

    def broken() -> None:
        raise error

    emitter._take_snapshot = broken  # the poller's next look at the share fails
    wait_for(lambda: _observer(daemon, root) not in (old, None), what="a new observer")
    daemon.wait_asset(write_plain_png(root / "after.png"))


def test_inotify_overflow_rescans_the_root(root: Path, start_daemon: Start) -> None:
    daemon = start_daemon(RootSettings(path=root, watch="native"))
    scans = daemon.scans(str(root))
    observer = _observer(daemon, root)
    assert isinstance(observer, NativeObserver)
    observer.inotify_fd.handle_event(InotifyEvent(-1, InotifyConstants.IN_Q_OVERFLOW, 0, b""))  # type: ignore[arg-type]
    wait_for(lambda: daemon.scans(str(root)) > scans, what="a rescan")


def test_watch_limit_falls_back_to_polling_with_advice(
    root: Path,
    start_daemon: Start,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def no_watches(self: InotifyFD, path: bytes, *args: object) -> object:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(InotifyFD, "add_callback", no_watches)
    daemon = start_daemon(RootSettings(path=root, watch="native"))
    assert daemon.daemon.roots[str(root)].mode == "polling"
    assert any("fs.inotify.max_user_watches" in r.getMessage() for r in caplog.records)
    daemon.wait_asset(write_plain_png(root / "seen.png"))


def test_watch_limit_on_a_new_subfolder_switches_to_polling(
    root: Path,
    start_daemon: Start,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    daemon = start_daemon(RootSettings(path=root, watch="native"))
    original = InotifyFD.add_callback

    def limited(self: InotifyFD, path: bytes, *args: object) -> object:
        if path.endswith(b"deep"):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")
        return original(self, path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(InotifyFD, "add_callback", limited)
    (root / "deep").mkdir()
    wait_for(lambda: daemon.daemon.roots[str(root)].mode == "polling", what="polling")
    assert any("max_user_watches" in r.getMessage() for r in caplog.records)
    daemon.wait_asset(write_plain_png(root / "deep" / "seen.png"))


def test_hand_scan_while_the_daemon_writes(root: Path, tmp_path: Path, start_daemon: Start) -> None:
    daemon = start_daemon(RootSettings(path=root, watch="native"))
    files: list[Path] = []

    def writer() -> None:
        for i in range(150):
            files.append(write_plain_png(root / f"batch{i // 50}" / f"{i}.png", color=(i, 0, 0)))  # type: ignore[arg-type]

    thread = threading.Thread(target=writer)
    thread.start()
    # a `provenance scan` by hand: its own catalog connection, same SQLite file
    hand = Catalog.open(daemon.daemon.settings.catalog_url)
    try:
        settings = Settings(state_dir=tmp_path / "state", roots=[RootSettings(path=root)])
        results = [scan(settings, hand, Actor("editor", "host1"), utcnow()) for _ in range(3)]
    finally:
        thread.join()
        hand.close()
    assert all(r.roots[0].online for r in results)
    for path in files:
        daemon.wait_asset(path)
    daemon.idle()
    consumer = daemon.daemon._consumer
    assert consumer is not None and consumer.errors == 0
    with daemon.catalog.read() as tx:
        assert sum(tx.count_by_status().values()) == 150


def test_scheduled_reconciliation_scans_again(root: Path, start_daemon: Start) -> None:
    daemon = start_daemon(RootSettings(path=root))
    scans = daemon.scans(str(root))
    jobs = daemon.daemon.jobs
    assert jobs is not None and set(jobs.jobs) == {"reconcile", "sweep", "report", "fixity"}
    write_plain_png(root / "unseen.png")
    jobs.run_soon("reconcile")  # as at 02:00 ([schedule] reconcile)
    wait_for(lambda: daemon.scans(str(root)) > scans, what="the scheduled scan")
    daemon.wait_asset(root / "unseen.png")


def test_scheduled_sweep_runs_on_the_consumer(
    root: Path, start_daemon: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="provenance")
    daemon = start_daemon(RootSettings(path=root))
    jobs = daemon.daemon.jobs
    assert jobs is not None
    jobs.run_soon("sweep")
    record = wait_for(
        lambda: next((r for r in caplog.records if "scheduled sweep" in r.getMessage()), None),
        what="the sweep",
    )
    assert record.threadName == "provenance-consumer"


def test_idle_daemon_gives_memory_back(
    root: Path, start_daemon: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance.watch import consumer

    released: list[object] = []
    monkeypatch.setattr(consumer, "release_memory", released.append)
    daemon = start_daemon(RootSettings(path=root))
    wait_for(lambda: released, what="memory released after the start-up scan")
    assert released == [daemon.catalog]
