"""Replace a file atomically: temp file in the same folder, fsync, os.replace."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from provenance.errors import WriteError

log = logging.getLogger(__name__)


@contextlib.contextmanager
def replacing(
    path: Path, like: os.stat_result | None = None, durable: bool = True, mode: int | None = None
) -> Iterator[BinaryIO]:
    """Yield a temp file beside ``path``; on a clean exit it replaces ``path`` atomically.

    ``like`` is the stat of the file being replaced: its permission bits are kept and, when
    allowed, its owner. A new file gets ``mode`` when given, whatever the umask (the daemon
    runs with umask 0077, yet its sidecars are for everyone who reads the file they
    describe), else the usual mode (0o666 less the umask). On any error
    the temp file is removed, ``path`` is untouched and ``WriteError(path, reason)`` is
    raised (for example a read-only folder).

    ``durable`` (the default) syncs the new content and the rename to the disk before
    returning, so a power cut leaves the old file or the new one, never an empty one. A
    caller that can write the file again after such a cut may pass ``durable=False``: the
    file is still replaced atomically for every reader, but a power cut can leave it empty
    or missing (each sync costs a journal commit; a first scan tags hundreds of files).
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise WriteError(path, f"cannot create a file in {path.parent}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if like is not None:
                _copy_owner(fd, like, path)
            elif mode is not None:
                os.fchmod(fd, mode)
            if durable:
                os.fsync(fd)
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise WriteError(path, f"cannot write: {exc.strerror or exc}") from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_folder(path.parent)


def write_bytes(
    path: Path,
    data: bytes,
    like: os.stat_result | None = None,
    durable: bool = True,
    mode: int | None = None,
) -> None:
    """Replace ``path`` with ``data`` atomically (see ``replacing``)."""
    with replacing(path, like, durable, mode) as handle:
        handle.write(data)


def _copy_owner(fd: int, like: os.stat_result, path: Path) -> None:
    if (like.st_uid, like.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.fchown(fd, like.st_uid, like.st_gid)
        except PermissionError:
            log.debug("%s: cannot keep owner %d:%d (not permitted)", path, like.st_uid, like.st_gid)
    os.fchmod(fd, like.st_mode & 0o7777)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable; some filesystems cannot fsync a directory, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        log.debug("%s: cannot fsync folder: %s", folder, exc)
    finally:
        os.close(fd)
