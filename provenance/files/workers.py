"""The reader's worker processes: how they start, how each is set up, how many there are."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

from provenance.files.pool import expect_within

#: How much lower the workers' CPU priority is than the catalog writer's (``nice``).
WORKER_NICENESS = 10


def worker_setup(memory_mb: int = 0) -> None:
    """Set up a worker process: it ignores Ctrl-C, ends on SIGTERM, ends with its parent,
    yields the CPU to the catalog writer, may take ``memory_mb`` MiB more than it started
    with, and is ended by SIGALRM (a file's time budget, ``arm_budget``).

    The writer (the parent) is a scan's critical path: its work is sequential, and the
    workers used to finish reading 0.2 s before it finished writing, having taken a third of
    its core meanwhile. At a lower priority they get what the writer leaves (they still fill
    both cores), and a 20,000-file scan ends about 0.06 s sooner. On a busy editorial
    server, other programs also come before them.

    Ctrl-C reaches the whole process group: the parent stops the scan (or the daemon) and
    shuts the workers down; a worker interrupted mid-task would only print a traceback. A
    forked worker inherits the daemon's SIGTERM and SIGHUP handlers, which only set the
    daemon's flags: it takes the default action again. A parent killed outright (SIGKILL,
    the OOM killer) cannot shut its workers down, and a worker waiting for work would wait
    forever: on Linux it asks for SIGTERM when its parent dies.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    if memory_mb > 0:
        limit_memory(memory_mb)
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def limit_memory(memory_mb: int) -> None:
    """Let this process take at most ``memory_mb`` MiB of data memory more than it holds now.

    RLIMIT_DATA counts the heap and private writable mappings (what parsers allocate), not
    a file mapped read-only: a big file is still mapped whole. An allocation past the
    limit fails (MemoryError in Python) instead of the OOM killer taking the process, or
    the machine. A forked worker holds its parent's memory too, hence "more than now".
    """
    import resource

    limit = _data_bytes() + memory_mb * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def _data_bytes() -> int:
    """The data memory this process holds (VmData), 0 where that cannot be told."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def arm_budget(seconds: float) -> None:
    """End this worker ``seconds`` from now unless ``disarm_budget`` comes first.

    The kernel delivers SIGALRM, whose default action ends the process whatever it is
    doing, even inside a C parser that holds the GIL; the reader replaces the worker and
    skips the file (reader.py). A worker started as a new interpreter tells its pool the
    budget too, which gives up on it past that and a grace (pool.py): in uninterruptible
    sleep (a hung network share) no signal reaches it.
    """
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    # the caller keeps the deadline too: a worker stuck in the kernel does not get its alarm
    expect_within(seconds)


def disarm_budget() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)


def start_method() -> str:
    """Return how worker processes start.

    ``fork`` while this process has no other thread and has not loaded the C2PA library (a
    one-shot scan): the workers start at once with every module already loaded. Otherwise
    ``spawn``, new interpreters (pool.py): forking beside running threads (the daemon's
    observers and scheduler, a progress bar) is not safe, and the C2PA library's native state
    does not survive a fork (every manifest then reads as "Context is not valid").
    """
    import multiprocessing  # not in a worker, which imports this module

    if (
        threading.active_count() == 1
        and "c2pa" not in sys.modules
        and "fork" in multiprocessing.get_all_start_methods()
    ):
        return "fork"
    return "spawn"


def default_workers() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
