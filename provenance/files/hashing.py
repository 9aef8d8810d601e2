"""Streamed BLAKE3 content hashes, written as ``blake3:<hex>``."""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import BinaryIO

from blake3 import blake3

PREFIX = "blake3:"
CHUNK_SIZE = 4 * 1024 * 1024
#: Bytes of a file mapped at a time by ``hash_mapped``: the pages of one window at most are
#: mapped into the process, so its resident memory does not grow with the file.
MAP_WINDOW = 16 * 1024 * 1024


def hash_bytes(data: bytes | bytearray | memoryview | mmap.mmap) -> str:
    """Return the content hash of ``data`` (bytes or a mapped file)."""
    return PREFIX + blake3(data).hexdigest()


def hash_stream(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> str:
    """Return the content hash of everything left in ``stream``, read in fixed-size chunks."""
    hasher = blake3()
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    while True:
        count = stream.readinto(view)  # type: ignore[attr-defined]
        if not count:
            break
        hasher.update(view[:count])
    return PREFIX + hasher.hexdigest()


def hash_mapped(fd: int, size: int, window: int = MAP_WINDOW) -> str:
    """Return the content hash of the first ``size`` bytes of the open file ``fd``, hashed
    from the page cache where it lies (mapped ``window`` bytes at a time), without the copy
    a read makes: about a third less CPU than ``hash_stream`` on a big file in the cache.

    Only for a process that may die: a file truncated while it is mapped raises SIGBUS,
    which no Python code can catch. The scan's reader processes use it (the reader replaces
    a dead one and skips that file); a daemon or command hashes with ``hash_file``.
    """
    hasher = blake3()
    for offset in range(0, size, window):
        length = min(window, size - offset)
        with mmap.mmap(fd, length, offset=offset, access=mmap.ACCESS_READ) as part:
            hasher.update(part)
    return PREFIX + hasher.hexdigest()


def hash_file(path: Path) -> str:
    """Return the content hash of the file at ``path``; raises OSError as ``open`` does."""
    with path.open("rb") as stream:
        return hash_stream(stream)
