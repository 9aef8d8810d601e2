"""The scheduler: named cron jobs, persistence across restarts, one runner per fleet."""

from __future__ import annotations

import pickle
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provenance.catalog import Catalog
from provenance.catalog.locks import fleet_lock
from provenance.config import Settings
from provenance.daemon.scheduler import JOBSTORE_FILE, Scheduler, register_report, register_sweep

NEVER = "0 0 1 1 *"  # once a year: a job that only runs when a test makes it due


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.02)


def set_stored_next_run(state: Path, job_id: str, when: datetime) -> None:
    """Edit the job store on disk, as a daemon stopped long ago would have left it."""
    with sqlite3.connect(state / JOBSTORE_FILE) as conn:
        (blob,) = conn.execute(
            "SELECT job_state FROM apscheduler_jobs WHERE id = ?", (job_id,)
        ).fetchone()
        job_state = pickle.loads(blob)
        job_state["next_run_time"] = when
        conn.execute(
            "UPDATE apscheduler_jobs SET job_state = ?, next_run_time = ? WHERE id = ?",
            (pickle.dumps(job_state), when.timestamp(), job_id),
        )


@pytest.fixture
def schedulers() -> Iterator[list[Scheduler]]:
    started: list[Scheduler] = []
    yield started
    for scheduler in started:
        scheduler.shutdown()


def test_a_registered_job_runs_and_a_failing_job_does_not_stop_the_scheduler(
    tmp_path: Path, schedulers: list[Scheduler], caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[str] = []

    def boom() -> None:
        runs.append("boom")
        raise RuntimeError("disk on fire")

    scheduler = Scheduler(tmp_path / "state")
    scheduler.register("boom", NEVER, boom)
    scheduler.register("report", NEVER, lambda: runs.append("report"))
    scheduler.start()
    schedulers.append(scheduler)
    scheduler.run_soon("boom")
    wait_for(lambda: "boom" in runs)
    scheduler.run_soon("report")
    wait_for(lambda: "report" in runs)
    assert "job boom failed" in caplog.text
    assert "disk on fire" in caplog.text


def test_bad_cron_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Wrong number of fields"):
        Scheduler(tmp_path / "state").register("x", "hourly", lambda: None)


def test_jobs_survive_a_restart_and_missed_runs_are_coalesced(
    tmp_path: Path, schedulers: list[Scheduler]
) -> None:
    state = tmp_path / "state"
    first = Scheduler(state)
    first.register("sweep", NEVER, lambda: None)
    first.start(paused=True)
    first.shutdown()
    # the daemon was down for three years: three yearly runs were missed
    set_stored_next_run(state, "sweep", datetime.now(UTC) - timedelta(days=3 * 365 + 1))

    runs: list[datetime] = []
    second = Scheduler(state)
    second.register("sweep", NEVER, lambda: runs.append(datetime.now(UTC)))
    second.start()
    schedulers.append(second)
    wait_for(lambda: len(runs) >= 1)
    wait_for(
        lambda: (second.next_run("sweep") or datetime.min.replace(tzinfo=UTC)) > datetime.now(UTC)
    )
    assert len(runs) == 1


def test_changed_cron_replaces_the_stored_job(tmp_path: Path, schedulers: list[Scheduler]) -> None:
    state = tmp_path / "state"
    first = Scheduler(state, timezone="UTC")
    first.register("sweep", NEVER, lambda: None)
    first.start(paused=True)
    first.shutdown()
    second = Scheduler(state, timezone="UTC")
    second.register("sweep", "30 4 * * *", lambda: None)
    second.start(paused=True)
    schedulers.append(second)
    next_run = second.next_run("sweep")
    assert next_run is not None
    assert (next_run.hour, next_run.minute) == (4, 30)


def test_fleet_wide_job_runs_on_one_node_only(
    catalog: Catalog, tmp_path: Path, schedulers: list[Scheduler]
) -> None:
    """Two daemons on one catalog (each its own state dir): both fire, one runs the body."""
    fired: list[str] = []
    ran: list[str] = []
    lock = threading.Lock()
    both_fired = threading.Event()
    catalog_state = tmp_path / "shared-state"  # SQLite leg: the daemons share one machine

    def body_for(node: str) -> Callable[[], None]:
        def body() -> None:
            with lock:
                ran.append(node)
            both_fired.wait(10)  # hold the fleet lock until the other node has tried

        return body

    def locked(node: str) -> Callable[[str], AbstractContextManager[bool]]:
        @contextmanager
        def factory(name: str) -> Iterator[bool]:
            with fleet_lock(catalog, name, catalog_state) as held:
                with lock:
                    fired.append(node)
                    if len(fired) == 2:
                        both_fired.set()
                yield held

        return factory

    for node in ("node1", "node2"):
        scheduler = Scheduler(tmp_path / node)
        scheduler.register("sweep", NEVER, body_for(node), lock=locked(node))
        scheduler.start()
        schedulers.append(scheduler)
    for scheduler in schedulers:
        scheduler.run_soon("sweep")
    wait_for(lambda: both_fired.is_set())
    for scheduler in list(schedulers):
        scheduler.shutdown()
    assert sorted(fired) == ["node1", "node2"]
    assert len(ran) == 1


def test_fleet_lock_is_released_after_the_job(catalog: Catalog, tmp_path: Path) -> None:
    with fleet_lock(catalog, "report", tmp_path) as first:
        assert first
        with fleet_lock(catalog, "report", tmp_path) as second:
            assert not second
    with fleet_lock(catalog, "report", tmp_path) as again:
        assert again


def test_scheduled_sweep_runs_the_sweep(
    catalog: Catalog, tmp_path: Path, schedulers: list[Scheduler], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="provenance")
    settings = Settings(state_dir=tmp_path / "state")
    scheduler = Scheduler(tmp_path / "state")
    register_sweep(scheduler, settings, catalog)
    assert "sweep" in scheduler.jobs
    scheduler.start()
    schedulers.append(scheduler)
    scheduler.run_soon("sweep")
    wait_for(lambda: "scheduled sweep" in caplog.text)


def test_scheduled_report_writes_the_weekly_files(
    catalog: Catalog, tmp_path: Path, schedulers: list[Scheduler]
) -> None:
    settings = Settings(state_dir=tmp_path / "state")
    scheduler = Scheduler(tmp_path / "state")
    register_report(scheduler, settings, catalog)
    assert scheduler.jobs["report"].cron == "0 7 * * mon"
    scheduler.start()
    schedulers.append(scheduler)
    scheduler.run_soon("report")
    reports = tmp_path / "state" / "reports"
    wait_for(lambda: len(list(reports.glob("provenance-report-*"))) == 2)
    assert sorted(p.suffix for p in reports.iterdir()) == [".html", ".json"]


def test_a_failing_report_job_is_logged_and_the_scheduler_goes_on(
    sqlite_catalog: Catalog,
    tmp_path: Path,
    schedulers: list[Scheduler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings = Settings.model_validate(
        {"state_dir": str(tmp_path / "state"), "report": {"out_dir": str(blocker / "reports")}}
    )
    runs: list[str] = []
    scheduler = Scheduler(tmp_path / "state")
    register_report(scheduler, settings, sqlite_catalog)
    scheduler.register("after", NEVER, lambda: runs.append("after"))
    scheduler.start()
    schedulers.append(scheduler)
    scheduler.run_soon("report")
    wait_for(lambda: "weekly report failed (next run retries)" in caplog.text)
    scheduler.run_soon("after")
    wait_for(lambda: runs == ["after"])
    assert scheduler.next_run("report") is not None


def test_scheduled_anchor_writes_the_audit_head_hourly(
    catalog: Catalog, tmp_path: Path, schedulers: list[Scheduler]
) -> None:
    from provenance.audit import Actor
    from provenance.catalog import utcnow
    from provenance.daemon.scheduler import register_anchor

    with catalog.write() as tx:
        tx.record(Actor("tester", "host1"), "indexed", utcnow(), path="/prod/a.png")
    anchors = tmp_path / "state" / "audit-anchors"
    before = len(anchors.read_text().splitlines())
    scheduler = Scheduler(tmp_path / "state")
    register_anchor(scheduler, Settings(state_dir=tmp_path / "state"), catalog)
    assert scheduler.jobs["anchor"].cron == "30 * * * *"
    scheduler.start()
    schedulers.append(scheduler)
    scheduler.run_soon("anchor")
    wait_for(lambda: len(anchors.read_text().splitlines()) == before + 1)
    assert (
        anchors.read_text()
        .splitlines()[-1]
        .endswith(" events=1 head=" + _head(catalog) + " why=hourly")
    )


def _head(catalog: Catalog) -> str:
    with catalog.read() as tx:
        return tx.chain_head()[1]
