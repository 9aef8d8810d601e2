"""The daemon: watchers + one consumer + the catalog, run in the foreground under systemd.

Start-up takes the pid lock, starts a watcher per root and the consumer, queues the
settling of interrupted moves and deletes (the journal) and then a reconciliation scan of
every root (changes made while the daemon was down), then tells systemd it is ready. The
main thread then only looks after things: it restarts a dead watcher (and rescans its
root), stops watching a root while it is offline, writes the status file and pings
systemd's watchdog. Scheduled jobs (reconcile, sweep, report, fixity: see
``provenance.jobs``) fire on APScheduler's thread and run on the consumer. Signals set a
flag: SIGTERM/SIGINT stop (the batch in hand is finished), SIGHUP reloads the config.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from provenance.audit import Actor
from provenance.catalog import Catalog, redact_url
from provenance.catalog.reports import status_counts
from provenance.config import RootSettings, Settings
from provenance.errors import ConfigError
from provenance.ingest import IngestCounts
from provenance.jobs import QueuedScheduler, register_jobs, start_jobs
from provenance.metrics import RootMetrics, Snapshot, write_metrics
from provenance.retention.journal import settle_interrupted
from provenance.roots import check_root
from provenance.runstate import LOCK_NAME, PidLock, write_status
from provenance.systemd import Notifier
from provenance.watch.changes import ChangeQueue, QueueingHandler, Reload, Rescan, RunJob
from provenance.watch.consumer import Consumer
from provenance.watch.mounts import Mount, WatchMode, read_mounts, watch_mode
from provenance.watch.observers import RootWatcher, watch_limit_reached
from provenance.watch.record import Recorder

log = logging.getLogger(__name__)

#: Seconds between two looks at the watchers and two writes of the status file.
STATUS_INTERVAL = 2.0
#: Seconds between two writes of the metrics file (it asks the catalog for its counts).
METRICS_INTERVAL = 30.0
#: A stop finishes within this many seconds of the signal (systemd's TimeoutStopSec is 10).
STOP_BUDGET = 4.5
LIMIT_ADVICE = (
    "raise fs.inotify.max_user_watches (sysctl -w fs.inotify.max_user_watches=1048576, and "
    'in /etc/sysctl.d/ to keep it) or set watch = "polling" for this root'
)


@dataclass
class _Root:
    """One root as the daemon watches it."""

    settings: RootSettings
    mode: WatchMode
    watcher: RootWatcher | None = None
    online: bool = True
    reason: str = ""
    limit_hit: bool = False

    @property
    def path(self) -> str:
        return str(self.settings.path)


@dataclass
class Daemon:
    """Owns the watchers and the consumer for one catalog; ``run()`` blocks until stopped."""

    settings: Settings
    catalog: Catalog
    actor: Actor
    clock: Callable[[], datetime]
    #: Loads the settings again on SIGHUP (raises ConfigError).
    reload_settings: Callable[[], Settings] | None = None
    notifier: Notifier = field(default_factory=Notifier)
    mounts: Callable[[], list[Mount]] = read_mounts
    status_interval: float = STATUS_INTERVAL
    metrics_interval: float = METRICS_INTERVAL
    changes: ChangeQueue = field(default_factory=queue.SimpleQueue)
    roots: dict[str, _Root] = field(default_factory=dict)
    started_at: datetime | None = None
    #: Set when a stop did not finish in time (the caller should exit at once).
    unfinished: bool = False
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _reload: bool = False
    #: Times the kernel dropped events of a watched root (an inotify queue overflow).
    events_lost: int = 0
    _consumer: Consumer | None = None
    #: The scheduler of reconcile, sweep, report and fixity (their bodies run on the consumer).
    jobs: QueuedScheduler | None = None

    # --- requests (any thread, or a signal handler) -----------------------------------------

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def request_reload(self) -> None:
        self._reload = True
        self._wake.set()

    # --- running ----------------------------------------------------------------------------

    def run(self, *, install_signals: bool = True) -> None:
        """Watch until asked to stop; installs SIGTERM/SIGINT/SIGHUP handlers when asked to."""
        with self._signals() if install_signals else _nothing():
            try:
                self._start()
                self._loop()
            finally:
                self._shutdown()

    def _start(self) -> None:
        self.started_at = self.clock()
        recorder = Recorder(self.settings, self.catalog, self.actor, self.clock)
        self._consumer = Consumer(self.changes, recorder, self.settings, self._waits_for_close)
        self._consumer.start()
        mounts = self.mounts()
        for root in self.settings.roots:
            self.roots[str(root.path)] = _Root(root, watch_mode(root, mounts))
        for state in self.roots.values():
            self._watch(state)
        self.jobs = start_jobs(self.settings, self.catalog, self.changes.put)
        # interrupted moves and deletes are settled before the first scan looks at the tree
        self._settle_then_scan(
            (), "start-up: catching up on changes made while the daemon was down"
        )
        log.info(
            "provenance daemon started (pid %d): config %s, catalog %s, roots: %s",
            os.getpid(),
            self.settings.source,
            redact_url(self.settings.catalog_url),
            ", ".join(f"{s.path} ({s.mode})" for s in self.roots.values()) or "none",
        )
        self.notifier.ready(self._summary())

    def _loop(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        ping_every = self.notifier.watchdog_interval
        tick = min(self.status_interval, ping_every or self.status_interval)
        next_status = next_metrics = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if self._reload:
                self._reload = False
                self.notifier.reloading()
                try:
                    self._apply_reload()
                finally:
                    self.notifier.reloaded(self._summary())
            self._check_roots()
            if now >= next_status:
                self._write_status("running")
                self.notifier.status(self._summary())
                next_status = now + self.status_interval
            if now >= next_metrics:
                self._write_metrics()
                next_metrics = now + self.metrics_interval
            if not consumer.is_alive():
                log.error(
                    "the consumer thread has stopped; exiting so that systemd restarts the daemon"
                )
                raise SystemExit(1)
            if ping_every is not None:
                self.notifier.ping()
            self._wake.wait(tick)
            self._wake.clear()

    def _shutdown(self) -> None:
        deadline = time.monotonic() + STOP_BUDGET
        self.notifier.stopping()
        log.info("stopping: finishing the batch in hand")
        if self.jobs is not None:
            self.jobs.shutdown()
        for state in self.roots.values():
            if state.watcher is not None:
                state.watcher.stop(timeout=1.0)
                state.watcher = None
        if self._consumer is not None:
            self._consumer.stop()
            self._consumer.join(max(0.1, deadline - time.monotonic()))
            self.unfinished = self._consumer.is_alive()
        self._write_status("stopped")
        if self.unfinished:
            log.warning("stopped with a batch unfinished; the next start-up scan records it")
        else:
            log.info("provenance daemon stopped")

    # --- watchers ---------------------------------------------------------------------------

    def _waits_for_close(self, root: str) -> bool:
        state = self.roots.get(root)
        return state is not None and state.mode == "native"

    def _watch(self, state: _Root) -> bool:
        """Start watching a root that is online; return whether it is watched."""
        health = check_root(state.settings)
        if not health.online:
            self._went_offline(state, health.reason)
            return False
        state.online, state.reason = True, ""
        watcher = RootWatcher(
            state.path,
            state.mode,
            QueueingHandler(state.path, self.changes, on_lost=self._note_lost),
            poll_interval=self.settings.daemon.poll_interval,
        )
        try:
            watcher.start()
        except OSError as exc:
            if exc.errno == errno.ENOSPC and state.mode == "native":
                log.error(
                    "inotify watch limit reached watching %s: %s; polling it meanwhile",
                    state.path,
                    LIMIT_ADVICE,
                )
                state.mode = "polling"
                return self._watch(state)
            log.warning(
                "cannot watch %s (%s); retrying every %.0fs", state.path, exc, self.status_interval
            )
            return False
        state.watcher = watcher
        return True

    def _note_lost(self) -> None:
        # on watchdog's thread, after the handler queued a rescan of the root
        self.events_lost += 1

    def _went_offline(self, state: _Root, reason: str) -> None:
        if state.online:
            log.warning(
                "root %s is offline (%s): not watched and nothing under it is marked "
                "missing until it is back",
                state.path,
                reason,
            )
        state.online, state.reason = False, reason
        if state.watcher is not None:
            state.watcher.stop()
            state.watcher = None

    def _check_limit(self) -> None:
        """Note the inotify watch limit on the roots watched natively: a folder created under
        one of them may have gone unwatched (watchdog only logs it)."""
        native = [s for s in self.roots.values() if s.mode == "native" and s.watcher is not None]
        if not native or not watch_limit_reached(native[0].path):
            return
        for state in native:
            state.limit_hit = True
        log.error(
            "inotify watch limit reached: new folders under %s may not be watched; %s. "
            "Polling them meanwhile",
            ", ".join(s.path for s in native),
            LIMIT_ADVICE,
        )

    def _check_roots(self) -> None:
        self._check_limit()
        for state in self.roots.values():
            health = check_root(state.settings)
            if not health.online:
                self._went_offline(state, health.reason)
                continue
            if state.limit_hit and state.mode == "native":
                state.mode = "polling"
                self._restart(state, "switched to polling after the inotify watch limit")
            elif state.watcher is None:
                was_offline = not state.online
                if self._watch(state):
                    if was_offline:
                        log.info("root %s is back online: watching it again", state.path)
                    self._settle_then_scan((state.path,), "watching resumed")
            elif not state.watcher.is_alive():
                log.warning("the watcher of %s died; restarting it", state.path)
                self._restart(state, "watcher restarted")

    def _settle_then_scan(self, roots: tuple[str, ...], reason: str) -> None:
        """Queue for the consumer: settle the interrupted steps under ``roots`` (all when
        empty; a root still offline keeps them pending), then rescan those roots."""

        def body() -> None:
            try:
                settle_interrupted(self.catalog, self.settings, self.actor, self.clock(), roots)
            finally:
                self.changes.put(Rescan(roots, reason))

        self.changes.put(RunJob("settle interrupted steps", body))

    def _restart(self, state: _Root, reason: str) -> None:
        if state.watcher is not None:
            state.watcher.stop()
            state.watcher = None
        if self._watch(state):
            self.changes.put(Rescan((state.path,), reason))

    # --- reload -----------------------------------------------------------------------------

    def _apply_reload(self) -> None:
        if self.reload_settings is None:
            return
        try:
            new = self.reload_settings()
        except ConfigError as exc:
            log.error("config not reloaded, keeping the running one: %s", exc)
            return
        if new.catalog_url != self.settings.catalog_url:
            log.warning("the catalog URL changed; restart the daemon to use it")
            new = new.model_copy(update={"catalog": self.settings.catalog})
        old_roots = {str(r.path): r for r in self.settings.roots}
        new_roots = {str(r.path): r for r in new.roots}
        self.settings = new
        self.changes.put(Reload(new))
        if self.jobs is not None:
            try:
                register_jobs(self.jobs, new, self.catalog)
            except ValueError as exc:
                log.error("schedule not reloaded: %s", exc)
        for path in old_roots.keys() - new_roots.keys():
            removed = self.roots.pop(path)
            if removed.watcher is not None:
                removed.watcher.stop()
            log.info("root %s removed: no longer watched", path)
        mounts = self.mounts()
        for path, root in new_roots.items():
            if old_roots.get(path) == root:
                continue
            state = self.roots.pop(path, None)
            if state is not None and state.watcher is not None:
                state.watcher.stop()
            self.roots[path] = _Root(root, watch_mode(root, mounts))
            if self._watch(self.roots[path]):
                self.changes.put(Rescan((path,), "root added by a reload"))
            log.info(
                "root %s %s (%s)", path, "changed" if state else "added", self.roots[path].mode
            )
        log.info("config reloaded from %s: %d roots", new.source, len(self.roots))
        self.notifier.status(self._summary())

    # --- status -----------------------------------------------------------------------------

    def _summary(self) -> str:
        consumer = self._consumer
        pending = consumer.pending() if consumer is not None else 0
        watched = sum(1 for s in self.roots.values() if s.watcher is not None)
        return f"watching {watched} of {len(self.roots)} roots; {pending} changes pending"

    def status(self, state: str) -> dict[str, Any]:
        """Return what ``provenance status`` shows about this daemon."""
        consumer = self._consumer
        counts = consumer.recorder.counts.as_dict() if consumer is not None else {}
        counts.pop("problems", None)
        return {
            "state": state,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": self.started_at,
            "updated_at": self.clock(),
            "config": self.settings.source,
            "catalog": redact_url(self.settings.catalog_url),
            "queue": consumer.pending() if consumer is not None else 0,
            "errors": consumer.errors if consumer is not None else 0,
            "events_lost": self.events_lost,
            "counts": counts,
            "roots": [
                {
                    "path": s.path,
                    "mode": s.mode,
                    "watching": s.watcher is not None,
                    "online": s.online,
                    "reason": s.reason,
                }
                for s in self.roots.values()
            ],
        }

    def _write_status(self, state: str) -> None:
        try:
            write_status(self.settings.state_path, self.status(state))
        except OSError as exc:
            log.warning("cannot write the status file in %s: %s", self.settings.state_path, exc)

    def metrics(self) -> Snapshot:
        """Return the numbers of ``metrics.prom``: this daemon's, and the catalog's counts."""
        consumer = self._consumer
        counts = IngestCounts()
        if consumer is not None:
            counts.add(consumer.recorder.counts)
            counts.add(consumer.recorder.scanned)
        now = self.clock()
        with self.catalog.read() as tx:
            ai_assets = status_counts(tx)
            last_scans = {path: tx.last_scan(path) for path in self.roots}
        roots = []
        for path, state in self.roots.items():
            last = last_scans[path]
            finished = last.finished_at if last is not None else None
            if finished is not None and finished.tzinfo is None:
                finished = finished.replace(tzinfo=UTC)
            age = (now - finished).total_seconds() if finished is not None else None
            roots.append(RootMetrics(path, state.watcher is not None, state.online, age))
        return Snapshot(
            at=now.timestamp(),
            started_at=(self.started_at or now).timestamp(),
            queue=consumer.pending() if consumer is not None else 0,
            files_ingested=counts.recorded,
            read_errors=counts.skipped + (consumer.errors if consumer is not None else 0),
            events_lost=self.events_lost,
            roots=tuple(roots),
            ai_assets=ai_assets,
        )

    def _write_metrics(self) -> None:
        try:
            write_metrics(self.settings.state_path, self.metrics())
        except Exception as exc:  # metrics never stop the daemon (a catalog briefly away)
            log.warning("cannot write the metrics in %s: %s", self.settings.state_path, exc)

    @contextmanager
    def _signals(self) -> Iterator[None]:
        def on_stop(_signum: int, _frame: FrameType | None) -> None:
            self.request_stop()  # only flags: the main loop logs and stops

        def on_hup(_signum: int, _frame: FrameType | None) -> None:
            self.request_reload()

        handlers = {signal.SIGTERM: on_stop, signal.SIGINT: on_stop, signal.SIGHUP: on_hup}
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def lock_for(settings: Settings) -> PidLock:
    """Return the pid lock of the daemon using these settings (one per host and state dir)."""
    return PidLock(settings.state_path / LOCK_NAME)
