"""The outbox: every notifiable audit event is sent to each webhook that wants it, at least
once, whatever crashes or fails meanwhile.

The audit trail is the outbox. Each webhook has a cursor, the id of the last event it was
sent (or passed over by its filter), kept in the catalog (``notify_cursors``, shared by the
nodes of a fleet) and written only after the receiver answered 2xx (at most every second
while a round sends, and when it ends or a send fails). A round reads the
events after each cursor, oldest first, and sends them one by one; a failure (no answer
within the webhook's timeout, a refused connection, a non-2xx status) stops that webhook's
round and it is tried again after a wait that doubles from ``notify.interval`` up to
``notify.max_backoff``, with the same events: nothing is skipped. A notice the receiver
refuses for good (an HTTP 4xx other than 408 and 429: it would be refused again) is given
up: logged once, recorded in the audit trail (``notice-given-up``, with the webhook, the
notice and the status), counted in ``provenance status`` and the metrics, and the round goes
on with the next one. A daemon killed between a
2xx and the cursor's write sends those events again; the notice's id (``event-<id>``) is the
receiver's idempotency key. A webhook seen for the first time starts at the newest event
(enabling notifications does not replay the catalog's history).

Weekly digests (``report.deliver``) are spooled as files in ``notify-spool/`` and sent by
the same rounds, each deleted after its 2xx.

The daemon runs the rounds on a thread of their own (``start``): a slow receiver never holds
up the watchers or the consumer. In a fleet, one node at a time runs a round (the ``notify``
fleet lock).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance.access.identity import Actor
from provenance.catalog import Catalog, utcnow
from provenance.catalog.locks import fleet_lock
from provenance.catalog.notices import events_between, last_event_id, load_cursors, save_cursor
from provenance.config import NotifySettings, Settings, WebhookSettings
from provenance.config.locations import PRIVATE_FILE_MODE, open_private_dir
from provenance.errors import ConfinementError, NotifyError, ProvenanceError
from provenance.files.confined import remove
from provenance.notify.payloads import DigestNotice, DigestRoot, EventNotice, body
from provenance.notify.send import post_body, where
from provenance.report.data import Report

log = logging.getLogger(__name__)

SPOOL_DIR = "notify-spool"
#: Events read from the catalog per webhook and round.
BATCH = 200
#: Seconds between two writes of a webhook's cursor while a round sends (and at its end): a
#: daemon killed meanwhile sends at most these last seconds' notices again.
CURSOR_EVERY = 1.0
#: The most of a cursor or spool file read back.
READ_LIMIT = 1 << 20


def _read(folder_path: Path, name: str) -> bytes | None:
    try:
        with open_private_dir(folder_path) as folder, folder.open_file(name) as opened:
            return opened.read(READ_LIMIT)
    except (OSError, ConfinementError):
        return None


def spool_digest(state_dir: Path, hook: WebhookSettings, notice: DigestNotice) -> str:
    """Keep ``notice`` rendered for ``hook`` in the spool until a round sends it; return the
    spool file's name (the same notice spooled again replaces it)."""
    digest = hashlib.sha256(notice.id.encode()).hexdigest()[:16]
    name = f"{hook.name}.{digest}.json"
    envelope = {"id": notice.id, "body": body(hook.kind, notice).decode("ascii")}
    with open_private_dir(state_dir / SPOOL_DIR) as folder:
        folder.write_bytes(name, json.dumps(envelope).encode(), mode=PRIVATE_FILE_MODE)
    return name


def _spooled(state_dir: Path, hook: WebhookSettings) -> list[str]:
    try:
        with open_private_dir(state_dir / SPOOL_DIR) as folder:
            names = os.listdir(folder.fd)
    except (OSError, ConfinementError):
        return []
    return sorted(n for n in names if n.startswith(hook.name + ".") and n.endswith(".json"))


def event_notice(settings: Settings, row: dict[str, Any]) -> EventNotice:
    """Return the notice of one event row (``catalog.notices``): its root and owner found
    from its path."""
    path = row["path"]
    root = settings.root_for(Path(path)) if path else None
    before, after = row.get("before") or {}, row.get("after") or {}
    return EventNotice(
        event_id=int(row["id"]),
        event=row["action"],
        at=row["at"],
        path=path,
        asset_id=row["asset_id"],
        reason=row["reason"] or "",
        user=row["user"],
        host=row["host"],
        status_before=before.get("status") if isinstance(before, dict) else None,
        status_after=after.get("status") if isinstance(after, dict) else None,
        root=root.label if root is not None else None,
        owner=root.owner if root is not None else "",
    )


def wants(hook: WebhookSettings, root: str | None, owner: str) -> bool:
    """Return whether ``hook``'s filters let a notice of this root and owner through."""
    if hook.roots and root not in hook.roots:
        return False
    return not hook.owners or owner in hook.owners


#: The audit action of a notice a receiver refused for good (not sent again).
GIVEN_UP = "notice-given-up"


@dataclass
class _Backoff:
    failures: int = 0
    next_try: float = 0.0
    last_error: str = ""
    #: Since the daemon started: notices sent, sends that failed (tried again), notices
    #: given up (refused for good), and the last of these.
    sent: int = 0
    failed: int = 0
    given_up: int = 0
    last_given_up: str = ""


@dataclass
class Round:
    """What one round did: notices sent per webhook, and the webhooks that failed."""

    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    #: Notices given up per webhook (refused for good).
    given_up: dict[str, int] = field(default_factory=dict)


class Outbox:
    """Sends what the audit trail and the spool hold to the configured webhooks."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.clock = clock
        self._backoff: dict[str, _Backoff] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # --- one round --------------------------------------------------------------------------

    def run_once(self) -> Round:
        """Send what is due to every webhook not waiting after a failure (under the fleet
        lock: another node running a round means nothing is done here)."""
        done = Round()
        settings = self.settings  # one round, one config (a reload takes the next round)
        notify = settings.notify
        if not notify.enabled or not notify.webhooks:
            return done
        with fleet_lock(self.catalog, "notify", settings.state_path) as held:
            if not held:
                return done
            try:
                with self.catalog.read() as tx:
                    head = last_event_id(tx)
                    cursors = load_cursors(tx)
                fresh = [h.name for h in notify.webhooks if h.name not in cursors]
                if fresh:
                    with self.catalog.write() as tx:
                        for name in fresh:
                            save_cursor(tx, name, head, utcnow())
                    cursors.update(dict.fromkeys(fresh, head))
            except ProvenanceError as exc:
                log.warning("notify: cannot use the catalog (next round retries): %s", exc)
                return done
            for hook in notify.webhooks:
                backoff = self._backoff.setdefault(hook.name, _Backoff())
                if self.clock() < backoff.next_try:
                    continue
                given_up = backoff.given_up
                try:
                    count = self._send_spool(settings, hook)
                    count += self._send_events(settings, hook, cursors, head)
                except ProvenanceError as exc:
                    asked = exc.retry_after if isinstance(exc, NotifyError) else None
                    self._failed(notify, backoff, str(exc), asked)
                    done.failed[hook.name] = str(exc)
                    continue
                finally:
                    if backoff.given_up > given_up:
                        done.given_up[hook.name] = backoff.given_up - given_up
                if backoff.failures:
                    log.info("notify: webhook %s answers again", where(hook))
                backoff.failures, backoff.next_try = 0, 0.0
                backoff.last_error = ""
                if count:
                    backoff.sent += count
                    done.sent[hook.name] = count
                    log.info("notify: sent %d notices to webhook %s", count, where(hook))
        return done

    def _failed(
        self, notify: NotifySettings, backoff: _Backoff, reason: str, asked: float | None
    ) -> None:
        """Note a failed send: the next try waits twice as long as the last (from
        ``notify.interval``), or what the receiver asked (Retry-After), up to ``max_backoff``."""
        backoff.failures += 1
        backoff.failed += 1
        backoff.last_error = reason
        wait = notify.interval_seconds * 2 ** (backoff.failures - 1)
        wait = min(max(wait, asked or 0.0), notify.max_backoff_seconds)
        backoff.next_try = self.clock() + wait
        log.warning(
            "notify: %s (try %d); nothing is skipped: trying again in %.0fs",
            reason,
            backoff.failures,
            wait,
        )

    def _send_spool(self, settings: Settings, hook: WebhookSettings) -> int:
        spool = settings.state_path / SPOOL_DIR
        sent = 0
        for name in _spooled(settings.state_path, hook):
            data = _read(spool, name)
            try:
                envelope = json.loads(data or b"")
                key, payload = str(envelope["id"]), str(envelope["body"]).encode("ascii")
            except (ValueError, TypeError, KeyError):
                log.error("notify: spooled digest %s is unreadable; left in %s", name, spool)
                continue
            try:
                post_body(hook, payload, key)
            except NotifyError as exc:
                if not exc.permanent:
                    raise
                self._give_up(hook, key, exc)
            else:
                sent += 1
            with suppress(OSError, ConfinementError), open_private_dir(spool) as folder:
                remove(folder, name)
        return sent

    def _send_events(
        self, settings: Settings, hook: WebhookSettings, cursors: dict[str, int], head: int
    ) -> int:
        cursor = saved = cursors.get(hook.name, head)
        sent = 0
        last_save = time.monotonic()
        try:
            while cursor < head:
                with self.catalog.read() as tx:
                    rows = events_between(tx, cursor, head, hook.events, BATCH)
                for row in rows:
                    if self._stop.is_set():  # the daemon stops: the cursor says where to resume
                        return sent
                    notice = event_notice(settings, row)
                    if wants(hook, notice.root, notice.owner):
                        try:
                            post_body(hook, body(hook.kind, notice), notice.id)
                        except NotifyError as exc:
                            if not exc.permanent:
                                raise
                            self._give_up(hook, notice.id, exc)
                        else:
                            sent += 1
                    cursor = notice.event_id
                    if time.monotonic() - last_save >= CURSOR_EVERY:
                        self._save(hook.name, cursor)
                        cursors[hook.name] = saved = cursor
                        last_save = time.monotonic()
                if len(rows) < BATCH:
                    cursor = head  # nothing more this webhook wants up to the head
                    break
        finally:
            if cursor != saved:  # what was sent, also when a send failed
                self._save(hook.name, cursor)
                cursors[hook.name] = cursor
        return sent

    def _give_up(self, hook: WebhookSettings, key: str, exc: NotifyError) -> None:
        """Note a notice ``hook`` refused for good: logged once, counted, and recorded in the
        audit trail; it is not sent again (the round goes on with the next)."""
        backoff = self._backoff.setdefault(hook.name, _Backoff())
        backoff.given_up += 1
        backoff.last_given_up = f"{key}: {exc}"
        log.error("notify: %s for notice %s: refused for good, given up (not sent again)", exc, key)
        try:
            with self.catalog.write() as tx:
                tx.record(
                    Actor.current(),
                    GIVEN_UP,
                    utcnow(),
                    reason=str(exc),
                    after={"webhook": hook.name, "notice": key, "status": exc.http_status},
                )
        except ProvenanceError as error:
            log.warning("notify: the give-up of %s could not be recorded: %s", key, error)

    def _save(self, name: str, cursor: int) -> None:
        with self.catalog.write() as tx:
            save_cursor(tx, name, cursor, utcnow())

    # --- the daemon's thread ----------------------------------------------------------------

    def start(self) -> None:
        """Run rounds every ``notify.interval`` on a thread of their own (when enabled)."""
        if self._thread is not None or not self.settings.notify.enabled:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="provenance-notify", daemon=True)
        self._thread.start()

    def status(self) -> dict[str, dict[str, object]]:
        """Return each webhook's state for ``provenance status`` and the metrics: since the
        start, notices sent, sends failed and notices given up (the last one); failures in a
        row, the last error and the seconds until the next try."""
        now = self.clock()
        result: dict[str, dict[str, object]] = {}
        for hook in self.settings.notify.webhooks:
            backoff = self._backoff.get(hook.name, _Backoff())
            result[hook.name] = {
                "sent": backoff.sent,
                "failed": backoff.failed,
                "given_up": backoff.given_up,
                "last_given_up": backoff.last_given_up,
                "failures": backoff.failures,
                "last_error": backoff.last_error,
                "retry_in": round(max(0.0, backoff.next_try - now), 1),
            }
        return result

    def counts(self) -> dict[str, tuple[int, int, int]]:
        """Return each webhook's notices sent, sends failed and notices given up since the
        start (the daemon's metrics)."""
        return {
            hook.name: (backoff.sent, backoff.failed, backoff.given_up)
            for hook in self.settings.notify.webhooks
            for backoff in [self._backoff.get(hook.name, _Backoff())]
        }

    @property
    def running(self) -> bool:
        """Whether the daemon's thread of rounds runs."""
        return self._thread is not None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a bug must not end the notifications for good; logged in full
                log.exception("notify: round failed (next round retries)")
            self._wake.wait(self.settings.notify.interval_seconds)
            self._wake.clear()

    def wake(self) -> None:
        """Run a round now (after a reload, or in a test)."""
        self._wake.set()

    def update(self, settings: Settings) -> None:
        """Use ``settings`` from the next round on (a reload); start or stop the thread as
        ``notify.enabled`` now says."""
        self.settings = settings
        if settings.notify.enabled:
            self.start()
            self.wake()
        else:
            self.stop()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread; a POST in flight ends within its timeout (its event is sent again
        by the next round if the cursor had not moved)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(timeout)


def report_digests(report: Report, files: Sequence[Path]) -> list[DigestNotice]:
    """Return the weekly report's digests: one per owner of its roots (roots with no owner
    go together, owner "")."""
    owners: dict[str, list[DigestRoot]] = {}
    for summary in report.roots:
        owners.setdefault(summary.owner, []).append(
            DigestRoot(summary.label, summary.path, summary.owner, dict(summary.by_status))
        )
    paths = tuple(str(path) for path in files)
    return [
        DigestNotice(report.period.as_of, owner, report.scope, roots, paths)
        for owner, roots in owners.items()
    ]


def spool_digests(settings: Settings, notices: Iterable[DigestNotice]) -> list[str]:
    """Spool each digest for every enabled webhook with ``digest = true`` whose filters let
    it through; return the spool files' names."""
    if not settings.notify.enabled:
        return []
    names = []
    for notice in notices:
        for hook in settings.notify.webhooks:
            if not hook.digest:
                continue
            roots = [r for r in notice.roots if wants(hook, r.name, r.owner)]
            if not roots:
                continue
            narrowed = DigestNotice(notice.as_of, notice.owner, notice.scope, roots, notice.files)
            names.append(spool_digest(settings.state_path, hook, narrowed))
    return names
