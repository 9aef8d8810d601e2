"""Settle before reading: a file is read once it is complete, never half-written, never 50 times.

Events for a path fold into one pending entry, which is ready:

- at once when the file was closed after writing (inotify's close-write) or renamed into place;
- on inotify, when it was moved in from outside the watched tree: complete, once
  ``pairing_wait`` has passed (its source may show up as a delete meanwhile: then it is a move);
- on inotify, when it was written to (IN_MODIFY) and not closed yet: at its close, or after
  ``unclosed_grace`` of silence (a writer that keeps a file open and pauses is waited for);
- otherwise (polling; or on inotify a file that appeared with content but no write, as a
  folder moved in does, or whose attributes changed): once its size and modification time
  have held still for the quiet period.

Deletes wait the quiet period, and also while other files are settling (up to
``unclosed_grace``): a file deleted and written again (how some programs save) is then read
as modified, and a file moved where no watch was yet is read as moved, not marked missing.
Time is a parameter.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

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


#: What happened to a file: "created" and "attrib" carry no content write; "placed" is a file
#: renamed into place, "moved_in" one moved in from outside the watched tree.
Event = Literal["created", "modified", "attrib", "closed", "placed", "moved_in"]


@dataclass
class _Pending:
    root: str
    last_event: float
    complete: bool
    #: Written to (inotify) since the last close: its close is coming.
    writing: bool
    waits_for_close: bool
    moved_from: str = ""
    seen: tuple[int, int] | None = None
    stable_since: float = 0.0
    #: A complete file is read no sooner than this.
    ready_at: float = 0.0


@dataclass
class _Deleted:
    root: str
    at: float
    is_dir: bool


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@dataclass
class Settler:
    """Pending paths and when each will be ready; fed by the consumer, one thread only."""

    quiet_period: float
    #: How long a file written on inotify without a close is waited for.
    unclosed_grace: float
    #: On inotify a file that appeared without being written (moved in, or found in a folder
    #: moved in) is read no sooner than this: watchdog holds a move's source side up to 0.5 s
    #: while pairing it, and that source may be this file's old record (a move, not a copy).
    pairing_wait: float = 1.0
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
        event: Event,
        *,
        waits_for_close: bool = False,
        moved_from: str = "",
    ) -> None:
        """Note an event on the file at ``path`` ("placed": moved or copied into place whole)."""
        self._deleted.pop(path, None)
        entry = self._files.get(path)
        if entry is None:
            entry = _Pending(root, now, False, False, waits_for_close)
            self._files[path] = entry
        entry.last_event = now
        entry.waits_for_close = waits_for_close
        entry.moved_from = moved_from or entry.moved_from
        if event in ("closed", "placed", "moved_in"):
            entry.complete, entry.writing = True, False
            entry.ready_at = now + self.pairing_wait if event == "moved_in" else now
        elif event == "modified":
            entry.complete, entry.writing = False, True
        elif event == "created":
            entry.complete = False

    def deleted(self, root: str, path: str, now: float, *, is_dir: bool = False) -> None:
        """Note that ``path`` is gone; pending writes at or under it are forgotten."""
        if is_dir:
            for pending in [p for p in self._files if _under(p, path)]:
                del self._files[pending]
        else:
            self._files.pop(path, None)
        self._deleted[path] = _Deleted(root, now, is_dir)

    def moved(self, root: str, source: str, dest: str, now: float) -> None:
        """Note that a file was renamed from ``source`` to ``dest`` (complete: it is in place)."""
        entry = self._files.pop(source, None)
        moved_from = entry.moved_from if entry is not None and entry.moved_from else source
        self.touched(root, dest, now, "placed", moved_from=moved_from)

    def deleted_files(self) -> dict[str, str]:
        """Return path -> root of the files deleted and not yet recorded."""
        return {p: d.root for p, d in self._deleted.items() if not d.is_dir}

    def unsettled_new(self) -> dict[str, str]:
        """Return path -> root of the files that appeared and are not complete yet, and not
        known as renamed (the new half of a rename that came apart would be one of them)."""
        return {p: e.root for p, e in self._files.items() if not e.complete and not e.moved_from}

    def paired(self, source: str, dest: str, now: float) -> None:
        """Note that the delete of ``source`` and the file that appeared at ``dest`` were one
        rename (a polling snapshot that listed the folder before the rename and looked at the
        file after it sees a delete, then a new file): ``dest`` is ready now, as a move."""
        deleted = self._deleted.pop(source)
        self._files.pop(dest, None)
        self.touched(deleted.root, dest, now, "placed", moved_from=source)

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
        gone = [
            Gone(d.root, p, d.is_dir) for p, d in self._deleted.items() if self._delete_due(d, now)
        ]
        for item in gone:
            del self._deleted[item.path]
        return ready, gone

    def _delete_due(self, deleted: _Deleted, now: float) -> bool:
        age = now - deleted.at
        return age >= self.quiet_period and (not self._files or age >= self.unclosed_grace)

    def _state(self, path: str, entry: _Pending, now: float) -> str:
        """Return "ready", "wait", or "drop" (not a regular file now: a delete event follows)."""
        if entry.complete:
            return "ready" if now >= entry.ready_at else "wait"
        silent = now - entry.last_event
        if silent < self._silence_needed(entry):
            return "wait"
        seen = self.stat(path)
        if seen is None:
            return "drop"
        if seen != entry.seen:
            # first look, or it changed since the last one: it must hold still a quiet period
            entry.seen, entry.stable_since = seen, now
            return "wait"
        if entry.waits_for_close and seen[0] == 0 and silent < self.unclosed_grace:
            return "wait"  # created empty on inotify: its writer has not written yet
        return "ready" if now - entry.stable_since >= self.quiet_period else "wait"

    def _silence_needed(self, entry: _Pending) -> float:
        if not entry.waits_for_close:
            return self.quiet_period
        if entry.writing:
            return self.unclosed_grace
        return max(self.quiet_period, self.pairing_wait)

    def next_due(self, now: float) -> float | None:
        """Return the seconds until something may be ready (0: now), None when nothing waits."""
        times = []
        for entry in self._files.values():
            if entry.complete:
                if entry.ready_at <= now:
                    return 0.0
                times.append(entry.ready_at)
                continue
            wait = self._silence_needed(entry)
            times.append(max(entry.last_event + wait, entry.stable_since + self.quiet_period))
        for deleted in self._deleted.values():
            times.append(deleted.at + (self.unclosed_grace if self._files else self.quiet_period))
        if not times:
            return None
        return max(0.0, min(times) - now)

    def retry(self, ready: Ready, now: float) -> None:
        """Put back a file that changed while it was being read: it is not settled yet."""
        self.touched(ready.root, ready.path, now, "modified", moved_from=ready.moved_from)
