"""Observers on real folders: events reach the queue, death shows, a real inotify queue overflow
becomes a rescan, the real inotify watch limit is seen."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from provenance.watch.changes import Change, ChangeQueue, QueueingHandler
from provenance.watch.observers import RootWatcher, watch_limit_reached
from tests.processes import inotify_watches_limited_to
from tests.watch.conftest import wait_for

REPO = Path(__file__).resolve().parents[2]


def _changes(changes: ChangeQueue) -> list[Change]:
    found = []
    while True:
        try:
            item = changes.get_nowait()
        except queue.Empty:
            return found
        assert isinstance(item, Change)
        found.append(item)


@pytest.fixture
def changes() -> ChangeQueue:
    return queue.SimpleQueue()


@pytest.mark.parametrize("mode", ["native", "polling"])
def test_new_file_reaches_the_queue(tmp_path: Path, changes: ChangeQueue, mode: str) -> None:
    watcher = RootWatcher(
        str(tmp_path),
        mode,
        QueueingHandler(str(tmp_path), changes),  # type: ignore[arg-type]
        poll_interval=0.05,
    )
    watcher.start()
    try:
        (tmp_path / "a.png").write_bytes(b"data")
        seen: list[Change] = []
        wanted = "closed" if mode == "native" else "created"
        wait_for(
            lambda: (
                seen.extend(_changes(changes))
                or any(c.kind == wanted and c.path == str(tmp_path / "a.png") for c in seen)
            ),
            what=wanted,
        )
        assert all(c.root == str(tmp_path) for c in seen)
    finally:
        watcher.stop()


def test_file_moved_in_from_outside_is_a_move_without_source(
    tmp_path: Path, changes: ChangeQueue
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside.png").write_bytes(b"x")
    watcher = RootWatcher(str(root), "native", QueueingHandler(str(root), changes))
    watcher.start()
    try:
        (tmp_path / "outside.png").rename(root / "in.png")
        seen: list[Change] = []
        wait_for(lambda: seen.extend(_changes(changes)) or seen, what="the move")
        assert Change(str(root), "moved", "", str(root / "in.png")) in seen
    finally:
        watcher.stop()


def test_folder_rename_is_one_move_and_synthetic_file_moves(
    tmp_path: Path, changes: ChangeQueue
) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "f.png").write_bytes(b"x")
    watcher = RootWatcher(str(tmp_path), "native", QueueingHandler(str(tmp_path), changes))
    watcher.start()
    try:
        (tmp_path / "old").rename(tmp_path / "new")
        seen: list[Change] = []
        wait_for(
            lambda: seen.extend(_changes(changes)) or any(c.synthetic for c in seen), what="moves"
        )
        folder = [c for c in seen if c.kind == "moved" and c.is_dir and not c.synthetic]
        assert folder == [
            Change(str(tmp_path), "moved", str(tmp_path / "old"), str(tmp_path / "new"), True)
        ]
    finally:
        watcher.stop()


@pytest.mark.parametrize("mode", ["native", "polling"])
def test_a_stopped_emitter_shows_and_restart_heals_it(
    tmp_path: Path, changes: ChangeQueue, mode: str
) -> None:
    watcher = RootWatcher(
        str(tmp_path),
        mode,
        QueueingHandler(str(tmp_path), changes),  # type: ignore[arg-type]
        poll_interval=0.05,
    )
    watcher.start()
    try:
        assert watcher.is_alive()
        assert watcher.observer is not None
        for emitter in list(watcher.observer.emitters):
            emitter.stop()
        wait_for(lambda: not watcher.is_alive(), what="the watcher to look dead")
        watcher.restart()
        assert watcher.is_alive()
        (tmp_path / "after.png").write_bytes(b"x")
        seen: list[Change] = []
        wait_for(
            lambda: (
                seen.extend(_changes(changes)) or any(c.path.endswith("after.png") for c in seen)
            )
        )
    finally:
        watcher.stop()


def test_a_folder_moved_within_the_root_is_still_heard_without_warnings(
    tmp_path: Path, changes: ChangeQueue, recwarn: pytest.WarningsRecorder
) -> None:
    # a folder moved within the root keeps its inotify watch (same inode) under its new path
    (tmp_path / "seq" / "sub").mkdir(parents=True)
    watcher = RootWatcher(str(tmp_path), "native", QueueingHandler(str(tmp_path), changes))
    watcher.start()
    seen: list[Change] = []

    def wait_change(path: Path, dest: Path | None = None) -> None:
        # a file written at once in a new folder may come as a synthetic "created" only
        wait_for(
            lambda: (
                seen.extend(_changes(changes))
                or any(c.path == str(path) and c.dest == str(dest or "") for c in seen)
            ),
            what=f"a change of {path}",
        )

    try:
        (tmp_path / "seq").rename(tmp_path / "seq2")
        wait_change(tmp_path / "seq", tmp_path / "seq2")
        (tmp_path / "seq2" / "sub" / "deeper").mkdir()
        (tmp_path / "seq2" / "sub" / "deeper" / "a.png").write_bytes(b"x")
        wait_change(tmp_path / "seq2" / "sub" / "deeper" / "a.png")
        (tmp_path / "seq2").rename(tmp_path / "seq")
        wait_change(tmp_path / "seq2", tmp_path / "seq")
        (tmp_path / "seq" / "sub" / "deeper" / "f.png").write_bytes(b"x")
        wait_change(tmp_path / "seq" / "sub" / "deeper" / "f.png")
    finally:
        watcher.stop()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


# --- in a process of their own: a real overflow, a real watch limit ---------------------------

WATCHING = """
import errno, queue, sys, threading
from provenance.watch.changes import QueueingHandler, Rescan
from provenance.watch.observers import RootWatcher, watch_limit_reached

root = sys.argv[1]
changes = queue.SimpleQueue()
watcher = RootWatcher(root, "native", QueueingHandler(root, changes))
try:
    watcher.start()
except OSError as exc:
    print("raised", errno.errorcode[exc.errno], threading.active_count(), flush=True)
    sys.exit(0)
print("watching", flush=True)

def report():
    while True:
        item = changes.get()
        if isinstance(item, Rescan):
            print("rescan", *item.roots, flush=True)

threading.Thread(target=report, daemon=True).start()
for line in sys.stdin:
    print("limit", watch_limit_reached(root), flush=True)
watcher.stop()
"""


class Watching:
    """A RootWatcher in a child process (``prefix`` may limit it), its output collected."""

    def __init__(self, root: Path, prefix: list[str] | None = None) -> None:
        self.process = subprocess.Popen(
            [*(prefix or []), sys.executable, "-c", WATCHING, str(root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def wait_line(self, start: str, timeout: float = 20.0) -> str:
        return str(
            wait_for(
                lambda: next((line for line in self.lines if line.startswith(start)), None),
                timeout,
                f"a line {start!r} (got {self.lines})",
            )
        )

    def ask_limit(self) -> str:
        assert self.process.stdin is not None
        self.lines = [line for line in self.lines if not line.startswith("limit")]
        self.process.stdin.write("limit\n")
        self.process.stdin.flush()
        return self.wait_line("limit")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self.reader.join(10)


def test_a_real_queue_overflow_asks_for_a_rescan(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    watching = Watching(root)
    try:
        watching.wait_line("watching")
        # stopped, the process reads nothing: the kernel queues 16384 events at most
        # (fs.inotify.max_queued_events), then drops the rest with IN_Q_OVERFLOW
        limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
        watching.process.send_signal(signal.SIGSTOP)
        try:
            for i in range(limit // 2 + 1000):  # a create and a close-write each
                (root / f"{i}.tmp").touch()
        finally:
            watching.process.send_signal(signal.SIGCONT)
        assert watching.wait_line("rescan") == f"rescan {root}"
    finally:
        watching.close()


def test_watch_limit_under_the_root_raises_and_leaves_no_thread(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a" / "b" / "c").mkdir(parents=True)
    watching = Watching(root, inotify_watches_limited_to(2))
    try:
        # watchdog >= 7.1.1 raises for a folder under the root too: no tree is half watched
        assert watching.wait_line("raised") == "raised ENOSPC 1"
    finally:
        watching.close()


def test_watch_limit_reached_by_a_new_folder_is_seen(tmp_path: Path) -> None:
    # the root and "a" are watched; one watch is left for the check itself
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    watching = Watching(root, inotify_watches_limited_to(3))
    try:
        watching.wait_line("watching")
        assert watching.ask_limit() == "limit False"
        (root / "new").mkdir()  # takes the last watch
        (root / "newer").mkdir()  # cannot be watched: watchdog only logs it
        wait_for(lambda: watching.ask_limit() == "limit True", what="the limit to show")
    finally:
        watching.close()


def test_watch_limit_is_not_reached_here(tmp_path: Path) -> None:
    assert not watch_limit_reached(str(tmp_path))
    assert not watch_limit_reached(str(tmp_path / "nope"))  # ENOENT is not the limit
