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
from provenance.errors import ConfinementError, ProvenanceError
from provenance.files.confined import OpenFile, open_folder, read_file

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


#: The most of a state file read back (the status file is a few kilobytes).
READ_LIMIT = 1 << 20


def _open_state_file(state_dir: Path, name: str) -> OpenFile | None:
    """Open the state file ``name`` to read: a regular file reached without following a link
    another user planted (``files.confined``), never a FIFO; None when it cannot be."""
    try:
        folder = open_folder(state_dir)
    except ConfinementError:
        return None
    try:
        return folder.open_file(name)
    except ConfinementError:
        folder.close()
        return None


def _read_text(file: OpenFile) -> str | None:
    try:
        return file.read(READ_LIMIT).decode("utf-8")
    except (OSError, ConfinementError, UnicodeDecodeError):
        return None


def _read_state_text(path: Path) -> str | None:
    try:
        return read_file(path, READ_LIMIT).decode("utf-8")
    except (OSError, ConfinementError, UnicodeDecodeError):
        return None


def read_pid(path: Path) -> int | None:
    """Return the pid written in the lock file ``path``, or None."""
    text = (_read_state_text(path) or "").strip()
    return int(text) if text.isdigit() else None


def daemon_pid(state_dir: Path) -> int | None:
    """Return the pid of the daemon that holds the lock in ``state_dir``, or None if none runs."""
    file = _open_state_file(state_dir, LOCK_NAME)
    if file is None:
        return None
    with file, file.folder:
        try:
            fcntl.flock(file.fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = (_read_text(file) or "").strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(file.fd, fcntl.LOCK_UN)
        return None


def write_status(state_dir: Path, status: dict[str, Any]) -> None:
    """Replace the status file atomically (a reader never sees half of it), 0600; a link at
    its name is replaced, never written through. Raises ProvenanceError (ConfinementError,
    WriteError) when it cannot be."""
    data = json.dumps(status, indent=2, default=str).encode()
    with open_private_dir(state_dir) as folder:
        folder.write_bytes(STATUS_NAME, data, mode=PRIVATE_FILE_MODE, durable=False)


def read_status(state_dir: Path) -> dict[str, Any] | None:
    """Return the last status the daemon wrote, or None."""
    text = _read_state_text(state_dir / STATUS_NAME)
    try:
        value = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
