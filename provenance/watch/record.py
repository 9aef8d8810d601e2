"""Apply settled changes to the catalog through the services (ingest, scan); consumer thread only.

What a command can do once, the daemon does on an event: reading a file is ``Ingest.ingest``
(the path ``provenance scan`` takes), a catch-up is ``scan()``. What is the daemon's own:
a rename keeps its record without reading the file again (same inode, size and mtime: same
bytes) and takes our sidecar along (``ingest.tags.follow_moves``), a folder rename moves
every record under it (one "moved" event per asset), and a delete under an offline root is
not recorded (DESIGN rule 7), with one warning per outage.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from provenance.audit import Actor
from provenance.catalog import Catalog, KnownFile
from provenance.catalog.unreadable import forget_unreadable, list_unreadable, unreadable_by_paths
from provenance.config import RootSettings, Settings
from provenance.files.reader import Failure, FileFacts, FileReader, ReadOptions, read_options
from provenance.files.readfile import FailureKind
from provenance.files.roots import check_root
from provenance.files.walk import FileEntry
from provenance.ingest.ingest import Ingest, IngestCounts
from provenance.ingest.scan import ingest_context, scan, tag_options
from provenance.ingest.tags import Moved, follow_moves, write_tags
from provenance.tagging.follow import Outcome
from provenance.watch.settle import Gone, Ready

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class ScanInterruptedError(Exception):
    """Raised inside a long scan when the daemon is stopping (the batch in hand is dropped)."""


def release_memory(catalog: Catalog) -> None:
    """Give the memory a burst or a big scan used back to the OS, so that an idle daemon stays
    small: the catalog's idle connections (SQLite page caches), Python's garbage, and what
    glibc keeps after free (a no-op where there is no glibc)."""
    catalog.release_idle()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class _SettlingReader(FileReader):
    """A FileReader that hands back files still being written instead of skipping them."""

    def __init__(self, options: ReadOptions, workers: int, idle_after: float | None) -> None:
        super().__init__(options, workers, idle_after)
        self.unsettled: list[str] = []

    def read_many(
        self,
        files: Sequence[str | FileEntry] | Iterable[str | FileEntry],
        count: int | None = None,
        hash_sizes: Container[int] = (),
    ) -> Iterator[FileFacts | Failure]:
        for result in super().read_many(files, count, hash_sizes):
            if isinstance(result, Failure):
                if result.kind is FailureKind.CHANGED:
                    self.unsettled.append(result.path)
                    continue
                if result.kind is FailureKind.VANISHED:
                    continue  # its delete event follows
            yield result


def _reader_for(settings: Settings) -> _SettlingReader:
    """The daemon's reader: its processes end when idle (``daemon.idle_workers_after``)."""
    return _SettlingReader(
        read_options(settings), settings.scan.workers, settings.daemon.idle_workers_seconds
    )


@dataclass(frozen=True)
class _Stat:
    size: int
    mtime_ns: int
    inode: int


def _stat(path: str) -> _Stat | None:
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not os.path.isfile(path) or os.path.islink(path):
        return None
    return _Stat(info.st_size, info.st_mtime_ns, info.st_ino)


def _same(known: KnownFile, now: _Stat) -> bool:
    return (known.size, known.mtime_ns, known.inode) == (now.size, now.mtime_ns, now.inode)


class Recorder:
    """Records settled changes; owns the reader (worker processes) the daemon reads with."""

    def __init__(self, settings: Settings, catalog: Catalog, actor: Actor, clock: Clock) -> None:
        self.catalog = catalog
        self.actor = actor
        self.clock = clock
        self.counts = IngestCounts()
        #: What the reconciliation scans did (the metrics add it to ``counts``).
        self.scanned = IngestCounts()
        self.settings = settings
        self._reader = _reader_for(settings)
        self._reader.warm_up()
        self._offline: set[str] = set()

    def use_settings(self, settings: Settings) -> None:
        """Read and record with new settings from now on (rules may have changed)."""
        self._reader.close()
        self.settings = settings
        self._reader = _reader_for(settings)
        self._reader.warm_up()

    def close(self) -> None:
        self._reader.close()

    def _root(self, root: str) -> RootSettings | None:
        return next((r for r in self.settings.roots if str(r.path) == root), None)

    def _ingest(self, now: datetime) -> Ingest:
        context = ingest_context(self.settings, self.catalog, self.actor, now)
        return Ingest(context, self.counts)

    def is_online(self, root: str) -> bool:
        """Return whether ``root`` is online; warns once per outage when it is not."""
        settings = self._root(root)
        if settings is None:
            return False
        health = check_root(settings)
        if health.online:
            if root in self._offline:
                self._offline.discard(root)
                log.info("root %s is online again", root)
            return True
        if root not in self._offline:
            self._offline.add(root)
            log.warning(
                "root %s is offline (%s): nothing under it is marked missing until it is back",
                root,
                health.reason,
            )
        return False

    # --- files written or renamed ---------------------------------------------------------

    def renames(self, deleted: Mapping[str, str], new: Mapping[str, str]) -> list[tuple[str, str]]:
        """Return the (source, dest) pairs among files ``deleted`` and files ``new`` (path ->
        root) that are one file renamed: the catalog's record of the deleted path has the new
        file's inode, size and modification time, under the same root."""
        stats = {path: _stat(path) for path in new}
        by_stat = {(s.size, s.mtime_ns, s.inode): p for p, s in stats.items() if s is not None}
        if not by_stat:
            return []
        with self.catalog.read() as tx:
            known = tx.known_paths(sorted(deleted))
        pairs = []
        for source, record in known.items():
            dest = by_stat.get((record.size, record.mtime_ns, record.inode))
            if dest is not None and new[dest] == deleted[source] and record.present:
                pairs.append((source, dest))
                del by_stat[(record.size, record.mtime_ns, record.inode)]
        return pairs

    def record_ready(self, ready: Sequence[Ready], vanished: set[str]) -> list[Ready]:
        """Read and record the ready files; return those still being written (to settle again).

        ``vanished`` holds paths deleted but not yet recorded: a new file with the content of
        one of them is that file, moved (across roots, say).
        """
        stats = {item.path: _stat(item.path) for item in ready}
        present = [item for item in ready if stats[item.path] is not None]
        with self.catalog.read() as tx:
            known = tx.known_paths([p for i in present for p in (i.path, i.moved_from) if p])
        renames: dict[str, list[tuple[str, str]]] = {}
        to_read: list[Ready] = []
        for item in present:
            now_stat = stats[item.path]
            assert now_stat is not None
            source = known.get(item.moved_from) if item.moved_from else None
            if (
                source is not None
                and source.present
                and item.path not in known
                and _same(source, now_stat)
            ):
                renames.setdefault(item.root, []).append((item.moved_from, item.path))
            elif (
                item.path in known
                and known[item.path].present
                and _same(known[item.path], now_stat)
            ):
                continue  # already recorded as it is (our own read, a folder rename, a touch)
            else:
                to_read.append(item)
        at = self.clock()
        for root, moves in renames.items():
            with self.catalog.write() as tx:
                assets = tx.move_paths(moves, root, self.actor, at, "renamed")
            moved = {a.path: a for a in assets}
            followed: list[Moved] = []
            for old, new in moves:
                if new in moved:
                    self.counts.moved += 1
                    log.info("moved %s -> %s", old, new)
                    followed.append(Moved(root, old, root, new, moved[new]))
                else:  # the new path was taken by another record: let ingest sort it out
                    to_read.append(Ready(root, new, old))
            # the sidecar is named after the file: ours follows it to the new name, then the
            # tag is written there (an embedded tag travelled with the file); one that cannot
            # follow (another file holds the new name) stays, and nothing is written there
            sidecar_only = replace(tag_options(self.settings), embed_formats=())
            outcomes = follow_moves(followed, sidecar_only)
            self.counts.sidecars(outcomes.values())
            kept = {uid for uid, outcome in outcomes.items() if outcome is Outcome.KEPT}
            tagged = [asset for asset in assets if asset.uid not in kept]
            self.counts.tagged += write_tags(tagged, sidecar_only, self.catalog, self.actor, at)
        return self._read(to_read, vanished, at)

    def _read(self, items: Sequence[Ready], vanished: set[str], at: datetime) -> list[Ready]:
        if not items:
            return []
        roots = {item.path: item.root for item in items}
        gone = vanished | {
            i.moved_from for i in items if i.moved_from and not os.path.lexists(i.moved_from)
        }
        self._reader.unsettled = []
        self._ingest(at).ingest(
            self._reader, list(roots), roots.__getitem__, count=len(roots), vanished=gone
        )
        unsettled = set(self._reader.unsettled)
        # a renamed file whose content changed on the way was read as new: its old record is gone
        leftovers = {i.moved_from for i in items if i.moved_from and i.moved_from in gone}
        self.record_gone(
            [Gone(roots[i.path], i.moved_from) for i in items if i.moved_from in leftovers]
        )
        return [item for item in items if item.path in unsettled]

    # --- deletes and folder renames -------------------------------------------------------

    def record_gone(self, gone: Sequence[Gone]) -> None:
        """Mark what was deleted as missing, unless its root is offline (then only warn once)."""
        paths: list[str] = []
        unreadable: list[str] = []
        online = {root: self.is_online(root) for root in {g.root for g in gone}}
        for item in gone:
            if not online[item.root] or (not item.is_dir and os.path.lexists(item.path)):
                continue
            if item.is_dir:
                with self.catalog.read() as tx:
                    paths += [a.path for a in tx.assets_under(item.path) if a.present]
                    unreadable += [u.path for u in list_unreadable(tx, under=item.path)]
            else:
                paths.append(item.path)
                unreadable.append(item.path)
        if paths:
            self._ingest(self.clock()).mark_missing(p for p in paths if not os.path.lexists(p))
        self._forget_unreadable([p for p in unreadable if not os.path.lexists(p)])

    def _forget_unreadable(self, paths: Sequence[str]) -> None:
        """Drop the rows of unreadable files that are gone (asked first: there are few)."""
        if not paths:
            return
        with self.catalog.read() as tx:
            known = sorted(unreadable_by_paths(tx, paths))
        if known:
            with self.catalog.write() as tx:
                forget_unreadable(tx, known)

    def paths_under(self, folders: Iterable[str]) -> set[str]:
        """Return the paths of the present assets under ``folders``."""
        found: set[str] = set()
        with self.catalog.read() as tx:
            for folder in folders:
                found |= {a.path for a in tx.assets_under(folder) if a.present}
        return found

    def move_folder(self, root: str, source: str, dest: str) -> None:
        """Give every asset under folder ``source`` its path under ``dest``; one event each."""
        prefix = source.rstrip("/") + "/"
        with self.catalog.write() as tx:
            moves = [
                (a.path, dest.rstrip("/") + "/" + a.path[len(prefix) :])
                for a in tx.assets_under(source)
                if a.path != source
            ]
            moved = tx.move_paths(
                moves, root, self.actor, self.clock(), f"folder renamed to {dest}"
            )
        self.counts.moved += len(moved)
        log.info("moved folder %s -> %s (%d assets)", source, dest, len(moved))

    # --- catch-up ---------------------------------------------------------------------------

    def rescan(self, roots: Sequence[str], reason: str, should_stop: Callable[[], bool]) -> None:
        """Run the reconciliation scan (``provenance scan``) on ``roots`` (all when empty)."""
        chosen = [r for r in self.settings.roots if not roots or str(r.path) in roots]
        if not chosen:
            return
        log.info("reconciliation scan of %s (%s)", ", ".join(str(r.path) for r in chosen), reason)

        def progress(_count: int) -> None:
            if should_stop():
                raise ScanInterruptedError

        result = scan(
            self.settings.model_copy(update={"roots": chosen}),
            self.catalog,
            self.actor,
            self.clock(),
            progress=progress,
            on_walk=lambda _root, files: progress(files),
        )
        c = result.counts
        self.scanned.add(c)
        for root in result.roots:
            if root.online:
                self._offline.discard(root.root)
        log.info(
            "reconciliation scan done: %d new, %d modified, %d moved, %d missing, "
            "%d unchanged, %d skipped (%.1fs)",
            c.indexed,
            c.modified,
            c.moved,
            c.missing,
            c.unchanged,
            c.skipped,
            result.seconds,
        )
