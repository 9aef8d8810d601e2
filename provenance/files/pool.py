"""Worker processes started as new interpreters, on demand, and retired when idle.

The reader's pool where a worker cannot be forked: beside threads (the daemon's observers,
consumer and scheduler; a scan's progress bar) forking is not safe, and the C2PA library's
native state does not survive it (workers.start_method). Each worker is a new ``python``
(``subprocess``: an exec, no copy of the caller), talking to the caller over a pipe of its
own; it imports what its tasks need and nothing else: no catalog, no settings, no CLI.

Unlike multiprocessing's ``forkserver`` (a server process and a resource tracker that then
live as long as the caller), nothing of it is left once its workers are gone: a daemon that
has nothing to read is one process. The first task starts one worker; more start, up to
``max_workers``, while tasks wait and none is free. With ``idle_after`` a worker that has had
nothing to do for that long ends, and the next task starts a new one (about a quarter of a
second: an interpreter and the detectors' imports).

A worker that dies (past a file's time budget the kernel ends it; the OOM killer; a SIGBUS
from a mapped file cut short) fails the task it ran with ``BrokenProcessPool``, as
``ProcessPoolExecutor`` does, and the next task that needs a worker starts a new one: the
reader reads that task's files again, one at a time (reader.py).

A worker in uninterruptible sleep (a read from a hung network share) cannot be ended by its
own alarm, nor by any signal until the kernel lets go of it. So the caller keeps a deadline
too: a worker announces each file's time budget as it arms it (``expect_within``), and a
worker that has not answered by then plus ``grace`` is given up on: its task fails with
``BrokenProcessPool``, it is sent SIGKILL (it ends whenever the kernel lets it) and left
behind, and a new worker takes the tasks that wait.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the caller's side imports them when it needs them, a worker never
    import subprocess

log = logging.getLogger(__name__)

#: Bytes of a message's length, before the pickled message.
_HEADER = struct.Struct("!Q")
#: What a worker runs (after the folder holding the package is put on its path): it takes
#: its pipes' ends, then its set-up, then tasks.
_WORKER = "from provenance.files.pool import serve; serve(int(sys.argv[1]), int(sys.argv[2]))"
#: Seconds past a budget a worker announced before the caller gives up on it (its own alarm
#: ends it at the budget; one that has not answered by then is stuck in the kernel).
GRACE_SECONDS = 10.0
#: In a worker: where it answers the caller (None in any other process).
_ANSWERS: int | None = None


# --- in the worker --------------------------------------------------------------------------


def serve(inbox: int, outbox: int) -> None:
    """Run a worker: the caller's ``sys.path`` and set-up, then each task sent, each answered
    with its result or exception, until the caller closes the pipe (the worker retires)."""
    path = _receive(inbox)
    if path is None:
        return
    sys.path[:] = path
    setup = _receive(inbox)
    if setup is None:
        return
    initializer, initargs = setup
    if initializer is not None:
        initializer(*initargs)
    global _ANSWERS
    _ANSWERS = outbox
    while (task := _read_message(inbox)) is not None:
        try:
            function, args = pickle.loads(task)
            reply: tuple[bool, Any] = (True, function(*args))
        except BaseException as exc:  # the caller's future gets it, as in a process pool
            reply = (False, exc)
        _send(outbox, reply)


def expect_within(seconds: float) -> None:
    """Tell the caller this worker answers within ``seconds`` (plus the pool's grace) from
    now, or is stuck: a worker's part of the caller's deadline (no-op in any other process,
    a forked worker's too)."""
    if _ANSWERS is not None:
        _send(_ANSWERS, (None, seconds))


def _send(fd: int, message: object) -> None:
    try:
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # a result or an exception that does not pickle
        data = pickle.dumps((False, RuntimeError(f"cannot send the result back: {exc!r}")))
    _send_bytes(fd, data)


def _receive(fd: int) -> Any:
    """The next message on ``fd``; None at its end (the other side closed it, or died)."""
    data = _read_message(fd)
    return None if data is None else pickle.loads(data)


def _read_message(fd: int) -> bytes | None:
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    return _read_exactly(fd, length)


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


# --- in the caller --------------------------------------------------------------------------


@dataclass
class _Task:
    future: Future[Any]
    function: Callable[..., Any]
    args: tuple[Any, ...]


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    #: the caller's ends: tasks go in, replies come out
    inbox: int
    outbox: int
    closed: bool = field(default=False)

    def abandon(self) -> bool:
        """Kill it (SIGKILL ends it whenever the kernel lets go of it) and close its pipe
        without waiting; whether it has ended (else its caller reaps it later)."""
        import subprocess

        self.process.kill()
        if not self.closed:
            self.closed = True
            os.close(self.inbox)
            os.close(self.outbox)
        try:
            self.process.wait(ABANDON_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            return False
        return True

    def close(self) -> int | None:
        """Close its pipe (it ends when it sees that) and wait for it; its exit status."""
        if not self.closed:
            self.closed = True
            os.close(self.inbox)
            os.close(self.outbox)
        import subprocess

        try:
            return self.process.wait(RETIRE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


#: Seconds a worker told to end (its pipe closed) has to do so before it is killed.
RETIRE_SECONDS = 10.0
#: Seconds a worker given up on is waited for once killed, before it is left behind.
ABANDON_WAIT_SECONDS = 1.0


class WorkerPool(Executor):
    """Up to ``max_workers`` worker processes, started as tasks come and, with ``idle_after``,
    ended after that many seconds with nothing to do. One thread of the caller looks after
    each worker: it starts it, sends it a task at a time and waits for the reply (the thread
    is the worker's parent, so a worker asking for a signal when its parent ends gets it
    when the thread ends: it is done by then)."""

    def __init__(
        self,
        max_workers: int,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
        idle_after: float | None = None,
        grace: float = GRACE_SECONDS,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self.idle_after = idle_after
        #: Seconds past an announced budget before a worker is given up on.
        self.grace = grace
        self._setup = (initializer, initargs)
        self._tasks: deque[_Task] = deque()
        self._changed = threading.Condition()
        self._threads: set[threading.Thread] = set()
        self._workers: dict[threading.Thread, _Worker] = {}
        #: workers starting or waiting for a task (the others run one)
        self._free = 0
        self._closing = False
        #: workers given up on that had not ended yet (reaped as the pool goes on)
        self._left_behind: list[subprocess.Popen[bytes]] = []

    # --- what callers see ---------------------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if kwargs:
            raise TypeError("WorkerPool.submit takes positional arguments only")
        future: Future[Any] = Future()
        with self._changed:
            self._reap()
            if self._closing:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._tasks.append(_Task(future, fn, args))
            if len(self._tasks) > self._free and len(self._threads) < self.max_workers:
                self._start_worker()
            else:
                self._changed.notify()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No more tasks; the queued ones still run unless ``cancel_futures``; each worker
        ends once there is nothing left for it (``wait``: this returns when they have)."""
        with self._changed:
            self._closing = True
            if cancel_futures:
                while self._tasks:
                    self._tasks.popleft().future.cancel()
            self._changed.notify_all()
            threads = list(self._threads)
        if wait:
            for thread in threads:
                thread.join()
        with self._changed:
            self._reap()

    def _reap(self) -> None:
        # with the lock held: collect the workers given up on that have ended since
        self._left_behind = [p for p in self._left_behind if p.poll() is None]

    def pids(self) -> list[int]:
        """The process ids of the workers now running (none when every one has retired)."""
        with self._changed:
            return [worker.process.pid for worker in self._workers.values()]

    # --- a worker's thread --------------------------------------------------------------

    def _start_worker(self) -> None:
        # with the lock held
        thread = threading.Thread(target=self._look_after, name="provenance-reader", daemon=True)
        self._threads.add(thread)
        self._free += 1
        thread.start()

    def _look_after(self) -> None:
        me = threading.current_thread()
        try:
            worker = self._spawn()
        except OSError as exc:
            self._not_started(me, exc)
            return
        with self._changed:
            self._workers[me] = worker
        stuck = False
        try:
            stuck = self._serve(worker)
        finally:
            ended = worker.abandon() if stuck else True
            with self._changed:
                self._workers.pop(me, None)
                self._threads.discard(me)
                if not ended:
                    self._left_behind.append(worker.process)
                # a worker for the tasks that wait: the one given up on may never come back
                waiting = len(self._tasks) > self._free and not self._closing
                if stuck and waiting and len(self._threads) < self.max_workers:
                    self._start_worker()
            if not stuck:
                worker.close()

    def _spawn(self) -> _Worker:
        """Start a worker, give it this ``sys.path`` and its set-up."""
        import subprocess

        import provenance

        package_folder = os.path.dirname(os.path.dirname(os.path.abspath(provenance.__file__)))
        to_worker, inbox = os.pipe()
        outbox, from_worker = os.pipe()
        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    f"import sys; sys.path.insert(0, {package_folder!r}); {_WORKER}",
                    str(to_worker),
                    str(from_worker),
                ],
                pass_fds=(to_worker, from_worker),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            os.close(inbox)
            os.close(outbox)
            raise
        finally:
            os.close(to_worker)
            os.close(from_worker)
        worker = _Worker(process, inbox, outbox)
        try:
            _send_bytes(inbox, pickle.dumps(sys.path))
            _send_bytes(inbox, pickle.dumps(self._setup, pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass  # it died already: the first task says so
        return worker

    def _not_started(self, me: threading.Thread, exc: OSError) -> None:
        log.warning("cannot start a reader process: %s", exc)
        with self._changed:
            self._threads.discard(me)
            self._free -= 1
            if self._threads:
                return  # the others take the tasks
            failed = list(self._tasks)
            self._tasks.clear()
        for task in failed:
            if task.future.set_running_or_notify_cancel():
                task.future.set_exception(_broken(f"cannot start a worker process: {exc}"))

    def _serve(self, worker: _Worker) -> bool:
        """Run tasks in ``worker`` until it is idle too long, the pool shuts down, or it dies;
        True when it stopped answering (past the budget it announced, plus the grace)."""
        while (task := self._next_task()) is not None:
            if not task.future.set_running_or_notify_cancel():
                self._done()
                continue
            try:
                message = pickle.dumps((task.function, task.args), pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # the task cannot be sent: it is the caller's error
                task.future.set_exception(exc)
                self._done()
                continue
            try:
                _send_bytes(worker.inbox, message)
                reply = self._reply(worker)
            except OSError:
                reply = None
            except _StuckError as stuck:
                task.future.set_exception(
                    _broken(
                        f"a worker process did not answer within its {stuck.budget:.3g} s "
                        f"budget and {self.grace:.3g} s more (stuck in the kernel?); left behind"
                    )
                )
                return True
            if reply is None:
                status = worker.close()
                task.future.set_exception(
                    _broken(f"a worker process ended ({_ended(status)}) during a task")
                )
                return False
            done, value = reply
            if done:
                task.future.set_result(value)
            else:
                task.future.set_exception(value)
            self._done()
        return False

    def _reply(self, worker: _Worker) -> tuple[bool, Any] | None:
        """The worker's reply to its task (None: it died), heeding the budgets it announces
        meanwhile; _StuckError when it is past one and the grace."""
        import select

        poller = select.poll()
        poller.register(worker.outbox, select.POLLIN)
        budget: float | None = None
        deadline: float | None = None
        while True:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not poller.poll(left * 1000):
                    raise _StuckError(budget or 0.0)
            reply = _receive(worker.outbox)
            if reply is None or reply[0] is not None:
                return reply
            budget = reply[1]
            deadline = time.monotonic() + budget + self.grace

    def _next_task(self) -> _Task | None:
        """The next task (this worker counts as free meanwhile); None: the worker retires."""
        with self._changed:
            deadline = None if self.idle_after is None else time.monotonic() + self.idle_after
            while not self._tasks:
                left = None if deadline is None else deadline - time.monotonic()
                if self._closing or (left is not None and left <= 0):
                    self._free -= 1
                    return None
                self._changed.wait(left)
            self._free -= 1
            return self._tasks.popleft()

    def _done(self) -> None:
        with self._changed:
            self._free += 1


class _StuckError(Exception):
    """A worker past the budget it announced and the grace: it does not answer."""

    def __init__(self, budget: float) -> None:
        super().__init__(budget)
        self.budget = budget


def _send_bytes(fd: int, data: bytes) -> None:
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _broken(reason: str) -> Exception:
    """What a task whose worker died raises: ``ProcessPoolExecutor``'s error for it."""
    from concurrent.futures.process import BrokenProcessPool

    return BrokenProcessPool(reason)


def _ended(status: int | None) -> str:
    import signal

    if status is not None and status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"
