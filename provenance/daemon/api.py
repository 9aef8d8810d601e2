"""The daemon's socket: other local users act on the daemon's catalog through it, as
themselves.

A Unix stream socket (``service.remote.socket_path``), made in its folder through the
folder's descriptor (``files.confined``: no link followed on the way or at its name), mode
0666, or 0660 with the group ``daemon.socket_group``. Who asks is the kernel's word only: the
peer's credentials (``SO_PEERCRED``: pid, uid, gid) name the user, their passwd entry and
groups give the roles (``access.roles.grants_for``, from the daemon's own configuration),
and whatever a request says about who sends it is ignored. Each connection runs one request
(``service.remote`` describes the protocol) in a thread of its own, at most
``MAX_CONNECTIONS`` at once, so the watchers and the consumer never wait for a client; a
request larger than ``remote.MAX_REQUEST`` or slower than ``daemon.socket_timeout`` is cut
off. A refused action is recorded in the audit trail with the real user: the first of each
user and verb an interval as an event of its own, the rest counted in one event
(``audit.refusals``), so that a user looping a refused command cannot fill the trail.

A long action (sweep, scan, fixity: ``remote.LONG``) is checked against the caller's role at
once, then runs as a job: on the daemon's consumer, the thread that writes the catalog (after
the work queued before it, one job at a time, as the scheduled sweep does), or on a thread of
its own where no consumer is given. Its connection's thread only waits and sends progress,
so other clients are served meanwhile; a client that leaves does not stop the job.
"""

from __future__ import annotations

import contextlib
import errno
import grp
import json
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provenance.access.identity import Actor, user_groups
from provenance.access.roles import REQUIRED, grants_for
from provenance.audit.refusals import INTERVAL as REFUSAL_INTERVAL
from provenance.audit.refusals import RefusalLog
from provenance.errors import ConfigError, PermissionDeniedError, ProvenanceError
from provenance.service import remote
from provenance.service.context import App, Caller, catalog_owner

if TYPE_CHECKING:
    from provenance.catalog import Catalog
    from provenance.config import Settings
    from provenance.files.confined import Folder

log = logging.getLogger(__name__)

#: Connections served at once; one more is told the daemon is busy.
MAX_CONNECTIONS = 16
#: The mode of the folder made for the socket (others must pass through it to connect).
SOCKET_DIR_MODE = 0o755
#: Seconds between two progress lines that say something new, at least.
PROGRESS_EVERY = 1.0

#: Runs a long action's body (a name for the log, the body): the daemon puts it on its
#: consumer's queue.
JobRunner = Callable[[str, Callable[[], None]], None]


class _RejectedError(Exception):
    """A request cut off: too slow, too big, not JSON."""


@dataclass(frozen=True)
class Peer:
    """The process at the other end of a connection, as the kernel says."""

    pid: int
    uid: int
    gid: int


@dataclass
class _Job:
    """A long action in the daemon: its progress, then its result or error."""

    progress: remote.Progress = field(default_factory=lambda: remote.Progress("queued"))
    started: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: Exception | None = None

    def tell(self, progress: remote.Progress) -> None:
        self.progress = progress


def peer_of(connection: socket.socket) -> Peer:
    """Return the credentials the kernel recorded for the peer when it connected."""
    return Peer(*remote.peer_credentials(connection))


class ApiServer:
    """Listens on the daemon's socket and serves each connection in a thread of its own."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        clock: Any,
        run_job: JobRunner | None = None,
        refusal_interval: float = REFUSAL_INTERVAL,
    ) -> None:
        self.settings = settings
        self.app = App.using(settings, catalog)
        self.clock = clock
        self.path = remote.socket_path(settings, serving=True)
        self.timeout = settings.daemon.socket_timeout
        self._listener: socket.socket | None = None
        self._folder: Folder | None = None
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._active = 0
        self._count = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._config = Path(settings.source) if Path(settings.source).is_file() else None
        self._owner = catalog_owner(settings.catalog_url, self._config)
        self.verbs = remote.load_verbs()
        self._run_job = run_job or _on_a_thread
        #: Refusals in the audit trail, counted past the first of a user and verb an interval.
        self.refusals = RefusalLog(self._record, refusal_interval)

    @property
    def connections(self) -> int:
        """The connections being served now."""
        return self._active

    # --- start and stop ---------------------------------------------------------------------

    def start(self) -> None:
        """Make the socket and start accepting; ConfinementError or OSError when it cannot."""
        from provenance.config.locations import PRIVATE_DIR_MODE
        from provenance.files.confined import open_folder

        group = self._group()
        # a folder made for the socket lets others through; the state folder stays private
        private = self.path.parent == self.settings.state_path
        folder = open_folder(
            self.path.parent, create=True, mode=PRIVATE_DIR_MODE if private else SOCKET_DIR_MODE
        )
        try:
            listener = self._bind(folder, self.path.name, group)
        except BaseException:
            folder.close()
            raise
        self._folder, self._listener = folder, listener
        self._thread = threading.Thread(target=self._accept, name="provenance-api", daemon=True)
        self._thread.start()
        log.info(
            "serving the catalog to local users on %s (%s)",
            self.path,
            f"group {self.settings.daemon.socket_group}" if group is not None else "every user",
        )

    def stop(self) -> None:
        """Stop accepting, remove the socket; connections in hand finish on their own."""
        self._stopping.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._thread is not None:
            self._thread.join(2.0)
        self.refusals.close()  # the counts of refusals not yet written
        folder, self._folder = self._folder, None
        if folder is not None:
            from provenance.files.confined import remove_socket

            with contextlib.suppress(OSError):
                remove_socket(folder, self.path.name)
            folder.close()

    def _group(self) -> int | None:
        name = self.settings.daemon.socket_group
        if not name:
            return None
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            raise ConfigError(f"daemon.socket_group: no group named {name!r}") from None

    @staticmethod
    def _bind(folder: Folder, name: str, group: int | None) -> socket.socket:
        """Bind a socket at ``name`` in ``folder`` (through its descriptor: no link followed),
        replacing a socket left by a daemon that died; anything else there is refused."""
        from provenance.errors import ConfinementError, Refusal
        from provenance.files.confined import remove_socket

        there = folder.lstat(name)
        if there is not None:
            if not stat.S_ISSOCK(there.st_mode) or there.st_uid != os.geteuid():
                raise ConfinementError(
                    folder.path / name,
                    "something other than this daemon's socket is there (never followed or "
                    "removed): remove it",
                    Refusal.NOT_OURS if stat.S_ISSOCK(there.st_mode) else Refusal.NOT_REGULAR,
                )
            remove_socket(folder, name)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # the folder's descriptor as a path: bind() makes the name in that very folder
            # (and never follows a link at the name: it fails if anything is there)
            listener.bind(f"/proc/self/fd/{folder.fd}/{name}")
            made = folder.lstat(name)
            if made is None or not stat.S_ISSOCK(made.st_mode) or made.st_uid != os.geteuid():
                raise ConfinementError(
                    folder.path / name, "the socket was replaced", Refusal.CHANGED
                )
            if group is not None:
                os.chown(name, -1, group, dir_fd=folder.fd, follow_symlinks=False)
            os.chmod(name, _socket_mode(folder, group), dir_fd=folder.fd)
            listener.listen(MAX_CONNECTIONS)
            listener.settimeout(0.5)
        except BaseException:
            listener.close()
            raise
        return listener

    # --- connections ------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopping.is_set():
            listener = self._listener
            if listener is None:
                return
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if self._stopping.is_set() or exc.errno == errno.EBADF:
                    return
                log.warning("socket: accept failed: %s", exc)
                time.sleep(0.1)
                continue
            if not self._slots.acquire(blocking=False):
                self._refuse_busy(connection)
                continue
            with self._count:
                self._active += 1
            threading.Thread(
                target=self._serve, args=(connection,), name="provenance-api-client", daemon=True
            ).start()

    def _refuse_busy(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            connection.settimeout(1.0)
            connection.sendall(_line({"error": "the daemon is busy: try again"}))
        connection.close()

    def _serve(self, connection: socket.socket) -> None:
        try:
            connection.settimeout(self.timeout)
            peer = peer_of(connection)
            try:
                request = self._read_request(connection)
            except _RejectedError as exc:
                log.warning("socket: uid %d (pid %d): %s", peer.uid, peer.pid, exc)
                connection.settimeout(1.0)
                connection.sendall(_line({"error": str(exc)}))
                return
            if request is None:
                return
            for answer in self.handle(peer, request):
                connection.sendall(_line(answer))
        except OSError as exc:
            log.debug("socket: connection dropped: %s", exc)
        except Exception:
            log.exception("socket: a request failed")
        finally:
            connection.close()
            with self._count:
                self._active -= 1
            self._slots.release()

    def _read_request(self, connection: socket.socket) -> dict[str, Any] | None:
        """Read one request line within the time and size allowed; None when the client left
        without one. _RejectedError when it is too slow, too big or not a JSON object."""
        deadline = time.monotonic() + self.timeout
        data = b""
        while b"\n" not in data:
            if len(data) > remote.MAX_REQUEST:
                raise _RejectedError(f"request over {remote.MAX_REQUEST} bytes")
            left = deadline - time.monotonic()
            if left <= 0:
                raise _RejectedError(f"no request within {self.timeout:g}s")
            connection.settimeout(left)
            try:
                chunk = connection.recv(65536)
            except TimeoutError:
                raise _RejectedError(f"no request within {self.timeout:g}s") from None
            if not chunk:
                return None
            data += chunk
        line = data.split(b"\n", 1)[0]
        if len(line) + 1 > remote.MAX_REQUEST:
            raise _RejectedError(f"request over {remote.MAX_REQUEST} bytes")
        connection.settimeout(self.timeout)
        try:
            request = json.loads(line)
        except ValueError:
            raise _RejectedError("the request is not JSON") from None
        if not isinstance(request, dict):
            raise _RejectedError("the request is not a JSON object")
        return request

    # --- requests ---------------------------------------------------------------------------

    def caller(self, peer: Peer) -> Caller:
        """The caller the peer's credentials name, with the roles the daemon's configuration
        gives that user (never anything the request says)."""
        groups = user_groups(peer.uid, peer.gid)
        return Caller(Actor.of(peer.uid), grants_for(peer.uid, groups, self._config, self._owner))

    def handle(self, peer: Peer, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Run one request for ``peer``; yield the answer's lines (without ``v`` and ``id``)."""
        ident = request.get("id")
        for answer in self._answers(peer, request):
            yield {"v": remote.VERSION, "id": ident, **answer}

    def _answers(self, peer: Peer, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if request.get("v") != remote.VERSION:
            yield {"error": f"protocol version {remote.VERSION} only"}
            return
        verb = request.get("verb")
        if not isinstance(verb, str) or verb not in self.verbs:
            served = ", ".join(sorted(self.verbs))
            yield {"error": f"the daemon does not serve {verb!r} (it serves {served})"}
            return
        caller = self.caller(peer)
        try:
            args = remote.arguments(verb, request.get("args", {}))
            if verb in remote.LONG:
                yield from self._long(caller, verb, args)
                return
            result = self.verbs[verb](self.app, caller, **args)
            if isinstance(result, Iterator):
                count = 0
                for item in result:
                    yield {"item": remote.to_wire(item)}
                    count += 1
                yield {"end": count}
                return
            yield {"result": remote.to_wire(result)}
        except PermissionDeniedError as exc:
            self._audit_refusal(caller, peer, verb, str(exc))
            yield {"error": str(exc)}
        except ProvenanceError as exc:
            yield {"error": str(exc)}
        except Exception as exc:
            log.exception("socket: %s for uid %d failed", verb, peer.uid)
            yield {"error": f"internal error: {type(exc).__name__}: {exc}"}

    def _long(self, caller: Caller, verb: str, args: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Run a long action as a job; yield its progress lines while it runs, then its
        result (raises its error)."""
        if verb in REQUIRED:
            caller.require(verb)  # refused at once, not after the work queued before it
        job = _Job()
        function = self.verbs[verb]

        def body() -> None:
            job.started.set()
            try:
                job.result = function(self.app, caller, **args, **{remote.PROGRESS: job.tell})
            except Exception as exc:
                job.error = exc
                if not isinstance(exc, ProvenanceError):
                    log.error("socket: %s for %s failed", verb, caller.actor.user, exc_info=exc)
            finally:
                job.done.set()

        self._run_job(f"{verb} for {caller.actor.user}", body)
        log.info("socket: %s for %s queued", verb, caller.actor.user)
        sent, sent_at = None, time.monotonic()
        while not job.done.wait(0.2):
            if self._stopping.is_set() and not job.started.is_set():
                raise remote.DaemonError(f"the daemon stopped before the {verb} ran")
            now = time.monotonic()
            changed = job.progress != sent and now - sent_at >= PROGRESS_EVERY
            if changed or now - sent_at >= remote.HEARTBEAT:
                sent, sent_at = job.progress, now
                yield {"progress": remote.to_wire(sent)}
        if job.error is not None:
            raise job.error
        yield {"result": remote.to_wire(job.result)}

    def _audit_refusal(self, caller: Caller, peer: Peer, verb: str, why: str) -> None:
        """Record the refusal in the audit trail: the first of this user and verb an
        interval on its own, the rest as one count (``audit.refusals``)."""
        log.warning(
            "socket: refused %s to %s (uid %d, pid %d)", verb, caller.actor.user, peer.uid, peer.pid
        )
        after = {"verb": verb, "uid": peer.uid, "pid": peer.pid}
        self.refusals.refused(caller.actor, peer.uid, verb, self.clock(), why, after)

    def _record(
        self, actor: Actor, action: str, when: datetime, reason: str, after: dict[str, Any]
    ) -> None:
        try:
            with self.app.catalog.write() as tx:
                tx.record(actor, action, when, reason=reason, after=after)
        except ProvenanceError as exc:
            log.warning("socket: %s of %s not recorded: %s", action, after.get("verb"), exc)


def _on_a_thread(name: str, body: Callable[[], None]) -> None:
    """Run a long action's body on a thread of its own (no consumer to queue it for)."""
    threading.Thread(target=body, name=f"provenance-job ({name})", daemon=True).start()


def _socket_mode(folder: Folder, group: int | None) -> int:
    """0660 for a group; 0666 for everyone, unless its folder is closed to others (the state
    folder): then 0600, as every file there is."""
    if group is not None:
        return 0o660
    if not os.fstat(folder.fd).st_mode & stat.S_IXOTH:
        return 0o600
    return 0o666


def _line(answer: dict[str, Any]) -> bytes:
    if "v" not in answer:
        answer = {"v": remote.VERSION, "id": None, **answer}
    return json.dumps(answer, ensure_ascii=False).encode() + b"\n"


def start_api(
    settings: Settings, catalog: Catalog, clock: Any, run_job: JobRunner | None = None
) -> ApiServer | None:
    """Start serving the catalog on the daemon's socket (``run_job``: where long actions
    run); None (with a warning: the daemon runs on, reachable only by its own account) when
    the socket cannot be made."""
    try:
        server = ApiServer(settings, catalog, clock, run_job)
        server.start()
    except (ProvenanceError, OSError) as exc:
        log.warning("the socket for other users is not served: %s", exc)
        return None
    return server
