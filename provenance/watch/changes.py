"""What goes through the daemon's queue: filesystem changes, and requests for the consumer.

The handler runs on watchdog's thread and only enqueues (watchdog's own emitter -> queue ->
dispatcher shape); everything that touches the disk or the catalog happens in the one
consumer thread.
"""

from __future__ import annotations

import logging
import os
import queue
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from watchdog.events import (
    EventsLostEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
    FileSystemMovedEvent,
)

from provenance.config import Settings

if TYPE_CHECKING:
    from provenance.watch.hearing import Hearing

log = logging.getLogger(__name__)

ChangeKind = Literal["created", "modified", "attrib", "closed", "deleted", "moved"]


@dataclass(frozen=True)
class Change:
    """One filesystem change under a root. A move has ``path`` (source) and ``dest``; either
    is "" when that side is outside the watched tree (moved in, or moved out)."""

    root: str
    kind: ChangeKind
    path: str
    dest: str = ""
    is_dir: bool = False
    #: Made up by watchdog for the contents of a moved or created folder (not a kernel event).
    synthetic: bool = False


@dataclass(frozen=True)
class Rescan:
    """Scan these roots (all of them when empty) with the reconciliation scan."""

    roots: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Reload:
    """Use these settings from the next batch on (SIGHUP)."""

    settings: Settings


@dataclass(frozen=True)
class RunJob:
    """A scheduled job's body, to run on the consumer thread (under its lock, if any)."""

    name: str
    body: Callable[[], object]
    lock: Callable[[str], AbstractContextManager[bool]] | None = None

    def run(self) -> None:
        """Run the body; a fleet-wide job only on the node that holds its lock."""
        if self.lock is None:
            self.body()
            return
        with self.lock(self.name) as held:
            if not held:
                log.info("job %s: another node is running it; skipped here", self.name)
                return
            self.body()


class Stop:
    """Wakes the consumer when the daemon stops."""


Item = Change | Rescan | Reload | RunJob | Stop
ChangeQueue = queue.SimpleQueue[Item]


def _text(path: bytes | str) -> str:
    return os.fsdecode(path)


def change_of(root: str, event: FileSystemEvent) -> Change | None:
    """Return the Change a watchdog event stands for, or None for events the daemon ignores
    (folder created or modified: their files come as their own events)."""
    path = _text(event.src_path)
    if isinstance(event, FileSystemMovedEvent):
        return Change(
            root, "moved", path, _text(event.dest_path), event.is_directory, event.is_synthetic
        )
    if isinstance(event, FileDeletedEvent) or event.event_type == "deleted":
        return Change(
            root, "deleted", path, is_dir=event.is_directory, synthetic=event.is_synthetic
        )
    if event.is_directory:
        return None
    if isinstance(event, FileClosedEvent):
        return Change(root, "closed", path)
    if isinstance(event, FileCreatedEvent):
        return Change(root, "created", path, synthetic=event.is_synthetic)
    if event.event_type == "modified":
        return Change(root, "modified", path)
    if event.event_type == "attrib":
        return Change(root, "attrib", path)
    return None


class QueueingHandler(FileSystemEventHandler):
    """Puts each event of one root on the queue as a Change, and a rescan of the root when
    events were lost; hands the canaries' events to the root's hearing; does nothing else."""

    def __init__(
        self,
        root: str,
        changes: ChangeQueue,
        hearing: Hearing | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.root = root
        self.changes = changes
        #: Takes the events of the daemon's canaries (watch.hearing): they never reach the queue.
        self.hearing = hearing
        #: How many times events of this root were lost (inotify queue overflows); each time
        #: ``on_lost()`` hears of it too.
        self.lost = 0
        self.on_lost = on_lost

    def dispatch(self, event: FileSystemEvent) -> None:
        if self.hearing is not None and self.hearing.note(event):
            return
        if isinstance(event, EventsLostEvent):
            self.lost += 1
            log.warning(
                "inotify queue overflowed under %s: events were lost, rescanning it (raise "
                "fs.inotify.max_queued_events if this repeats)",
                self.root,
            )
            self.changes.put(Rescan((self.root,), "events lost (inotify queue overflow)"))
            if self.on_lost is not None:
                self.on_lost()
            return
        change = change_of(self.root, event)
        if change is not None:
            self.changes.put(change)
