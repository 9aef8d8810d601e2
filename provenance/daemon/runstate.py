"""The daemon's files in the state directory: a pid lock (one daemon per host and state
directory) and a small status file that ``provenance status`` reads."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance.config.locations import PRIVATE_FILE_MODE, open_private_dir
from provenance.errors import ProvenanceError

LOCK_NAME = "daemon.lock"
STATUS_NAME = "daemon-status.json"


class AlreadyRunningError(ProvenanceError):
    """Another daemon holds the lock."""


@dataclass
class PidLock:
    """``daemon.lock`` held with ``flock`` while the daemon runs; it holds the daemon's pid.

    The kernel drops the lock when the process dies, so a stale file never blocks a start.
    """

    path: Path
    _fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise AlreadyRunningError naming the pid that holds it."""
        with open_private_dir(self.path.parent) as folder:
            fd = folder.open_for_writing(self.path.name, os.O_RDWR, mode=PRIVATE_FILE_MODE)
        # `provenance status` peeks with a shared lock for an instant; try a few times
        for attempt in range(5):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt < 4:
                    time.sleep(0.05)
        else:
            os.close(fd)
            holder = read_pid(self.path)
            who = f"pid {holder}" if holder else "another process"
            raise AlreadyRunningError(
                f"a provenance daemon is already running on this host ({who}, lock {self.path}); "
                "stop it first, or give this one another state directory"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def daemon_pid(state_dir: Path) -> int | None:
    """Return the pid of the daemon that holds the lock in ``state_dir``, or None if none runs."""
    path = state_dir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_pid(path) or -1
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def write_status(state_dir: Path, status: dict[str, Any]) -> None:
    """Replace the status file atomically (a reader never sees half of it), 0600; a link at
    its name is replaced, never written through. Raises ProvenanceError (ConfinementError,
    WriteError) when it cannot be."""
    data = json.dumps(status, indent=2, default=str).encode()
    with open_private_dir(state_dir) as folder:
        folder.write_bytes(STATUS_NAME, data, mode=PRIVATE_FILE_MODE, durable=False)


def read_status(state_dir: Path) -> dict[str, Any] | None:
    """Return the last status the daemon wrote, or None."""
    try:
        value = json.loads((state_dir / STATUS_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
