"""Hold a file's content once, as bytes or an mmap, and give readers a stream over it."""

from __future__ import annotations

import contextlib
import io
import logging
import mmap
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from provenance.errors import ReadError

log = logging.getLogger(__name__)

Buffer = bytes | mmap.mmap
#: Files up to this size are read into memory; bigger ones are memory-mapped.
MMAP_THRESHOLD = 4 * 1024 * 1024


@contextlib.contextmanager
def open_buffer(path: Path) -> Iterator[Buffer]:
    """Yield the content of ``path``: bytes for a small file, a read-only mmap for a big one.

    Raises ReadError when the file cannot be read at all (missing, a folder, no access).
    """
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < MMAP_THRESHOLD:
                content: Buffer = handle.read()
            else:
                content = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
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
