"""Worker processes started as new interpreters: on demand, up to a bound, retired when idle."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from provenance.files.pool import WorkerPool
from provenance.files.reader import FileFacts, FileReader, ReadOptions
from provenance.files.workers import arm_budget, worker_setup
from tests.media import write_a1111_png
from tests.processes import need_proc, running
from tests.watch.conftest import wait_for


@pytest.fixture
def pools() -> Iterator[list[WorkerPool]]:
    made: list[WorkerPool] = []
    yield made
    for pool in made:
        pool.shutdown(wait=True, cancel_futures=True)


def _pool(pools: list[WorkerPool], workers: int, idle_after: float | None = None) -> WorkerPool:
    pool = WorkerPool(workers, worker_setup, (256,), idle_after)
    pools.append(pool)
    return pool


def _wait_for_file(gate: str) -> int:
    while not os.path.exists(gate):
        time.sleep(0.01)
    return os.getpid()


def _past_its_budget() -> None:
    arm_budget(0.2)
    time.sleep(30)


def _stuck(note: str) -> None:
    # as a worker in uninterruptible sleep (a read from a hung network share): it armed its
    # budget, then neither answers nor is ended by the alarm (a stopped process, like one in
    # D state, acts on no signal but SIGKILL)
    arm_budget(0.2)
    Path(note).write_text(str(os.getpid()))
    os.kill(os.getpid(), signal.SIGSTOP)


def _allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def test_one_worker_starts_for_a_task_and_more_only_while_tasks_wait(
    tmp_path: Path, pools: list[WorkerPool]
) -> None:
    need_proc()
    pool = _pool(pools, workers=3)
    assert pool.pids() == []
    first = pool.submit(os.getpid).result(timeout=30)
    assert pool.pids() == [first] and first != os.getpid()
    assert pool.submit(os.getpid).result(timeout=30) == first  # the same one, free again
    gate = tmp_path / "gate"
    held = [pool.submit(_wait_for_file, str(gate)) for _ in range(5)]
    wait_for(lambda: len(pool.pids()) == 3, 30, "a worker per waiting task, up to 3")
    time.sleep(0.3)
    assert len(pool.pids()) == 3
    gate.touch()
    assert {future.result(timeout=30) for future in held} == set(pool.pids())


def test_an_idle_worker_ends_and_the_next_task_starts_a_new_one(
    pools: list[WorkerPool],
) -> None:
    need_proc()
    pool = _pool(pools, workers=2, idle_after=0.5)
    first = pool.submit(os.getpid).result(timeout=30)
    assert running(first)
    wait_for(lambda: not pool.pids() and not running(first), 30, "the idle worker to end")
    second = pool.submit(os.getpid).result(timeout=30)
    assert second != first and pool.pids() == [second]


def test_a_worker_that_dies_fails_its_task_and_is_replaced(pools: list[WorkerPool]) -> None:
    pool = _pool(pools, workers=2)
    with pytest.raises(BrokenProcessPool, match="exit status 3"):
        pool.submit(os._exit, 3).result(timeout=30)
    assert pool.submit(os.getpid).result(timeout=30) != os.getpid()
    with pytest.raises(ValueError, match="invalid literal"):  # a task's error is its own
        pool.submit(int, "x").result(timeout=30)


def test_a_worker_keeps_the_time_and_memory_budgets(pools: list[WorkerPool]) -> None:
    # the readers' budgets hold in a worker started as a new interpreter: the kernel ends it
    # past its time, an allocation past its memory fails
    pool = _pool(pools, workers=1)
    with pytest.raises(BrokenProcessPool, match="SIGALRM"):
        pool.submit(_past_its_budget).result(timeout=30)
    assert pool.submit(_allocate, 16).result(timeout=30) == 16 * 1024 * 1024
    with pytest.raises(MemoryError):
        pool.submit(_allocate, 1024).result(timeout=30)


def test_a_worker_that_stops_answering_fails_only_its_task_and_is_replaced(
    tmp_path: Path, pools: list[WorkerPool]
) -> None:
    need_proc()
    pool = WorkerPool(1, worker_setup, (256,), grace=0.5)
    pools.append(pool)
    note = tmp_path / "stuck-pid"
    stuck = pool.submit(_stuck, str(note))
    waiting = pool.submit(os.getpid)  # queued behind it, on the only worker
    with pytest.raises(BrokenProcessPool, match=r"did not answer within its 0.2 s budget"):
        stuck.result(timeout=60)
    pid = int(note.read_text())
    replacement = waiting.result(timeout=60)  # a new worker took what waited
    assert replacement not in (pid, os.getpid())
    assert pool.pids() == [replacement]
    wait_for(lambda: not running(pid))  # killed once given up on, and reaped


def test_shutdown_cancels_what_waits_and_ends_every_worker(
    tmp_path: Path, pools: list[WorkerPool]
) -> None:
    need_proc()
    pool = _pool(pools, workers=2)
    gate = tmp_path / "gate"
    held = [pool.submit(_wait_for_file, str(gate)) for _ in range(2)]
    queued = pool.submit(os.getpid)
    wait_for(lambda: all(future.running() for future in held), 30, "both workers to run")
    pids = pool.pids()
    threading.Timer(0.3, gate.touch).start()
    pool.shutdown(wait=True, cancel_futures=True)
    assert queued.cancelled()
    assert {future.result() for future in held} == set(pids)
    assert not any(map(running, pids)) and pool.pids() == []
    with pytest.raises(RuntimeError):
        pool.submit(os.getpid)


def test_a_reader_started_as_a_new_interpreter_loads_no_catalog_settings_or_cli(
    tmp_path: Path,
) -> None:
    # what a daemon's reader holds: the detectors and the hasher, nothing of the daemon
    path = str(write_a1111_png(tmp_path / "ai.png"))
    with FileReader(ReadOptions(), workers=1, idle_after=30) as reader:
        (result,) = reader.read_many([path])
        # asked through a builtin: a function of this module would import the tests' own
        loaded = set(reader.submit(eval, "list(__import__('sys').modules)").result(timeout=30))
    assert isinstance(result, FileFacts) and result.verdict.ai_class == "ai"
    assert "provenance.detect" in loaded
    heavy = {"sqlalchemy", "sqlmodel", "pydantic", "click", "watchdog", "apscheduler"}
    heavy |= {"multiprocessing", "subprocess"}  # what only the caller's side of a pool needs
    ours = {"provenance.catalog", "provenance.config", "provenance.cli", "provenance.daemon"}
    assert not loaded & (heavy | ours)
