"""Read files once each, in parallel: each in a worker process (readfile.py says how).

This is the scan's hot path. Work runs in worker processes (both cores busy: BLAKE3 and the
header parsers each need a CPU), files go to them in chunks, a bounded number in flight,
and their results come back in input order. No file is read in the calling process (a scan
or the daemon): a hostile file costs at most a worker. Each file has a budget: wall time
(a worker past it is ended by the kernel, workers.arm_budget) and memory (an allocation
past it fails). A worker that dies is replaced and its files are read again, one at a
time, so that the one that killed it is the one skipped, with the reason.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Container, Iterable, Iterator, Sequence, Sized
from concurrent.futures import BrokenExecutor, Executor, Future
from typing import Any, TypeVar

from provenance.errors import ConfinementError, ScanError
from provenance.files.confined import open_root
from provenance.files.pool import WorkerPool
from provenance.files.readfile import (
    MAP_LIMIT,
    Failure,
    FailureKind,
    FileFacts,
    ReadOptions,
    hash_content,
    load_detectors,
    read_file,
    read_options,
)
from provenance.files.walk import FileEntry
from provenance.files.workers import (
    arm_budget,
    default_workers,
    disarm_budget,
    start_method,
    worker_setup,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Files per task sent to a worker: one round trip per chunk instead of per file (fewer
#: when there are few files, so that every worker gets some).
CHUNK_FILES = 128
#: ... and at most this many bytes, so that big files are shared between the workers.
CHUNK_BYTES = 32 * 1024 * 1024
#: Files in a row whose reader died within its budget, each read alone in new processes,
#: with no file read in between: then a new reader is asked to load its detectors, and if
#: it dies too the readers themselves cannot run (the OOM killer takes each one): the read
#: stops with an error instead of starting new processes for every file left.
DEATHS_IN_A_ROW = 5
#: Chunks ``start`` sends before its first result is taken: some 8,000 small files, about
#: as many as two workers read while a scan loads its catalog.
AHEAD_CHUNKS = 64


def _read_in_worker(
    path: str, size: int, sidecar: bool, options: ReadOptions, full: bool = False
) -> FileFacts | Failure:
    """Read one file in a worker, within its budget (the worker ends past its time)."""
    # A worker must answer for every file: a parser bug on one hostile file is a skipped
    # file with its reason, not a dead scan.
    arm_budget(options.budget(size or _size_of(path)))
    try:
        return read_file(path, options, sidecar, full)
    except MemoryError:
        return Failure(
            path,
            f"needs more than its memory budget ({options.memory_mb} MiB)",
            FailureKind.OVER_BUDGET,
        )
    except Exception as exc:
        return Failure(path, f"unexpected {type(exc).__name__}: {exc}"[:500], FailureKind.CRASHED)
    finally:
        disarm_budget()


def _hash_in_worker(root: str, path: str, size: int, options: ReadOptions) -> str | Failure:
    """Hash one file in a worker, within its budget: the regular file ``path`` reached from
    ``root`` one folder at a time (``provenance.files.confined``, no link followed, never a
    FIFO or device), hashed from that descriptor. A link or a folder swapped for one is a
    Failure with the reason; nothing it leads to is opened."""
    arm_budget(options.budget(size))
    try:
        with open_root(root) as top, top.open_file(path) as file, file.folder:
            arm_budget(options.budget(file.identity.size))  # its size now, not as recorded
            return file.content_hash()
    except ConfinementError as exc:
        return Failure(path, exc.reason, FailureKind.REFUSED)
    except OSError as exc:
        return Failure(path, f"cannot read ({exc.strerror or exc})")
    except MemoryError:
        return Failure(
            path,
            f"needs more than its memory budget ({options.memory_mb} MiB)",
            FailureKind.OVER_BUDGET,
        )
    finally:
        disarm_budget()


def _over_time(path: str, budget: float) -> Failure:
    return Failure(
        path, f"took longer than its {budget:.3g} s budget; not read", FailureKind.OVER_BUDGET
    )


def _read_chunk(jobs: _Chunk, options: ReadOptions) -> list[FileFacts | Failure]:
    return [
        _read_in_worker(path, size, sidecar, options, full) for path, size, sidecar, full in jobs
    ]


def _hash_chunk(files: list[tuple[str, int, int, int]], options: ReadOptions) -> list[str | None]:
    """The content hashes of files already read (path, size, mtime, inode), each within its
    budget; None for one that changed or is gone since."""
    hashes: list[str | None] = []
    for path, size, mtime_ns, inode in files:
        arm_budget(options.budget(size))
        try:
            hashes.append(hash_content(path, size, mtime_ns, inode))
        except Exception:  # a file that cannot be hashed keeps no content hash
            hashes.append(None)
        finally:
            disarm_budget()
    return hashes


#: (path, size if known else 0, whether to look for sidecars, whether to hash its content
#: whatever it reads as) of the files of one round trip to a worker
_Chunk = list[tuple[str, int, bool, bool]]
#: a chunk sent, and its results to come
_Sent = tuple[_Chunk, "Future[list[FileFacts | Failure]]"]


def _chunks(
    files: Iterable[str | FileEntry],
    per_chunk: int = CHUNK_FILES,
    hash_sizes: Container[int] = (),
) -> Iterator[_Chunk]:
    """Group files into work for one round trip: ``per_chunk`` files or ``CHUNK_BYTES``.
    A file whose size is in ``hash_sizes`` is hashed whatever it reads as (looked up as the
    chunk is made: the caller may add sizes meanwhile)."""
    chunk: _Chunk = []
    chunk_bytes = 0
    for file in files:
        path, size, sidecar = _job(file)
        chunk.append((path, size, sidecar, size > 0 and size in hash_sizes))
        chunk_bytes += size
        if len(chunk) >= per_chunk or chunk_bytes >= CHUNK_BYTES:
            yield chunk
            chunk, chunk_bytes = [], 0
    if chunk:
        yield chunk


def _job(file: str | FileEntry) -> tuple[str, int, bool]:
    """(path, size if known else 0, whether to look for sidecars)."""
    if isinstance(file, str):
        return file, 0, True
    return file.path, file.size, file.sidecar


def _size_of(path: str) -> int:
    """The size of the file at ``path``; 0 if it cannot be told (reading it says why)."""
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


class FileReader:
    """Reads many files in worker processes, bounded in flight so memory stays flat."""

    def __init__(
        self, options: ReadOptions, workers: int = 0, idle_after: float | None = None
    ) -> None:
        self.options = options
        self.workers = workers or default_workers()
        #: Seconds a worker may wait for work before it ends (None: it lives till ``close``;
        #: a daemon's readers end when it is idle, and start again for the next file).
        self.idle_after = idle_after
        self._pool: Executor | None = None
        self._deaths = 0  # files in a row whose reader died (see DEATHS_IN_A_ROW)

    def read_many(
        self,
        files: Sequence[str | FileEntry] | Iterable[str | FileEntry],
        count: int | None = None,
        hash_sizes: Container[int] = (),
    ) -> Iterator[FileFacts | Failure]:
        """Yield one result per file, in input order.

        Files go to the workers in chunks (one round trip per chunk, not per file), with a
        bounded number of chunks in flight so memory stays flat however many files come. A
        ``FileEntry`` from the walk says how big the file is (a chunk holds at most
        ``CHUNK_BYTES``, so big files spread over the workers) and whether a sidecar sits
        beside it; for a bare path the sidecars are looked for. A file whose size is in
        ``hash_sizes`` (that of an AI asset) gets its content hash whatever it reads as.
        """
        total = (
            count if count is not None else (len(files) if isinstance(files, Sequence) else None)
        )
        return self._read_in_pool(files, self.workers * 16, self._per_chunk(total), hash_sizes)

    def hash_many(self, files: Sequence[tuple[str, int, int, int]]) -> list[str | None]:
        """Return the content hashes of files (path, size, modification time, inode) read
        without one, in that order, hashed in the workers; None for a file that changed or
        went since then, or whose worker died."""
        if not files:
            return []
        jobs = list(files)
        per_worker = -(-len(jobs) // self.workers)
        parts = [jobs[i : i + per_worker] for i in range(0, len(jobs), per_worker)]
        futures = [self.submit(_hash_chunk, part, self.options) for part in parts]
        hashes: list[str | None] = []
        for part, future in zip(parts, futures, strict=True):
            try:
                hashes.extend(future.result())
            except BrokenExecutor:
                self.close()
                hashes.extend([None] * len(part))
        return hashes

    def start(
        self, files: Iterable[FileEntry], ahead: int = AHEAD_CHUNKS
    ) -> Iterator[FileFacts | Failure]:
        """Send the first ``ahead`` chunks of ``files`` to the workers now, and return every
        result in input order (the other chunks go out as results are taken).

        For a caller with other work to do before it takes the first result: a scan starts
        reading a new root, then loads the catalog while the workers read.
        """
        total = len(files) if isinstance(files, Sized) else None
        return self._read_in_pool(files, ahead, self._per_chunk(total))

    def _per_chunk(self, total: int | None) -> int:
        """Files per chunk: ``CHUNK_FILES``, or fewer so that ``total`` files make at least
        four chunks per worker (a daemon's batch of 100 files keeps both workers busy)."""
        if total is None:
            return CHUNK_FILES
        return max(1, min(CHUNK_FILES, -(-total // (self.workers * 4))))

    def _read_in_pool(
        self,
        files: Iterable[str | FileEntry],
        in_flight: int,
        per_chunk: int = CHUNK_FILES,
        hash_sizes: Container[int] = (),
    ) -> Reads:
        # sends the first chunks now (not on the first next()), so reads start at once
        chunks = _chunks(files, per_chunk, hash_sizes)
        window = deque(self._send(chunk) for chunk in itertools.islice(chunks, in_flight))
        return Reads(self, window, chunks)

    def _send(self, chunk: _Chunk) -> _Sent:
        try:
            return chunk, self._ensure_pool().submit(_read_chunk, chunk, self.options)
        except BrokenExecutor:
            self.close()
            return chunk, self._ensure_pool().submit(_read_chunk, chunk, self.options)

    def _take(self, window: deque[_Sent]) -> list[FileFacts | Failure]:
        """The results of the oldest chunk in flight, read again if its worker died."""
        chunk, future = window.popleft()
        try:
            results = future.result()
        except BrokenExecutor:
            pass
        else:
            self._deaths = 0
            return results
        # A worker died (past a file's time budget, the OOM killer, or a SIGBUS: a big file
        # truncated while it was mapped); forked workers take the pool, and every read in
        # flight, with it (pool.py's fail only that worker's task). In a new pool this
        # chunk's files are read one at a time, nothing else in flight, so a file that
        # kills its reader again is the one skipped; then the rest of the window is sent
        # again.
        log.warning("a reader process died; reading its files again in new processes")
        self.close()
        results = [self._read_alone(*job) for job in chunk]
        for index, (pending, _) in enumerate(window):
            window[index] = self._send(pending)
        return results

    def _read_alone(self, path: str, size: int, sidecar: bool, full: bool) -> FileFacts | Failure:
        budget = self.options.budget(size or _size_of(path))
        started = time.monotonic()
        try:
            future = self._ensure_pool().submit(
                _read_in_worker, path, size, sidecar, self.options, full
            )
            result = future.result()
        except BrokenExecutor:
            self.close()
            if time.monotonic() - started >= budget:
                return _over_time(path, budget)
            self._deaths += 1
            if self._deaths >= DEATHS_IN_A_ROW:
                self._deaths = 0
                self._check_readers_run(path)
            return Failure(
                path,
                "its reader process died (truncated while it was read, or out of memory?)",
                FailureKind.CRASHED,
            )
        self._deaths = 0
        return result

    def hash_inside(self, files: Sequence[tuple[str, str, int]]) -> list[str | Failure]:
        """Return the content hash of each ``(root, path, size as recorded)``, or why it
        could not be had, in input order: each file opened from its root without following a
        link and hashed from that descriptor in a worker, within its budget. A worker that
        dies (past a file's time, out of memory) is replaced; its file is hashed again alone,
        and skipped with the reason if it dies again."""
        futures = [self.submit(_hash_in_worker, *file, self.options) for file in files]
        results: list[str | Failure] = []
        for file, future in zip(files, futures, strict=True):
            try:
                results.append(future.result())
            except BrokenExecutor:
                self.close()
                results.append(self._hash_alone(*file))
        return results

    def _hash_alone(self, root: str, path: str, size: int) -> str | Failure:
        budget = self.options.budget(size)
        started = time.monotonic()
        try:
            return self.submit(_hash_in_worker, root, path, size, self.options).result()
        except BrokenExecutor:
            self.close()
            if time.monotonic() - started >= budget:
                return _over_time(path, budget)
            return Failure(path, "its reader process died (out of memory?)", FailureKind.CRASHED)

    def _check_readers_run(self, path: str) -> None:
        """Raise ScanError when a new reader dies before it has read a file at all."""
        try:
            self._ensure_pool().submit(load_detectors).result()
        except BrokenExecutor:
            self.close()
            raise ScanError(
                f"reader processes keep dying ({DEATHS_IN_A_ROW} files in a row, the last "
                f"{path}, then one that read no file); is the machine out of memory? (the "
                "system log says what killed them)"
            ) from None

    @property
    def running(self) -> bool:
        """Whether worker processes are up (``submit`` then runs in one of them)."""
        return self._pool is not None

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``function(*args)`` in a worker (after the reads already queued)."""
        try:
            return self._ensure_pool().submit(function, *args)
        except BrokenExecutor:  # a worker died since: start new ones
            self.close()
            return self._ensure_pool().submit(function, *args)

    def warm_up(self, wait: bool = True) -> None:
        """Start the worker processes now and load the detectors in each, so that the first
        big batch does not wait for them. The daemon waits for it; a scan of a root the
        catalog has never seen starts it (``wait=False``) and walks the root meanwhile."""
        pool = self._ensure_pool()
        futures = [pool.submit(load_detectors) for _ in range(self.workers)]
        if wait:
            for future in futures:
                future.result()

    def _ensure_pool(self) -> Executor:
        """Forked workers where that is safe and they need not end while idle (a one-shot
        scan: they start at once, with what this process loaded); otherwise workers started
        as new interpreters, one at a time as work comes (pool.py)."""
        if self._pool is None:
            setup = (self.options.memory_mb,)
            if self.idle_after is None and start_method() == "fork":
                # here, not at the top: a worker imports this module, and none of these
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("fork"),
                    initializer=worker_setup,
                    initargs=setup,
                )
            else:
                self._pool = WorkerPool(self.workers, worker_setup, setup, self.idle_after)
        return self._pool

    def close(self) -> None:
        """Shut the workers down (a broken pool too: the next read starts new ones)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> FileReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Reads(Iterator[FileFacts | Failure]):
    """The results of files sent to the workers, in input order; another chunk of files goes
    out as each one comes back, so that a bounded number are in flight."""

    def __init__(self, reader: FileReader, window: deque[_Sent], chunks: Iterator[_Chunk]):
        self._reader = reader
        self._window = window
        self._chunks = chunks
        self._taken: deque[FileFacts | Failure] = deque()  # of a chunk come back

    def __iter__(self) -> Reads:
        return self

    def __next__(self) -> FileFacts | Failure:
        while not self._taken:
            if not self._window:
                raise StopIteration
            chunk = next(self._chunks, None)
            if chunk is not None:
                self._window.append(self._reader._send(chunk))
            self._taken.extend(self._reader._take(self._window))
        return self._taken.popleft()

    def ready(self) -> bool:
        """Whether the next result (or the end) can be taken without waiting for a worker."""
        return bool(self._taken) or not self._window or self._window[0][1].done()


__all__ = [
    "MAP_LIMIT",
    "Failure",
    "FileFacts",
    "FileReader",
    "ReadOptions",
    "Reads",
    "read_file",
    "read_options",
]
