"""One watchdog observer per root: inotify or polling, watched for death and for lost events.

The observer's threads only turn filesystem changes into events for the handler, which only
enqueues them (``watch.changes``). Two kinds of trouble are reported to ``on_trouble(kind,
detail)`` from watchdog's threads, so that the daemon can rescan the root:

- ``"overflow"``: the kernel's inotify queue overflowed and events were lost;
- ``"limit"``: a folder could not be watched because the inotify watch limit
  (``fs.inotify.max_user_watches``) is reached.

A dead observer or emitter (a poller stops when its share vanishes) shows in
:meth:`RootWatcher.is_alive`; the daemon's health check restarts it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver, EventQueue, ObservedWatch
from watchdog.observers.inotify import InotifyFullEmitter, InotifyWatchGroup
from watchdog.observers.inotify_c import InotifyFD
from watchdog.observers.polling import PollingObserver

from provenance.watch.mounts import WatchMode

log = logging.getLogger(__name__)


class _QuietStopRace(logging.Filter):
    """Drops watchdog's error for a read that races the emitter's own stop (harmless)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in record.getMessage()


logging.getLogger("watchdog.observers.inotify").addFilter(_QuietStopRace())

Trouble = Callable[[str, str], None]

#: The events the daemon acts on; opens, no-write closes and folder mtimes are not asked for
#: (the daemon's own reads would otherwise flood the queue).
EVENT_FILTER: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]


#: watchdog's warning when a watch group's callback is added again to a watch it holds
_SAME_CALLBACK = r"Callback with id '.*' already exists for watch"


@dataclass
class _WatchGroup(InotifyWatchGroup):
    """watchdog's recursive inotify watch, reporting overflows and the watch limit.

    watchdog rebuilds its watches after an overflow but tells no handler, and it skips a
    sub-folder it cannot watch without a word; both mean changes the daemon will not see.
    """

    on_trouble: Trouble | None = None

    def __post_init__(self) -> None:
        # A folder moved within the root keeps its inotify watch (same inode) under its new
        # path, and watchdog warns when the group adds its own callback to it again. It is
        # the same callback; the warning would only alarm whoever reads the daemon's log.
        warnings.filterwarnings("ignore", message=_SAME_CALLBACK, category=RuntimeWarning)
        super().__post_init__()

    def on_queue_overflow(self) -> None:
        super().on_queue_overflow()
        if self.on_trouble is not None:
            self.on_trouble("overflow", os.fsdecode(self.path))

    def _add_callback(self, path: bytes) -> None:
        # Same as watchdog's, but an ENOSPC on a sub-folder is reported instead of dropped.
        try:
            wd = self._inotify_fd.add_callback(path, self.event_mask, self._callback, self._id)
        except OSError as exc:
            if exc.errno == errno.ENOSPC and self.on_trouble is not None:
                self.on_trouble("limit", os.fsdecode(path))
            if path == self.path:
                raise
            return
        self._active_callbacks_by_path[path] = wd
        self._active_callbacks_by_watch[wd] = path


class _Emitter(InotifyFullEmitter):
    """inotify emitter with unmatched moves reported as moves (``src`` or ``dest`` empty), so
    that a file moved in from outside is known to be complete."""

    def __init__(
        self,
        event_queue: EventQueue,
        watch: ObservedWatch,
        *,
        on_trouble: Trouble | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(event_queue, watch, **kwargs)
        self._on_trouble = on_trouble

    def on_thread_start(self) -> None:
        self._inotify = _WatchGroup(
            self._inotify_fd,
            os.fsencode(self.watch.path),
            is_recursive=self.watch.is_recursive,
            event_mask=self.get_event_mask_from_filter(),
            follow_symlink=self.watch.follow_symlink,
            on_trouble=self._on_trouble,
        )


class NativeObserver(BaseObserver):
    """An inotify observer with its own inotify instance and the reporting emitter above."""

    def __init__(self, on_trouble: Trouble | None = None, timeout: float = 1.0) -> None:
        self.inotify_fd = InotifyFD()
        self.inotify_fd.start()
        super().__init__(
            _Emitter, timeout=timeout, inotify_fd=self.inotify_fd, on_trouble=on_trouble
        )

    def on_thread_stop(self) -> None:
        super().on_thread_stop()
        self.inotify_fd.stop()
        with contextlib.suppress(RuntimeError):
            self.inotify_fd.join()

    def threads_alive(self) -> bool:
        return self.inotify_fd.is_alive()


class RootWatcher:
    """Watches one root, recursively, with one observer; owns its threads."""

    def __init__(
        self,
        path: str,
        mode: WatchMode,
        handler: FileSystemEventHandler,
        *,
        poll_interval: float = 10.0,
        on_trouble: Trouble | None = None,
    ) -> None:
        self.path = path
        self.mode = mode
        self.handler = handler
        self.poll_interval = poll_interval
        self.on_trouble = on_trouble
        self.observer: BaseObserver | None = None

    def start(self) -> None:
        """Start watching; raises OSError when the root cannot be watched (ENOSPC: watch limit)."""
        observer: BaseObserver
        if self.mode == "native":
            observer = NativeObserver(self.on_trouble)
        else:
            observer = PollingObserver(timeout=self.poll_interval)
        observer.start()
        try:
            observer.schedule(self.handler, self.path, recursive=True, event_filter=EVENT_FILTER)
        except BaseException:
            observer.stop()
            observer.join()
            raise
        self.observer = observer
        log.debug("watching %s (%s)", self.path, self.mode)

    def stop(self, timeout: float = 3.0) -> None:
        """Stop the observer and its emitter; waits up to ``timeout`` seconds for each."""
        observer, self.observer = self.observer, None
        if observer is None:
            return
        observer.stop()
        with contextlib.suppress(RuntimeError):
            observer.join(timeout)

    def is_alive(self) -> bool:
        """Return whether the observer, its emitter and (inotify) its reader still run."""
        observer = self.observer
        if observer is None or not observer.is_alive():
            return False
        emitters = list(observer.emitters)
        if not emitters or not all(e.is_alive() for e in emitters):
            return False
        return not isinstance(observer, NativeObserver) or observer.threads_alive()

    def restart(self) -> None:
        """Stop whatever is left of the observer and start a new one (may raise OSError)."""
        self.stop()
        self.start()
