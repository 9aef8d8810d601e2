"""One watchdog observer per root, inotify or polling, through watchdog's public API only.

The observer's threads only turn filesystem changes into events for the handler, which only
enqueues them (``watch.changes``). What can go wrong, and where it shows:

- the kernel's inotify queue overflows: watchdog (>= 7.1.1) repairs its watches and sends
  the handler an ``EventsLostEvent`` for the root, which becomes a rescan of it;
- a dead observer or emitter (a poller stops when its share vanishes) shows in
  :meth:`RootWatcher.is_alive`, and the daemon restarts it;
- the inotify watch limit (``fs.inotify.max_user_watches``) is reached: when the tree
  cannot be watched whole, ``start()`` raises OSError(ENOSPC). A folder created later that
  cannot be watched is only logged by watchdog: its public API has no hook for it, so
  :func:`watch_limit_reached` asks the kernel whether one more watch can be added;
- a watcher that is alive yet hears nothing (its reader thread died, the root was
  remounted under it) is caught by the proofs of ``watch.hearing``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import logging
import os

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    EventsLostEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.inotify import InotifyObserver
from watchdog.observers.polling import PollingObserver

from provenance.watch.mounts import WatchMode

log = logging.getLogger(__name__)

#: The events the daemon acts on; opens, no-write closes and folder mtimes are not asked for
#: (the daemon's own reads would otherwise flood the queue). EventsLostEvent reaches a
#: filtered watch only when the filter lists it.
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
    EventsLostEvent,
]


class RootWatcher:
    """Watches one root, recursively, with one observer; owns its threads."""

    def __init__(
        self,
        path: str,
        mode: WatchMode,
        handler: FileSystemEventHandler,
        *,
        poll_interval: float = 10.0,
    ) -> None:
        self.path = path
        self.mode = mode
        self.handler = handler
        self.poll_interval = poll_interval
        self.observer: BaseObserver | None = None
        #: The observer's watch of the root (while started).
        self.watch: ObservedWatch | None = None

    def start(self) -> None:
        """Start watching; raises OSError when the root cannot be watched (ENOSPC: the inotify
        watch limit, for the root or any folder under it)."""
        observer: BaseObserver
        if self.mode == "native":
            # full events: a file moved in from outside is a move with no source (complete,
            # not half-written), one moved out a move with no destination
            observer = InotifyObserver(generate_full_events=True)
        else:
            observer = PollingObserver(timeout=self.poll_interval)
        try:
            watch = observer.schedule(
                self.handler, self.path, recursive=True, event_filter=EVENT_FILTER
            )
            observer.start()
        except BaseException:
            _stop(observer, 3.0)
            raise
        self.observer, self.watch = observer, watch
        log.debug("watching %s (%s)", self.path, self.mode)

    def stop(self, timeout: float = 3.0) -> None:
        """Stop the observer and its emitter; waits up to ``timeout`` seconds for each."""
        observer, self.observer, self.watch = self.observer, None, None
        if observer is not None:
            _stop(observer, timeout)

    def is_alive(self) -> bool:
        """Return whether the observer and its emitter still run.

        (An inotify observer's reader thread is not public: when it dies, the proofs of
        ``watch.hearing`` notice the silence.)
        """
        observer = self.observer
        if observer is None or not observer.is_alive():
            return False
        emitters = list(observer.emitters)
        return bool(emitters) and all(e.is_alive() for e in emitters)

    def restart(self) -> None:
        """Stop whatever is left of the observer and start a new one (may raise OSError)."""
        self.stop()
        self.start()


def _stop(observer: BaseObserver, timeout: float) -> None:
    observer.stop()
    with contextlib.suppress(RuntimeError):  # never started
        observer.join(timeout)


# --- the inotify watch limit ------------------------------------------------------------------

_IN_CLOEXEC = 0o2000000
_IN_ATTRIB = 0x00000004
_IN_ONLYDIR = 0x01000000


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    return libc if hasattr(libc, "inotify_init1") and hasattr(libc, "inotify_add_watch") else None


def watch_limit_reached(folder: str) -> bool:
    """Return whether this user can add no more inotify watches (``fs.inotify.
    max_user_watches``, or a user namespace's ``max_inotify_watches``, is reached).

    It asks the kernel by adding one watch on ``folder`` in an inotify instance of its own
    and closing it at once; False when it cannot tell (no inotify, no instance left).
    """
    libc = _libc()
    if libc is None:
        return False
    init, add_watch = libc.inotify_init1, libc.inotify_add_watch
    fd = init(_IN_CLOEXEC)
    if fd < 0:
        return False
    try:
        return add_watch(fd, os.fsencode(folder), _IN_ATTRIB | _IN_ONLYDIR) < 0 and (
            ctypes.get_errno() == errno.ENOSPC
        )
    finally:
        os.close(fd)
