"""Observers on real folders: events reach the queue, death shows, overflow and the watch limit
are reported."""

from __future__ import annotations

import errno
import queue
from pathlib import Path

import pytest
from watchdog.observers.inotify_c import InotifyConstants, InotifyEvent, InotifyFD

from provenance.watch.changes import Change, ChangeQueue, QueueingHandler
from provenance.watch.observers import NativeObserver, RootWatcher
from tests.watch.conftest import wait_for


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


def test_queue_overflow_is_reported(tmp_path: Path, changes: ChangeQueue) -> None:
    troubles: list[tuple[str, str]] = []
    watcher = RootWatcher(
        str(tmp_path),
        "native",
        QueueingHandler(str(tmp_path), changes),
        on_trouble=lambda kind, detail: troubles.append((kind, detail)),
    )
    watcher.start()
    try:
        observer = watcher.observer
        assert isinstance(observer, NativeObserver)
        # what the kernel sends when its queue overflows: wd -1, IN_Q_OVERFLOW
        observer.inotify_fd.handle_event(InotifyEvent(-1, InotifyConstants.IN_Q_OVERFLOW, 0, b""))  # type: ignore[arg-type]
        assert troubles == [("overflow", str(tmp_path))]
        assert watcher.is_alive()
    finally:
        watcher.stop()


def _limit_at(monkeypatch: pytest.MonkeyPatch, name: bytes) -> None:
    original = InotifyFD.add_callback

    def add_callback(self: InotifyFD, path: bytes, *args: object) -> object:
        if path.endswith(name):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")
        return original(self, path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(InotifyFD, "add_callback", add_callback)


def test_watch_limit_on_a_subfolder_is_reported(
    tmp_path: Path, changes: ChangeQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shots" / "deep").mkdir(parents=True)
    _limit_at(monkeypatch, b"deep")
    troubles: list[tuple[str, str]] = []
    watcher = RootWatcher(
        str(tmp_path),
        "native",
        QueueingHandler(str(tmp_path), changes),
        on_trouble=lambda kind, detail: troubles.append((kind, detail)),
    )
    watcher.start()
    try:
        assert troubles == [("limit", str(tmp_path / "shots" / "deep"))]
    finally:
        watcher.stop()


def test_watch_limit_on_the_root_raises_and_leaves_no_thread(
    tmp_path: Path, changes: ChangeQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    _limit_at(monkeypatch, b"root")
    watcher = RootWatcher(str(root), "native", QueueingHandler(str(root), changes))
    with pytest.raises(OSError, match="watch limit") as raised:
        watcher.start()
    assert raised.value.errno == errno.ENOSPC
    assert not watcher.is_alive()


def test_a_folder_watched_again_under_a_new_path_gives_no_warning(
    tmp_path: Path, changes: ChangeQueue, recwarn: pytest.WarningsRecorder
) -> None:
    # after a folder moves within the root, its watch (same inode) is added again under the
    # new path; watchdog warned "Callback with id ... already exists" on the daemon's stderr
    (tmp_path / "seq" / "sub").mkdir(parents=True)
    watcher = RootWatcher(str(tmp_path), "native", QueueingHandler(str(tmp_path), changes))
    watcher.start()
    try:
        observer = watcher.observer
        assert isinstance(observer, NativeObserver)
        (tmp_path / "seq").rename(tmp_path / "seq2")
        group = next(iter(observer._emitters))._inotify  # type: ignore[attr-defined]
        group._add_callback(str(tmp_path / "seq2" / "sub").encode())
    finally:
        watcher.stop()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
