"""The one thread that writes the catalog: take changes off the queue, settle them, record them.

Handlers on watchdog's threads only enqueue (``watch.changes``); this consumer folds the
changes into the settler, and each time files are ready it records them in one batch
through the recorder. A batch the catalog cannot take (down, disk full) is kept in the
backlog (``watch.backlog``, spooled to the state directory) and tried again until it is
recorded. Its loop is the daemon's one broad ``except``: a bug met on one file is logged
with its traceback and the daemon goes on (the file is caught by the next reconciliation
scan).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from provenance.config import Settings
from provenance.errors import AuditError, CatalogError
from provenance.files.walk import ALWAYS_IGNORED, is_ignored, name_is_valid
from provenance.watch.backlog import SPOOL_NAME, Backlog
from provenance.watch.changes import Change, ChangeQueue, Item, Reload, Rescan, RunJob, Stop
from provenance.watch.record import Recorder, ScanInterruptedError, release_memory
from provenance.watch.settle import Event, Gone, Ready, Settler

log = logging.getLogger(__name__)

#: What keeps a batch for later instead of dropping it: the catalog is out (down, its disk
#: full, locked too long), or its audit trail cannot be written (the audit key file cannot
#: be made on a full disk, or is missing): the same batch goes in once that is mended.
UNRECORDABLE = (CatalogError, AuditError)
#: On inotify a file written but not closed is waited for this many quiet periods.
UNCLOSED_FACTOR = 30
#: The longest the consumer sleeps with nothing due (it wakes at once for a new change).
MAX_WAIT = 0.5
#: Changes taken off the queue in one go.
MAX_DRAIN = 20_000
#: Deletes not yet recorded beyond which a new file is not looked up as one of them renamed
#: (a mass delete is left to settle as it came; the record still finds moves by content).
MAX_PAIRING = 1_000
#: After work, memory is given back to the OS once the consumer has been idle this long
#: (not in a lull inside a burst: a release closes the catalog's connections).
IDLE_BEFORE_RELEASE = 5.0


def is_ignored_path(root: str, path: str, patterns: Sequence[str]) -> bool:
    """Return whether ``path`` is outside ``root`` or one of its names is skipped by the scan
    too (temp and partial files, our sidecars, configured globs, names that are not UTF-8)."""
    prefix = root.rstrip("/") + "/"
    if not path.startswith(prefix):
        return True
    return any(
        is_ignored(part, patterns) or not name_is_valid(part)
        for part in path[len(prefix) :].split("/")
    )


class Consumer(threading.Thread):
    """Settles and records changes; the only thread that writes the catalog."""

    def __init__(
        self,
        changes: ChangeQueue,
        recorder: Recorder,
        settings: Settings,
        waits_for_close: Callable[[str], bool],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name="provenance-consumer", daemon=True)
        self.changes = changes
        self.recorder = recorder
        self.waits_for_close = waits_for_close
        self.monotonic = monotonic
        quiet = settings.daemon.quiet_period
        self.settler = Settler(quiet, quiet * UNCLOSED_FACTOR)
        self.settings = settings
        self.errors = 0
        self.batches = 0
        self.backlog = Backlog(settings.state_path / SPOOL_NAME)
        self._stopping = threading.Event()
        self._worked = False
        self._last_work = 0.0
        #: When (monotonic) the consumer last went round its loop or read a file in a scan.
        self.beat_at = monotonic()
        #: What the consumer is busy with ("" when idle), for the log of a stall.
        self.doing = ""
        #: Whether it waits for work on the queue (idle, not stuck).
        self.waiting = False

    # --- called from other threads ------------------------------------------------------

    def stop(self) -> None:
        """Ask the consumer to stop after the batch in hand."""
        self._stopping.set()
        self.changes.put(Stop())

    def pending(self) -> int:
        """Return how many changes wait: queued, and settling (approximate, for the status)."""
        return self.changes.qsize() + len(self.settler)

    def progress_mark(self) -> tuple[float, float]:
        """Return (last beat, CPU seconds this thread has used): while either moves, the
        consumer makes progress (a long job without beats still uses CPU; a consumer blocked
        on a lock or a hung share uses none)."""
        cpu = 0.0
        if self.ident is not None and self.is_alive():
            with contextlib.suppress(OSError):
                cpu = time.clock_gettime(time.pthread_getcpuclockid(self.ident))
        return self.beat_at, cpu

    def beat(self) -> None:
        self.beat_at = self.monotonic()

    def kept(self) -> tuple[int, str]:
        """Return how many changes wait for the catalog (the backlog), and the last error."""
        return len(self.backlog), self.backlog.last_error

    # --- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        log.debug("consumer started")
        while not self._stopping.is_set():
            self.beat()
            self._guarded(self._step, "batch")
        self.recorder.close()
        log.debug("consumer stopped")

    def _guarded(self, action: Callable[[], None], what: str) -> None:
        try:
            action()
        except ScanInterruptedError:
            log.info(
                "stopping: reconciliation scan interrupted (the next start-up scan finishes it)"
            )
        except Exception:  # the daemon's one broad except: never die of one file
            self.errors += 1
            log.exception("%s failed; going on", what)

    def _step(self) -> None:
        wait = self.settler.next_due(self.monotonic())
        items = self._take(MAX_WAIT if wait is None else min(wait, MAX_WAIT))
        rescans: list[Rescan] = []
        jobs: list[RunJob] = []
        for item in items:
            if isinstance(item, Stop):
                self._stopping.set()
            elif isinstance(item, Rescan):
                rescans.append(item)
            elif isinstance(item, RunJob):
                jobs.append(item)
            elif isinstance(item, Reload):
                self._reload(item.settings)
            elif isinstance(item, Change):
                self._note(item)
        if self._stopping.is_set():
            return
        created = {i.path for i in items if isinstance(i, Change) and i.kind == "created"}
        if created:
            self._pair_renames(created)
        if rescans:
            self._rescan(rescans)
        for job in jobs:
            self.doing = f"job {job.name}"
            self._guarded(job.run, f"job {job.name}")
        self.doing = "recording"
        self._record_due()
        self.doing = ""
        now = self.monotonic()
        if items or rescans or len(self.settler) or self.backlog:
            self._worked, self._last_work = True, now
        elif self._worked and now - self._last_work >= IDLE_BEFORE_RELEASE:
            # a burst or a scan grows the heap; an idle daemon should be small again
            release_memory(self.recorder.catalog)
            self._worked = False

    def _take(self, timeout: float) -> list[Item]:
        self.waiting = True
        try:
            items = (
                [self.changes.get(timeout=timeout)] if timeout > 0 else [self.changes.get_nowait()]
            )
        except queue.Empty:
            return []
        finally:
            self.waiting = False
        while len(items) < MAX_DRAIN:
            try:
                items.append(self.changes.get_nowait())
            except queue.Empty:
                break
        return items

    def _record_due(self) -> None:
        now = self.monotonic()
        ready, gone = self.settler.pop_due(now, limit=self.settings.scan.batch_size)
        kept = 0
        if self.backlog:
            if not self.backlog.is_due(now):
                self.backlog.hold(ready, gone)  # the catalog is still out: no try yet
                return
            kept_ready, kept_gone = self.backlog.take()
            kept = len(kept_ready) + len(kept_gone)
            ready, gone = kept_ready + ready, kept_gone + gone
        if not ready and not gone:
            return
        self.batches += 1
        try:
            self._record(ready, gone)
        except UNRECORDABLE as exc:
            # nothing is dropped: kept (and spooled), tried again after a pause
            self.backlog.keep(ready, gone, str(exc), self.monotonic())
            return
        if kept:
            self.backlog.recorded(kept)

    def _record(self, ready: list[Ready], gone: list[Gone]) -> None:
        """Record ready files and deletes; raises CatalogError when the catalog is out,
        AuditError when its audit trail cannot be written (UNRECORDABLE)."""
        if ready:
            files, folders = self.settler.deleted_paths()
            vanished = {g.path for g in gone if not g.is_dir} | files
            folders |= {g.path for g in gone if g.is_dir}
            if folders:
                vanished |= self.recorder.paths_under(folders)
            for item in self._record_ready(ready, vanished):
                self.settler.retry(item, self.monotonic())
        if gone:
            self._passing_catalog_errors(
                lambda: self.recorder.record_gone(gone), "recording deletes"
            )

    def _record_ready(self, ready: list[Ready], vanished: set[str]) -> list[Ready]:
        unsettled: list[Ready] = []

        def whole_batch() -> None:
            unsettled.extend(self.recorder.record_ready(ready, vanished))

        errors = self.errors
        self._passing_catalog_errors(whole_batch, f"recording {len(ready)} files")
        if self.errors > errors and len(ready) > 1:
            # one bad file must not cost the others: record them one by one
            for item in ready:
                self._passing_catalog_errors(
                    lambda item=item: unsettled.extend(  # type: ignore[misc]
                        self.recorder.record_ready([item], vanished)
                    ),
                    f"recording {item.path}",
                )
        return unsettled

    def _passing_catalog_errors(self, action: Callable[[], None], what: str) -> None:
        """``_guarded``, but a catalog that cannot take the change now (UNRECORDABLE) is the
        caller's to handle."""
        caught: list[CatalogError | AuditError] = []

        def run() -> None:
            try:
                action()
            except UNRECORDABLE as exc:
                caught.append(exc)

        self._guarded(run, what)
        if caught:
            raise caught[0]

    # --- changes --------------------------------------------------------------------------

    def _note(self, change: Change) -> None:
        now, root = self.monotonic(), change.root
        patterns = (*ALWAYS_IGNORED, *self.settings.scan.ignore)
        if root not in self._roots():
            return
        source_ok = bool(change.path) and not is_ignored_path(root, change.path, patterns)
        if change.kind == "moved":
            dest_ok = bool(change.dest) and not is_ignored_path(root, change.dest, patterns)
            self._note_move(change, source_ok, dest_ok, now)
        elif not source_ok and change.path.rstrip("/") != root:
            return
        elif change.kind == "deleted":
            self.settler.deleted(root, change.path, now, is_dir=change.is_dir)
        else:
            event: Event = change.kind
            self.settler.touched(
                root, change.path, now, event, waits_for_close=self.waits_for_close(root)
            )

    def _note_move(self, change: Change, source_ok: bool, dest_ok: bool, now: float) -> None:
        root = change.root
        if change.is_dir:
            if change.synthetic:
                return
            if source_ok and dest_ok:
                self.settler.folder_moved(change.path, change.dest)
                self.recorder.move_folder(root, change.path, change.dest)
            elif source_ok:
                self.settler.deleted(root, change.path, now, is_dir=True)
            # moved in from outside: its files come as events of their own
        elif change.synthetic and source_ok and dest_ok:
            return  # part of a folder rename, recorded with the folder
        elif source_ok and dest_ok:
            self.settler.moved(root, change.path, change.dest, now)
        elif dest_ok:
            # moved in from elsewhere: complete, but its source may show up as a delete in a
            # moment, and then this is a move
            self.settler.touched(
                root, change.dest, now, "moved_in", waits_for_close=self.waits_for_close(root)
            )
        elif source_ok:
            self.settler.deleted(root, change.path, now)

    def _pair_renames(self, created: set[str]) -> None:
        """Make a rename that came as a delete and a new file a move again, at once.

        A polling snapshot lists a folder, then looks at each name: a file renamed in
        between is gone from the old name and not yet at the new, so the rename comes as a
        delete now and a new file at the next poll. Left so, the new file waits its quiet
        period and the delete its own before the record (and our sidecar) follows it; a
        new file with the inode, size and modification time the catalog holds for a file
        just deleted under the same root is that file, renamed.
        """
        deleted = self.settler.deleted_files()
        new = {p: r for p, r in self.settler.unsettled_new().items() if p in created}
        if not deleted or not new or len(deleted) > MAX_PAIRING:
            return
        try:
            pairs = self.recorder.renames(deleted, new)
        except CatalogError as exc:  # then they settle as they came: nothing is lost
            log.debug("renames not paired now: %s", exc)
            return
        now = self.monotonic()
        for source, dest in pairs:
            self.settler.paired(source, dest, now)

    def _roots(self) -> set[str]:
        return {str(r.path) for r in self.settings.roots}

    def _rescan(self, rescans: list[Rescan]) -> None:
        roots: tuple[str, ...] = ()
        if all(r.roots for r in rescans):
            roots = tuple(sorted({root for r in rescans for root in r.roots}))
        reason = "; ".join(sorted({r.reason for r in rescans}))

        def should_stop() -> bool:  # asked at every file the scan walks past or reads
            self.beat()
            return self._stopping.is_set()

        self.doing = f"reconciliation scan ({reason})"
        self._guarded(lambda: self.recorder.rescan(roots, reason, should_stop), "rescan")

    def _reload(self, settings: Settings) -> None:
        for gone in self._roots() - {str(r.path) for r in settings.roots}:
            self.settler.forget_root(gone)
        self.settings = settings
        self.settler.quiet_period = settings.daemon.quiet_period
        self.settler.unclosed_grace = settings.daemon.quiet_period * UNCLOSED_FACTOR
        self.recorder.use_settings(settings)
