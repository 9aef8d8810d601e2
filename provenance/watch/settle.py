"""Settle before reading: a file is read once it is complete, never half-written, never 50 times.

Events for a path are folded into one pending entry. An entry is ready when:

- the file was closed after writing (inotify's close-write) or moved into place: at once;
- otherwise (polling, or inotify without a close yet) its size and modification time have
  held still for the quiet period. On inotify a file still open for writing is waited for
  longer (``unclosed_grace``), since its close is coming.

Deletes wait the quiet period too, so that a file deleted and written again (how some
programs save) is read as modified instead of marked missing. Time is a parameter.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

Stat = Callable[[str], tuple[int, int] | None]


def stat_size_mtime(path: str) -> tuple[int, int] | None:
    """Return (size, mtime_ns) of the file at ``path``, or None when it is not a regular file."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not os.path.isfile(path) or os.path.islink(path):
        return None
    return info.st_size, info.st_mtime_ns


@dataclass(frozen=True)
class Ready:
    """A file to read (and record) now; ``moved_from`` is its old path after a rename."""

    root: str
    path: str
    moved_from: str = ""


@dataclass(frozen=True)
class Gone:
    """A file or folder that was deleted (or moved out of the watched tree)."""

    root: str
    path: str
    is_dir: bool = False


@dataclass
class _Pending:
    root: str
    last_event: float
    complete: bool
    waits_for_close: bool
    moved_from: str = ""
    seen: tuple[int, int] | None = None
    stable_since: float = 0.0


@dataclass
class _Deleted:
    root: str
    due: float
    is_dir: bool


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@dataclass
class Settler:
    """Pending paths and when each will be ready; fed by the consumer, one thread only."""

    quiet_period: float
    #: How long a file written on inotify without a close is waited for.
    unclosed_grace: float
    stat: Stat = stat_size_mtime
    _files: dict[str, _Pending] = field(default_factory=dict)
    _deleted: dict[str, _Deleted] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._files) + len(self._deleted)

    def touched(
        self,
        root: str,
        path: str,
        now: float,
        *,
        complete: bool = False,
        waits_for_close: bool = False,
        moved_from: str = "",
    ) -> None:
        """Note that the file at ``path`` was written (``complete``: closed or moved into place)."""
        self._deleted.pop(path, None)
        entry = self._files.get(path)
        if entry is None:
            entry = _Pending(root, now, complete, waits_for_close, moved_from)
            self._files[path] = entry
            return
        entry.last_event = now
        entry.complete = complete
        entry.waits_for_close = waits_for_close
        entry.moved_from = moved_from or entry.moved_from

    def deleted(self, root: str, path: str, now: float, *, is_dir: bool = False) -> None:
        """Note that ``path`` is gone; pending writes at or under it are forgotten."""
        if is_dir:
            for pending in [p for p in self._files if _under(p, path)]:
                del self._files[pending]
        else:
            self._files.pop(path, None)
        self._deleted[path] = _Deleted(root, now + self.quiet_period, is_dir)

    def moved(self, root: str, source: str, dest: str, now: float) -> None:
        """Note that a file was renamed from ``source`` to ``dest`` (complete: it is in place)."""
        entry = self._files.pop(source, None)
        moved_from = entry.moved_from if entry is not None and entry.moved_from else source
        self.touched(root, dest, now, complete=True, moved_from=moved_from)

    def folder_moved(self, source: str, dest: str) -> None:
        """Carry pending paths under a renamed folder over to their new place."""
        prefix = source.rstrip("/") + "/"
        for path in [p for p in self._files if _under(p, source)]:
            self._files[dest.rstrip("/") + "/" + path[len(prefix) :]] = self._files.pop(path)

    def forget_root(self, root: str) -> None:
        """Drop everything pending under a root that is no longer watched."""
        self._files = {p: e for p, e in self._files.items() if e.root != root}
        self._deleted = {p: d for p, d in self._deleted.items() if d.root != root}

    def deleted_paths(self) -> tuple[set[str], set[str]]:
        """Return the (files, folders) deleted and not yet recorded."""
        files = {p for p, d in self._deleted.items() if not d.is_dir}
        return files, set(self._deleted) - files

    def pop_due(self, now: float, limit: int | None = None) -> tuple[list[Ready], list[Gone]]:
        """Return (and forget) the files ready to read, at most ``limit``, and the deletes
        ready to record."""
        ready: list[Ready] = []
        for path, entry in list(self._files.items()):
            if limit is not None and len(ready) >= limit:
                break
            state = self._state(path, entry, now)
            if state != "wait":
                del self._files[path]
            if state == "ready":
                ready.append(Ready(entry.root, path, entry.moved_from))
        gone = [Gone(d.root, p, d.is_dir) for p, d in self._deleted.items() if d.due <= now]
        for item in gone:
            del self._deleted[item.path]
        return ready, gone

    def _state(self, path: str, entry: _Pending, now: float) -> str:
        """Return "ready", "wait", or "drop" (no longer a regular file: its delete event follows)."""
        if entry.complete:
            return "ready"
        if entry.waits_for_close and now - entry.last_event < self.unclosed_grace:
            return "wait"
        if now - entry.last_event < self.quiet_period:
            return "wait"
        seen = self.stat(path)
        if seen is None:
            return "drop"
        if seen != entry.seen:
            # first look, or it changed since the last one: it must hold still a quiet period
            entry.seen, entry.stable_since = seen, now
            return "wait"
        return "ready" if now - entry.stable_since >= self.quiet_period else "wait"

    def next_due(self, now: float) -> float | None:
        """Return the seconds until something may be ready (0: now), None when nothing waits."""
        times = [d.due for d in self._deleted.values()]
        for entry in self._files.values():
            if entry.complete:
                return 0.0
            wait = self.unclosed_grace if entry.waits_for_close else self.quiet_period
            times.append(max(entry.last_event + wait, entry.stable_since + self.quiet_period))
        if not times:
            return None
        return max(0.0, min(times) - now)

    def retry(self, ready: Ready, now: float) -> None:
        """Put back a file that changed while it was being read: it is not settled yet."""
        self.touched(ready.root, ready.path, now, moved_from=ready.moved_from)
