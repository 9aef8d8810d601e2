"""The daemon heals: dead watchers restart, scheduled jobs catch up, hand scans run alongside.

(A real inotify overflow and the real watch limit need a process of their own: test_daemon.)
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from provenance.audit import Actor
from provenance.catalog import Catalog, utcnow
from provenance.config import RootSettings, Settings
from provenance.ingest.scan import scan
from tests.media import write_plain_png
from tests.watch.conftest import Running, Start, wait_for


def _observer(daemon: Running, root: Path) -> object | None:
    """The root's observer now (None for the moment a restart replaces it)."""
    watcher = daemon.daemon.roots[str(root)].watcher
    return watcher.observer if watcher is not None else None


@pytest.mark.parametrize("mode", ["native", "polling"])
def test_stopped_emitter_is_restarted_and_its_root_rescanned(
    root: Path, start_daemon: Start, mode: str
) -> None:
    # (a poller also stops itself when its share vanishes)
    daemon = start_daemon(RootSettings(path=root, watch=mode))
    scans = daemon.scans(str(root))
    old = _observer(daemon, root)
    for emitter in list(old.emitters):  # type: ignore[attr-defined]
        emitter.stop()
    wait_for(lambda: _observer(daemon, root) not in (old, None), what="a new observer")
    wait_for(lambda: daemon.scans(str(root)) > scans, what="a rescan")
    daemon.wait_asset(write_plain_png(root / "after.png"))


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
    assert jobs is not None and set(jobs.jobs) == {
        "reconcile",
        "sweep",
        "report",
        "fixity",
        "anchor",
        "thumbnails",
    }
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
