"""Streamed BLAKE3 content hashes, written as ``blake3:<hex>``."""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import BinaryIO

from blake3 import blake3

PREFIX = "blake3:"
CHUNK_SIZE = 4 * 1024 * 1024


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


def hash_file(path: Path) -> str:
    """Return the content hash of the file at ``path``; raises OSError as ``open`` does."""
    with path.open("rb") as stream:
        return hash_stream(stream)
