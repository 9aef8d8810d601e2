"""Hold a file's content once, as bytes or an mmap, and give readers a stream over it."""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import mmap
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from provenance.errors import ReadError

log = logging.getLogger(__name__)

Buffer = bytes | mmap.mmap
#: Files up to this size are read into memory; bigger ones are memory-mapped.
MMAP_THRESHOLD = 4 * 1024 * 1024


#: How every file is opened: never through a symlink, never waiting (a FIFO or a device
#: would block the open or the first read forever), never inherited by a child.
OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC


class NotRegularFileError(OSError):
    """The path names something other than a regular file (a FIFO, device, socket, folder
    or symlink); its ``reason`` says which, for the file's record."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def open_regular(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    """Open a regular file for reading and return its descriptor and ``fstat``.

    Raises NotRegularFileError for anything else (checked on the descriptor, so nothing can be
    swapped in between), FileNotFoundError when it is gone, OSError otherwise.
    """
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP and os.path.islink(path):
            raise NotRegularFileError("is a symlink; not followed") from None
        raise
    try:
        info = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise NotRegularFileError(f"is not a regular file ({kind_of(info.st_mode)}); not read")
    return fd, info


def kind_of(mode: int) -> str:
    """Name the kind of a file that is not a regular one (for a refusal's or a skip's
    reason), from its ``st_mode``."""
    kinds = (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a file")


@contextlib.contextmanager
def open_buffer(path: Path) -> Iterator[Buffer]:
    """Yield the content of ``path``: bytes for a small file, a read-only mmap for a big one.

    Raises ReadError when the file cannot be read at all (missing, a folder, no access).
    """
    try:
        fd, info = open_regular(path)
        with os.fdopen(fd, "rb") as handle:
            if info.st_size < MMAP_THRESHOLD:
                content: Buffer = handle.read()
            else:
                content = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except NotRegularFileError as exc:
        raise ReadError(path, exc.reason) from exc
    except OSError as exc:
        raise ReadError(path, f"cannot be read ({exc.strerror or exc})") from exc
    try:
        yield content
    finally:
        if isinstance(content, mmap.mmap):
            content.close()


class BufferStream(io.RawIOBase):
    """A read-only seekable stream over bytes or an mmap, reading in place (no copy)."""

    def __init__(self, data: Buffer) -> None:
        super().__init__()
        self._view = memoryview(data)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._view[self._position : self._position + len(buffer)]
        size = len(chunk)
        buffer[:size] = chunk
        self._position += size
        return size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}
        self._position = max(0, base[whence] + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if not self.closed:
            self._view.release()
        super().close()
