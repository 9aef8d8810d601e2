"""Proof that a root's watcher hears: the root is still the folder the watch was set on, and a
canary file written under it comes back as an event.

A watcher can be alive and deaf: the root's filesystem was unmounted and mounted again under
it (the kernel drops every inotify watch on an unmount), the root folder was replaced by
another, inotify's reader thread died. So the daemon's main loop checks, for each watched
root:

- identity, at every look: the root's (st_dev, st_ino) are those it had when the watch was
  set, one ``stat``;
- a canary, after every start of a watcher, on request (SIGHUP) and every ``interval``: a
  small file written in ``.provenance-canary/`` under the root must reach the handler within
  ``timeout``. It is written and removed through directory descriptors from the root
  (``files.confined``), never through a symlink, in a folder owned by the daemon's user;
  the folder's name matches ``.provenance-*``, which the walk and the consumer skip, so a
  canary is never catalogued.
  Where the root cannot be written (read-only share, no right) identity is the only proof.

A root that fails either proof is deaf: the daemon restarts its watcher and rescans it.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
import logging
import os
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from watchdog.events import FileSystemEvent

from provenance.errors import ConfinementError, Refusal
from provenance.files.confined import Folder, open_root, remove

log = logging.getLogger(__name__)

#: The daemon's folder under each root it may write to (skipped by the walk: ".provenance-*").
CANARY_DIR = ".provenance-canary"
#: Seconds between two canaries of a root that hears.
PROOF_INTERVAL = 60.0
#: Seconds a canary may take to come back, on top of three times the watcher's start (its first
#: walk of the tree) and, when polling, two poll intervals.
CANARY_TIMEOUT = 30.0

Proof = Literal["canary", "identity"]


@dataclass(frozen=True)
class Identity:
    """Which folder a path is: its device and inode, and where the kernel tells them its mount
    and birth time (0 where it does not). A filesystem unmounted and mounted again may well
    reuse its device number and the inode of its root; its mount is another."""

    device: int
    inode: int
    mount: int = 0
    born_ns: int = 0

    def __str__(self) -> str:
        return f"device {self.device}, inode {self.inode}, mount {self.mount}"


def identity_of(path: str) -> Identity | None:
    """Return the identity of the folder at ``path``, or None when it cannot be looked at."""
    found = _statx(path)
    if found is not None:
        return found
    try:
        info = os.stat(path)
    except OSError:
        return None
    return Identity(info.st_dev, info.st_ino)


# statx(2) (Linux 4.11, glibc 2.28) through libc until Python has os.statx: the mount id
# (unique per mount since Linux 6.8, STATX_MNT_ID_UNIQUE; else reused, STATX_MNT_ID) and the
# birth time tell a folder from the one mounted at its place before.
_AT_FDCWD = -100
_STATX_BTIME, _STATX_MNT_ID, _STATX_MNT_ID_UNIQUE = 0x800, 0x1000, 0x4000
_STATX_BASIC_STATS = 0x7FF
_STATX_SIZE = 256  # struct statx, with its spare room


@functools.cache
def _statx_function() -> Callable[..., int] | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    return getattr(libc, "statx", None)


def _statx(path: str) -> Identity | None:
    statx = _statx_function()
    if statx is None:
        return None
    buffer = ctypes.create_string_buffer(_STATX_SIZE)
    wanted = _STATX_BASIC_STATS | _STATX_BTIME | _STATX_MNT_ID | _STATX_MNT_ID_UNIQUE
    if statx(_AT_FDCWD, os.fsencode(path), 0, wanted, buffer) != 0:
        return None
    (mask,) = struct.unpack_from("I", buffer, 0)
    (inode,) = struct.unpack_from("Q", buffer, 32)
    born_s, born_ns = struct.unpack_from("qI", buffer, 80)
    major, minor = struct.unpack_from("II", buffer, 136)
    (mount,) = struct.unpack_from("Q", buffer, 144)
    return Identity(
        os.makedev(major, minor),
        inode,
        mount if mask & (_STATX_MNT_ID | _STATX_MNT_ID_UNIQUE) else 0,
        born_s * 1_000_000_000 + born_ns if mask & _STATX_BTIME else 0,
    )


@dataclass(frozen=True)
class Deafness:
    """Why a watcher is deaf: the root is another folder now, or a canary never came back."""

    kind: Literal["identity", "canary"]
    detail: str

    def __str__(self) -> str:
        return self.detail


_sequence = itertools.count(1)


def canary_timeout(
    start_seconds: float, poll_interval: float | None, base: float = CANARY_TIMEOUT
) -> float:
    """Return how long a canary may take to be heard by a watcher that took ``start_seconds``
    to start (a poller walks the whole tree for each look; ``poll_interval`` None: inotify)."""
    polling = 2 * poll_interval if poll_interval is not None else 0.0
    return base + 3 * start_seconds + polling


class Hearing:
    """The proofs of one watcher of one root.

    The handler calls :meth:`note` on watchdog's thread; the daemon's main loop calls
    :meth:`check` (time is a parameter, from ``time.monotonic``).
    """

    def __init__(
        self,
        root: str,
        identity: Identity | None,
        *,
        timeout: float,
        interval: float = PROOF_INTERVAL,
    ) -> None:
        self.root = root
        self.identity = identity
        self.timeout = timeout
        self.interval = interval
        self.folder = os.path.join(root, CANARY_DIR)
        self._host = socket.gethostname()
        self._prefix = f"{self._host}-{os.getpid()}-"
        #: When (monotonic) and how the watcher last proved it hears; None: not yet.
        self.proved_at: float | None = None
        self.proof: Proof | None = None
        #: When (monotonic) a canary of this watcher was last heard; None: not yet.
        self.heard_at: float | None = None
        #: Whether a canary could be written at the last try (None: not tried yet).
        self.writable: bool | None = None
        self._expected = ""
        self._sent_at = 0.0
        self._heard = threading.Event()
        self._asked = False
        self._swept = False

    # --- watchdog's thread --------------------------------------------------------------

    def note(self, event: FileSystemEvent) -> bool:
        """Take the event if it is about the canary folder (True: the handler drops it)."""
        paths = [os.fsdecode(event.src_path), os.fsdecode(event.dest_path)]
        ours = [p for p in paths if p == self.folder or p.startswith(self.folder + os.sep)]
        if ours and self._expected and self._expected in ours:
            self._heard.set()
        return bool(ours)

    # --- the daemon's main loop ---------------------------------------------------------

    def prove_now(self) -> None:
        """Send a canary at the next check (after a reload, say)."""
        self._asked = True

    @property
    def pending(self) -> bool:
        return bool(self._expected)

    def check(self, now: float) -> Deafness | None:
        """Return why the watcher is deaf, or None while it hears or a canary is on its way.

        Sends a canary when one is due; a canary heard is removed.
        """
        current = identity_of(self.root)
        if current is not None and self.identity is not None and current != self.identity:
            self._finish()
            return Deafness(
                "identity",
                f"the root is another folder now ({current}; watched: {self.identity}): "
                "remounted or replaced",
            )
        if self._expected:
            if self._heard.is_set():
                log.debug("canary heard under %s in %.2fs", self.root, now - self._sent_at)
                self._finish()
                self.proved_at, self.proof = now, "canary"
                self.heard_at = now
                return None
            if now - self._sent_at < self.timeout:
                return None
            self._finish()
            return Deafness("canary", f"its canary was not heard within {self.timeout:.0f}s")
        if self.proved_at is None or self._asked or now - self.proved_at >= self.interval:
            self._asked = False
            self._send(now)
        return None

    def close(self) -> None:
        """Remove a canary still on its way (the watcher is being stopped)."""
        self._finish()

    def _send(self, now: float) -> None:
        name = f"{self._prefix}{next(_sequence)}"
        self._heard.clear()
        self._expected = os.path.join(self.folder, name)  # before the write: its event may race
        try:
            write_canary(self.root, name, sweep=None if self._swept else self._host)
        except (OSError, ConfinementError) as exc:
            # read-only, no right, full; a link or another user's folder in the way; or gone
            # (the next look at the root finds it offline)
            self._expected = ""
            if self.writable is not False:
                log.info(
                    "cannot write a canary in %s (%s): its watch is proved by the root's device "
                    "and inode only",
                    self.folder,
                    exc.reason if isinstance(exc, ConfinementError) else exc.strerror or exc,
                )
            self.writable = False
            if self.identity is not None:  # the check above just compared it
                self.proved_at, self.proof = now, "identity"
            return
        self._swept = True
        self.writable = True
        self._sent_at = now

    def _finish(self) -> None:
        expected, self._expected = self._expected, ""
        if expected:
            with contextlib.suppress(OSError, ConfinementError):
                remove_canary(self.root, os.path.basename(expected))


# --- the canary file, by directory descriptors (files.confined) ------------------------------


def _open_folder(root: str, *, create: bool) -> Folder:
    """Open (and make, 0700) the canary folder of ``root`` from the root's descriptor, no
    link followed: a folder of this user, else ConfinementError."""
    with open_root(root) as top:
        folder = top.folder([CANARY_DIR], create=create, mode=0o700)
    owner = os.fstat(folder.fd).st_uid
    if owner != os.geteuid():
        folder.close()
        raise ConfinementError(
            folder.path, f"owned by uid {owner}, not by the daemon", Refusal.NOT_OURS
        )
    return folder


def _is_stale(name: str, host: str) -> bool:
    """Return whether the canary ``name`` ("HOST-PID-N") was left by a process of ``host``
    that is gone."""
    owner, _, rest = name.rpartition("-")[0].rpartition("-")
    if owner != host or not rest.isdigit():
        return False
    try:
        os.kill(int(rest), 0)
    except ProcessLookupError:
        return True
    except OSError:  # another user's process: it lives
        return False
    return False


def write_canary(root: str, name: str, *, sweep: str | None = None) -> None:
    """Write the canary ``name`` in the canary folder of ``root`` (made when missing).

    ``sweep``: a host name; first remove the canaries left there by processes of that host
    that are gone (an earlier daemon, killed). Raises OSError or ConfinementError.
    """
    with _open_folder(root, create=True) as folder:
        if sweep is not None:
            for entry in os.scandir(folder.fd):
                if _is_stale(entry.name, sweep):
                    with contextlib.suppress(OSError):
                        _remove(folder, entry.name)
        fd = folder.open_for_writing(name, os.O_WRONLY | os.O_EXCL, mode=0o600)
        try:
            os.write(fd, b"provenance daemon: proof that this folder is watched\n")
        finally:
            os.close(fd)


def remove_canary(root: str, name: str) -> None:
    """Remove the canary ``name`` of ``root`` (only a regular file of this user)."""
    with _open_folder(root, create=False) as folder:
        _remove(folder, name)


def _remove(folder: Folder, name: str) -> None:
    info = folder.lstat(name)
    if info is not None and info.st_uid == os.geteuid():
        remove(folder, name)  # a regular file only
