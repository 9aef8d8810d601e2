"""Watching roots: observers (inotify or polling), proofs that they hear, the queue, settling,
the one writing consumer."""

from provenance.watch.changes import Change, Reload, Rescan, Stop
from provenance.watch.consumer import Consumer
from provenance.watch.hearing import Deafness, Hearing, Identity, identity_of
from provenance.watch.mounts import Mount, WatchMode, parse_mounts, read_mounts, watch_mode
from provenance.watch.observers import RootWatcher
from provenance.watch.record import Recorder
from provenance.watch.settle import Gone, Ready, Settler

__all__ = [
    "Change",
    "Consumer",
    "Deafness",
    "Gone",
    "Hearing",
    "Identity",
    "Mount",
    "Ready",
    "Recorder",
    "Reload",
    "Rescan",
    "RootWatcher",
    "Settler",
    "Stop",
    "WatchMode",
    "identity_of",
    "parse_mounts",
    "read_mounts",
    "watch_mode",
]
