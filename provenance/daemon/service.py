"""The daemon: watchers + one consumer + the catalog, run in the foreground under systemd.

Start-up takes the pid lock, starts a watcher per root and the consumer, queues the
settling of interrupted moves and deletes (the journal) and then a reconciliation scan of
every root (changes made while the daemon was down), then tells systemd it is ready. The
main thread then only looks after things: each root's watcher must prove it hears
(``watch.hearing``: a canary, the root's identity), and one that is dead or deaf is
restarted and its root rescanned; a root is not watched while it is offline; it writes the
status file, and pings systemd's watchdog only while the consumer makes progress. Scheduled
jobs (reconcile, sweep, report, fixity: see ``provenance.daemon.jobs``) fire on APScheduler's
thread and run on the consumer. Signals set a flag: SIGTERM/SIGINT stop (the batch in hand
is finished), SIGHUP reloads the config.
"""

from __future__ import annotations

import contextlib
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
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from provenance.audit import Actor
from provenance.catalog import Catalog, redact_url
from provenance.config import RootSettings, Settings
from provenance.daemon.api import ApiServer, start_api
from provenance.daemon.jobs import QueuedScheduler, register_jobs, start_jobs
from provenance.daemon.metrics import NotifyCounts, RootMetrics, Snapshot, write_metrics
from provenance.daemon.runstate import LOCK_NAME, PidLock, write_status
from provenance.daemon.systemd import Notifier
from provenance.errors import ConfigError, ProvenanceError
from provenance.files.readfile import read_options
from provenance.files.roots import RootHealth, check_root
from provenance.ingest.ingest import IngestCounts
from provenance.service import retention
from provenance.service.context import App, Caller
from provenance.service.metrics import catalog_counts
from provenance.watch.changes import ChangeQueue, QueueingHandler, Reload, Rescan, RunJob
from provenance.watch.consumer import Consumer
from provenance.watch.hearing import (
    CANARY_TIMEOUT,
    PROOF_INTERVAL,
    Deafness,
    Hearing,
    canary_timeout,
    identity_of,
)
from provenance.watch.mounts import Mount, WatchMode, mount_of, read_mounts, watch_mode
from provenance.watch.observers import RootWatcher, watch_limit_reached
from provenance.watch.record import Recorder

if TYPE_CHECKING:
    from provenance.web import WebServer

log = logging.getLogger(__name__)

#: Seconds between two looks at the watchers and two writes of the status file.
STATUS_INTERVAL = 2.0
#: Seconds between two writes of the metrics file (it asks the catalog for its counts).
METRICS_INTERVAL = 30.0
#: A stop finishes within this many seconds of the signal (systemd's TimeoutStopSec is 10).
STOP_BUDGET = 4.5
#: Seconds the STATUS= line tells of a deaf watcher restarted.
DEAF_SHOWN_FOR = 600.0
#: Without systemd's watchdog, a consumer stuck this many seconds is logged.
STALL_LOG = 60.0
#: A root watched natively that loses this many canaries within LOST_CANARY_WINDOW seconds is
#: polled instead: inotify does not work well there.
CANARIES_BEFORE_POLLING = 2
LOST_CANARY_WINDOW = 600.0
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
    #: The mount point of the filesystem the root was last watched on.
    mount_point: str = ""
    #: The proofs that the watcher hears (one per start of a watcher).
    hearing: Hearing | None = None
    handler: QueueingHandler | None = None
    #: Watchers restarted because they were deaf; the last reason, and when.
    deaf_restarts: int = 0
    last_deaf: str = ""
    last_deaf_at: datetime | None = None
    #: When (monotonic) its canaries were lost lately; events lost by the watchers stopped.
    canaries_lost: list[float] = field(default_factory=list)
    lost_earlier: int = 0
    #: When (monotonic) a watcher of the root last heard its canary, whichever watcher.
    canary_heard_at: float | None = None

    @property
    def path(self) -> str:
        return str(self.settings.path)

    @property
    def events_lost(self) -> int:
        return self.lost_earlier + (self.handler.lost if self.handler is not None else 0)

    @property
    def hears(self) -> bool | None:
        """Whether the watcher proved it hears since it started (None: not proven yet)."""
        if self.watcher is None or self.hearing is None:
            return False
        return True if self.hearing.proved_at is not None else None


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
    #: Seconds between two canaries of a root that hears, and the least a canary may take to
    #: come back (watch.hearing).
    proof_interval: float = PROOF_INTERVAL
    canary_timeout: float = CANARY_TIMEOUT
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
    #: The consumer's last progress mark, when (monotonic) it last moved, whether a stall was
    #: logged.
    _progress: tuple[float, float] = (0.0, 0.0)
    _progress_at: float = 0.0
    _stall_logged: bool = False
    #: The scheduler of reconcile, sweep, report and fixity (their bodies run on the consumer).
    jobs: QueuedScheduler | None = None
    #: The detection settings' fingerprint of the running config (path rules, ``deep``,
    #: sidecars, C2PA trust): a reload that changes it rescans the roots it kept.
    _detection: str = ""
    #: Serve the catalog to other local users on the socket (``daemon.api``).
    serve_socket: bool = True
    _api: ApiServer | None = None
    #: The web review queue (``provenance.web``), when ``[web] enabled``: its libraries are
    #: imported only then.
    _web: WebServer | None = None

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
        if self.settings.web.enabled:  # first: an address in use stops the start at once
            from provenance.web import start_web

            self._web = start_web(self.settings, self.catalog, self.clock, self.metrics)
        self._detection = read_options(self.settings).fingerprint()
        recorder = Recorder(self.settings, self.catalog, self.actor, self.clock)
        self._consumer = Consumer(self.changes, recorder, self.settings, self._waits_for_close)
        self._consumer.start()
        mounts = self.mounts()
        for root in self.settings.roots:
            self.roots[str(root.path)] = _Root(root, watch_mode(root, mounts))
        for state in self.roots.values():
            self._watch(state)
        self.jobs = start_jobs(self.settings, self.catalog, self.changes.put)
        self._api = (
            start_api(self.settings, self.catalog, self.clock, self._queue_job)
            if self.serve_socket
            else None
        )
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

    def _queue_job(self, name: str, body: Callable[[], None]) -> None:
        """Run a long action asked through the socket on the consumer, as a scheduled job."""
        self.changes.put(RunJob(name, body))

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
            if self._consumer_progresses(now, ping_every) and ping_every is not None:
                self.notifier.ping()  # never on a timer alone: systemd restarts a stuck daemon
            self._wake.wait(tick)
            self._wake.clear()

    def _consumer_progresses(self, now: float, ping_every: float | None) -> bool:
        """Return whether the consumer made progress since the last look (it waits for work,
        went round its loop, read a file, or used CPU), and log when it has made none for long."""
        consumer = self._consumer
        assert consumer is not None
        mark = consumer.progress_mark()
        if consumer.waiting or mark != self._progress or not self._progress_at:
            self._progress, self._progress_at = mark, now
            if self._stall_logged:
                self._stall_logged = False
                log.info("the consumer makes progress again")
            return True
        stalled = now - self._progress_at
        if not self._stall_logged and stalled >= (2 * ping_every if ping_every else STALL_LOG):
            self._stall_logged = True
            log.error(
                "the consumer has made no progress for %.1fs (%s); %s",
                stalled,
                consumer.doing or "idle",
                "systemd's watchdog restarts the daemon if it stays stuck"
                if ping_every
                else "restart the daemon if it stays stuck",
            )
        return False

    def _stalled_for(self) -> float:
        return time.monotonic() - self._progress_at if self._stall_logged else 0.0

    def _shutdown(self) -> None:
        deadline = time.monotonic() + STOP_BUDGET
        self.notifier.stopping()
        log.info("stopping: finishing the batch in hand")
        if self._web is not None:
            self._web.stop()
        if self._api is not None:
            self._api.stop()
        if self.jobs is not None:
            self.jobs.shutdown()
        for state in self.roots.values():
            self._unwatch(state, timeout=1.0)
        if self._consumer is not None:
            self._consumer.stop()
            self._consumer.join(max(0.1, deadline - time.monotonic()))
            self.unfinished = self._consumer.is_alive()
        # the events since the last anchor (ingest, the refusals counted at the stop): a
        # daemon stopped with its batch unfinished leaves without closing the catalog
        self.catalog.anchor_unanchored("daemon stopped")
        self._write_status("stopped")
        if self.unfinished:
            log.warning("stopped with a batch unfinished; the next start-up scan records it")
        else:
            log.info("provenance daemon stopped")

    # --- watchers ---------------------------------------------------------------------------

    def _waits_for_close(self, root: str) -> bool:
        state = self.roots.get(root)
        return state is not None and state.mode == "native"

    def _health(self, state: _Root, mounts: list[Mount]) -> RootHealth:
        """Return the root's health: ``check_root``'s, and offline while the filesystem it was
        watched on is not mounted (its mount point then shows the folder underneath)."""
        health = check_root(state.settings)
        points = {m.point for m in mounts}
        if health.online and points and state.mount_point not in ("", "/", *points):
            return RootHealth(False, f"its filesystem, mounted at {state.mount_point}, is gone")
        return health

    def _watch(self, state: _Root, mounts: list[Mount] | None = None) -> bool:
        """Start watching a root that is online; return whether it is watched."""
        mounts = self.mounts() if mounts is None else mounts
        health = self._health(state, mounts)
        if not health.online:
            self._went_offline(state, health.reason)
            return False
        state.online, state.reason = True, ""
        resolved = Path(state.path)
        with contextlib.suppress(OSError):
            resolved = resolved.resolve()
        mount = mount_of(resolved, mounts)
        state.mount_point = mount.point if mount is not None else ""
        poll_interval = self.settings.daemon.poll_interval
        hearing = Hearing(
            state.path,
            identity_of(state.path),  # before the watch is set: a remount meanwhile shows
            timeout=self.canary_timeout,
            interval=self.proof_interval,
        )
        handler = QueueingHandler(state.path, self.changes, hearing, on_lost=self._note_lost)
        watcher = RootWatcher(state.path, state.mode, handler, poll_interval=poll_interval)
        began = time.monotonic()
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
        hearing.timeout = canary_timeout(
            time.monotonic() - began,
            poll_interval if state.mode == "polling" else None,
            self.canary_timeout,
        )
        state.watcher, state.hearing, state.handler = watcher, hearing, handler
        return True

    def _note_lost(self) -> None:
        # on watchdog's thread, after the handler queued a rescan of the root
        self.events_lost += 1

    def _unwatch(self, state: _Root, timeout: float = 3.0) -> None:
        """Stop the root's watcher, if any, and take back its canary."""
        watcher, hearing, handler = state.watcher, state.hearing, state.handler
        state.watcher = state.hearing = state.handler = None
        if watcher is not None:
            watcher.stop(timeout)
        if hearing is not None:
            hearing.close()
        if handler is not None:
            state.lost_earlier += handler.lost

    def _went_offline(self, state: _Root, reason: str) -> None:
        if state.online:
            log.warning(
                "root %s is offline (%s): not watched and nothing under it is marked "
                "missing until it is back",
                state.path,
                reason,
            )
        state.online, state.reason = False, reason
        self._unwatch(state)

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
        mounts = self.mounts()
        for state in self.roots.values():
            health = self._health(state, mounts)
            if not health.online:
                self._went_offline(state, health.reason)
                continue
            if state.limit_hit and state.mode == "native":
                state.mode = "polling"
                self._restart(state, "switched to polling after the inotify watch limit")
            elif state.watcher is None:
                was_offline = not state.online
                if self._watch(state, mounts):
                    if was_offline:
                        log.info("root %s is back online: watching it again", state.path)
                    self._settle_then_scan((state.path,), "watching resumed")
            elif not state.watcher.is_alive():
                log.warning("the watcher of %s died; restarting it", state.path)
                self._restart(state, "watcher restarted")
            else:
                self._prove(state)

    def _prove(self, state: _Root) -> None:
        hearing = state.hearing
        assert hearing is not None
        proved_at = hearing.proved_at
        deaf = hearing.check(time.monotonic())
        if hearing.heard_at is not None:
            state.canary_heard_at = hearing.heard_at
        if deaf is not None:
            self._deaf(state, deaf)
        elif proved_at is None and hearing.proved_at is not None:
            log.info(
                "root %s hears (%s)",
                state.path,
                "its canary came back"
                if hearing.proof == "canary"
                else "proved by its device and inode: no canary can be written there",
            )

    def _deaf(self, state: _Root, deaf: Deafness) -> None:
        now = time.monotonic()
        if deaf.kind == "canary":
            state.canaries_lost.append(now)
        state.canaries_lost = [t for t in state.canaries_lost if now - t < LOST_CANARY_WINDOW]
        log.warning(
            "root %s is not heard: %s; restarting its watcher and rescanning it", state.path, deaf
        )
        if state.mode == "native" and len(state.canaries_lost) >= CANARIES_BEFORE_POLLING:
            log.error(
                "root %s: inotify lost %d canaries there within %.0f minutes; polling it from "
                "now on",
                state.path,
                len(state.canaries_lost),
                LOST_CANARY_WINDOW / 60,
            )
            state.mode = "polling"
        state.last_deaf, state.last_deaf_at = str(deaf), self.clock()
        try:
            self._restart(state, f"watcher not heard: {deaf}")
        finally:
            # counted once the restart is done: whoever reads the count (status, metrics,
            # a test) sees the mode and the watcher the restart chose
            state.deaf_restarts += 1

    def _settle_then_scan(self, roots: tuple[str, ...], reason: str) -> None:
        """Queue for the consumer: settle the interrupted steps under ``roots`` (all when
        empty; a root still offline keeps them pending), then rescan those roots."""

        def body() -> None:
            try:
                app = App.using(self.settings, self.catalog)
                retention.settle(app, Caller.service(self.actor), roots, now=self.clock())
            finally:
                self.changes.put(Rescan(roots, reason))

        self.changes.put(RunJob("settle interrupted steps", body))

    def _restart(self, state: _Root, reason: str) -> None:
        self._unwatch(state)
        if self._watch(state):
            self.changes.put(Rescan((state.path,), reason))

    # --- reload -----------------------------------------------------------------------------

    def _apply_reload(self) -> None:
        for watched in self.roots.values():
            if watched.hearing is not None:
                watched.hearing.prove_now()  # every root proves again that it hears
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
            self._unwatch(self.roots.pop(path))
            log.info("root %s removed: no longer watched", path)
        mounts = self.mounts()
        for path, root in new_roots.items():
            if old_roots.get(path) == root:
                continue
            state = self.roots.pop(path, None)
            if state is not None:
                self._unwatch(state)
            self.roots[path] = _Root(root, watch_mode(root, mounts))
            if self._watch(self.roots[path]):
                self.changes.put(Rescan((path,), "root added by a reload"))
            log.info(
                "root %s %s (%s)", path, "changed" if state else "added", self.roots[path].mode
            )
        self._rescan_if_detection_changed(new, old_roots, new_roots)
        log.info("config reloaded from %s: %d roots", new.source, len(self.roots))
        self.notifier.status(self._summary())

    def _rescan_if_detection_changed(
        self, new: Settings, old_roots: dict[str, RootSettings], new_roots: dict[str, RootSettings]
    ) -> None:
        """Queue a rescan of the roots a reload kept when the detection settings changed: the
        scan sees the new fingerprint and reads their files again, judged by the new rules,
        now rather than at the next scheduled reconciliation (added roots have their own)."""
        try:
            detection = read_options(new).fingerprint()
        except ConfigError as exc:  # an anchor file gone: the reader says so too
            log.error("detection settings not compared after the reload: %s", exc)
            return
        if detection == self._detection:
            return
        self._detection = detection
        kept = tuple(path for path, root in new_roots.items() if old_roots.get(path) == root)
        if kept:
            log.info("detection settings changed: rescanning %s", ", ".join(kept))
            self.changes.put(Rescan(kept, "detection settings changed by a reload"))

    # --- status -----------------------------------------------------------------------------

    def _summary(self) -> str:
        """Return the STATUS= line: e.g. "watching 3 of 3 roots; 0 changes pending"."""
        consumer = self._consumer
        pending = consumer.pending() if consumer is not None else 0
        watched = [s for s in self.roots.values() if s.watcher is not None]
        parts = [f"watching {len(watched)} of {len(self.roots)} roots"]
        parts.append(f"{pending} changes pending")
        if unproven := sum(1 for s in watched if s.hears is None):
            parts.append(f"{unproven} not proven to hear yet")
        now = self.clock()
        for state in self.roots.values():
            if state.last_deaf_at is not None:
                ago = (now - state.last_deaf_at).total_seconds()
                if ago < DEAF_SHOWN_FOR:
                    parts.append(
                        f"{state.path} was not heard {ago:.0f}s ago ({state.last_deaf}): "
                        "watcher restarted"
                    )
        kept, error = consumer.kept() if consumer is not None else (0, "")
        if kept:
            parts.append(f"{kept} kept for the catalog ({error})")
        if stalled := self._stalled_for():
            parts.append(f"consumer stuck for {stalled:.0f}s")
        return "; ".join(parts)

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
            "backlog": consumer.kept()[0] if consumer is not None else 0,
            "last_error": consumer.kept()[1] if consumer is not None else "",
            "counts": counts,
            "consumer_stalled_for": round(self._stalled_for(), 1),
            "roots": [self._root_status(s) for s in self.roots.values()],
            # the webhooks' state ([notify]; provenance.notify.outbox), when they are sent
            "notify": self.jobs.outbox.status() if self.jobs and self.jobs.outbox else {},
        }

    def _root_status(self, state: _Root) -> dict[str, Any]:
        hearing = state.hearing
        proved_at = None
        if hearing is not None and hearing.proved_at is not None:
            proved_at = self.clock() - timedelta(seconds=time.monotonic() - hearing.proved_at)
        return {
            "path": state.path,
            "mode": state.mode,
            "watching": state.watcher is not None,
            "online": state.online,
            "reason": state.reason,
            "hears": state.hears,
            "proof": hearing.proof if hearing is not None else None,
            "proved_at": proved_at,
            "deaf_restarts": state.deaf_restarts,
            "last_deaf": state.last_deaf,
            "last_deaf_at": state.last_deaf_at,
            "events_lost": state.events_lost,
        }

    def _write_status(self, state: str) -> None:
        try:
            write_status(self.settings.state_path, self.status(state))
        except (OSError, ProvenanceError) as exc:
            log.warning("cannot write the status file in %s: %s", self.settings.state_path, exc)

    def metrics(self) -> Snapshot:
        """Return the numbers of ``metrics.prom``: this daemon's, and the catalog's counts."""
        consumer = self._consumer
        counts = IngestCounts()
        if consumer is not None:
            counts.add(consumer.recorder.counts)
            counts.add(consumer.recorder.scanned)
        now = self.clock()
        app = App.using(self.settings, self.catalog)
        counted = catalog_counts(app, Caller.service(self.actor), self.roots, totals=False)
        roots = []
        for path, state in self.roots.items():
            last = counted.last_scans.get(path)
            finished = last.finished_at if last is not None else None
            age = (now - finished).total_seconds() if finished is not None else None
            heard_at = state.canary_heard_at
            roots.append(
                RootMetrics(
                    path,
                    state.watcher is not None,
                    state.online,
                    age,
                    hears=bool(state.hears),
                    last_canary_age=time.monotonic() - heard_at if heard_at is not None else None,
                )
            )
        return Snapshot(
            at=now.timestamp(),
            started_at=(self.started_at or now).timestamp(),
            queue=consumer.pending() if consumer is not None else 0,
            files_ingested=counts.recorded,
            read_errors=counts.skipped + (consumer.errors if consumer is not None else 0),
            events_lost=self.events_lost,
            roots=tuple(roots),
            backlog=consumer.kept()[0] if consumer is not None else 0,
            ai_assets=counted.ai_assets,
            notify=self._notify_counts(),
        )

    def _notify_counts(self) -> dict[str, NotifyCounts]:
        """Each webhook's notices sent, failed and given up ([notify]), for the metrics."""
        outbox = self.jobs.outbox if self.jobs else None
        if outbox is None:
            return {}
        return {
            name: NotifyCounts(sent, failed, given_up)
            for name, (sent, failed, given_up) in outbox.counts().items()
        }

    def _write_metrics(self) -> None:
        shared = self.settings.daemon.metrics_dir
        folder = shared if shared is not None else self.settings.state_path
        try:
            write_metrics(folder, self.metrics(), shared=shared is not None)
        except Exception as exc:  # metrics never stop the daemon (a catalog briefly away)
            log.warning("cannot write the metrics in %s: %s", folder, exc)

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
