"""Read one file: detect marks from its headers and hash what needs an identity, opening it once.

Every file gets a partial fingerprint (its size, first and last blocks: hashing.py). Its
content is hashed in full only when it needs an identity: it reads as AI, the caller asks
for it (the size of an AI asset: a possible copy; a file whose record has a content hash),
or ``[scan] hash = "all"``. A file that is not AI is otherwise known by its device, inode,
size, modification time and partial fingerprint.

Only a reader's worker process reads a file (reader.py), within a budget: ``seconds`` of
wall time (plus time for its size) and ``memory_mb`` of memory (workers.py sets both).
Small files are read whole and handed to both the detectors and the hasher. Bigger files
are mapped: the detectors touch only their headers, and only the pages touched are read
from the disk (``read_sparsely``); the hasher reads the page cache in place, a window at a
time. Pixels are never decoded unless the deep check is on.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.detect import PathRule, Verdict
from provenance.detect.buffers import NotRegularFileError, open_regular
from provenance.detect.clean import clean_verdict
from provenance.detect.fingerprint import detection_fingerprint
from provenance.detect.trust import NO_TRUST, C2paTrust
from provenance.errors import ConfigError, ReadError
from provenance.files.hashing import (
    hash_bytes,
    hash_mapped,
    partial_fingerprint,
    partial_ranges,
)

if TYPE_CHECKING:
    from provenance.config import Settings

#: In a worker process, files up to this size are read whole; larger ones are mapped, for
#: the detectors and the hasher. Reading copies the file, mapping costs a fault per page
#: range: measured on files in the page cache, a read costs less up to about 200 KiB and a
#: mapping from there on (a third less CPU than reading at 4 MiB and over).
MAP_LIMIT = 256 * 1024
#: The slowest a file's content is expected to come in: a file's time budget is
#: ``ReadOptions.seconds`` plus its size at this rate (hashing a big video takes time).
SLOWEST_BYTES_PER_SECOND = 25 * 1024 * 1024


@dataclass(frozen=True)
class ReadOptions:
    """What the workers need to know; plain values so they pickle."""

    deep: bool = False
    sidecars: bool = True
    path_rules: tuple[PathRule, ...] = ()
    c2pa_trust: C2paTrust = NO_TRUST
    #: wall time a worker may spend on one file, besides the time its size takes
    seconds: float = 30.0
    #: memory a worker may use besides what it started with (0: no limit)
    memory_mb: int = 512
    #: hash every file's content in full (``[scan] hash = "all"``), not only AI assets and
    #: the files the caller names
    hash_all: bool = False

    def budget(self, size: int) -> float:
        """Seconds a worker may spend on a file of ``size`` bytes before it is stopped."""
        return self.seconds + size / SLOWEST_BYTES_PER_SECOND

    def fingerprint(self) -> str:
        """Return the digest of what decides a verdict besides the bytes (a scan records it
        per root, and reads a root again when it differs; see ``detect.fingerprint``)."""
        return detection_fingerprint(
            deep=self.deep,
            sidecars=self.sidecars,
            path_rules=self.path_rules,
            c2pa_trust=self.c2pa_trust,
        )


@dataclass(frozen=True)
class FileFacts:
    """Everything read from one file: stat facts at the time of reading, hash and verdict.

    ``content_hash`` (``blake3:``) is None for a file that needed no identity (not AI, not
    asked for); ``fingerprint`` (``partial:``) is always there.
    """

    path: str
    size: int
    mtime_ns: int
    inode: int
    device: int
    content_hash: str | None
    verdict: Verdict
    #: Our own sidecars beside the file written for other content (its name), ignored as
    #: evidence (``detect.combine.bind_sidecars``) and reported by the scan.
    stale_sidecars: tuple[str, ...] = ()
    fingerprint: str = ""


#: Why a read failed when the file may read fine in a moment (it is gone, or still being
#: written): such a failure is not recorded as an unreadable file.
VANISHED = "vanished before it could be read"
CHANGED = "changed while it was being read (still being written?)"


class FailureKind(StrEnum):
    """What kind of failure a read met: what a caller acts on (the reason is for people)."""

    #: gone before it could be read (a delete, or a rename: its event follows)
    VANISHED = "vanished"
    #: its size or mtime changed while it was read: still being written
    CHANGED = "changed"
    #: not a regular file, a link, or not reached inside its root: never opened
    REFUSED = "refused"
    #: the system would not give its bytes (permission, an I/O error), or not recorded
    UNREADABLE = "unreadable"
    #: past its time or memory budget
    OVER_BUDGET = "over-budget"
    #: its reader process died, or a reader failed unexpectedly on it
    CRASHED = "crashed"


#: The kinds of failure after which a file may read fine in a moment.
TRANSIENT = (FailureKind.VANISHED, FailureKind.CHANGED)


@dataclass(frozen=True)
class Failure:
    """A file that could not be read, why (for people: logged, counted, recorded) and the
    kind of failure (for code)."""

    path: str
    reason: str
    kind: FailureKind = FailureKind.UNREADABLE

    @property
    def transient(self) -> bool:
        """Whether the file may read fine in a moment (it vanished or was being written)."""
        return self.kind in TRANSIENT


def read_file(
    path: str, options: ReadOptions, sidecar: bool = True, full: bool = False
) -> FileFacts | Failure:
    """Return the facts of the file at ``path``, or a Failure saying why it was skipped.

    ``sidecar=False`` says the caller knows there is no sidecar beside the file (a scan's
    walk lists the folder), which saves two failed opens per file. ``full`` asks for the
    content hash whatever the verdict (see the module's docstring). Only for a reader's
    worker process: a file truncated while it is mapped raises SIGBUS, which no Python code
    can catch (it kills the worker, which is replaced and the file skipped).
    """
    try:
        fd, info = open_regular(path)  # regular files only, no symlink, no wait
        try:
            content_hash: str | None = None
            if info.st_size <= MAP_LIMIT:
                data: bytes | mmap.mmap = _read_all(fd, info.st_size)
                verdict = _detect(path, data, options, sidecar)
                fingerprint = partial_fingerprint(data, len(data))
                if _needs_hash(verdict, options, full):
                    content_hash = hash_bytes(data)
            else:
                with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as mapped:
                    read_sparsely(mapped, info.st_size)
                    verdict = _detect(path, mapped, options, sidecar)
                    fingerprint = partial_fingerprint(mapped, info.st_size)
                if _needs_hash(verdict, options, full):
                    content_hash = hash_mapped(fd, info.st_size)
            after = os.fstat(fd)
        finally:
            os.close(fd)
    except ReadError as exc:
        return Failure(path, exc.reason)
    except NotRegularFileError as exc:
        return Failure(path, exc.reason, FailureKind.REFUSED)
    except FileNotFoundError:
        return Failure(path, VANISHED, FailureKind.VANISHED)
    except OSError as exc:
        return Failure(path, f"cannot read: {exc.strerror or exc}")
    if (after.st_size, after.st_mtime_ns) != (info.st_size, info.st_mtime_ns):
        return Failure(path, CHANGED, FailureKind.CHANGED)
    stale: tuple[str, ...] = ()
    if content_hash is not None and any(
        signal.detail.get("content_hash") for signal in verdict.signals
    ):
        # our own sidecar counts only for the content it was written for
        from provenance.detect.combine import bind_sidecars, stale_sidecars

        stale = stale_sidecars(verdict, content_hash)
        verdict = bind_sidecars(verdict, content_hash)
    return FileFacts(
        path=path,
        size=info.st_size,
        mtime_ns=info.st_mtime_ns,
        inode=info.st_ino,
        device=info.st_dev,
        content_hash=content_hash,
        verdict=verdict,
        stale_sidecars=stale,
        fingerprint=fingerprint,
    )


def read_sparsely(mapped: mmap.mmap, size: int) -> None:
    """Have the kernel read from the disk only the pages of ``mapped`` (a file of ``size``
    bytes) that are touched, and the partial fingerprint's ranges at once, one request each.

    By default the first touch of a mapped file reads the device's read-ahead around it, in
    one go: with a read-ahead of 8 MiB, a 12 MiB frame that is not AI was read whole from the
    disk for its header and its two ends (a first scan of a frame tree not in memory read
    every byte of it, as long as hashing it all). The hasher maps the file again, in
    windows of its own, and reads those ahead as usual. Where the system has no such advice,
    the file is read as before.
    """
    try:
        mapped.madvise(mmap.MADV_RANDOM)
        for offset, length in partial_ranges(size):
            start = offset - offset % mmap.PAGESIZE  # advice starts at a page
            mapped.madvise(mmap.MADV_WILLNEED, start, offset + length - start)
    except (AttributeError, OSError, ValueError):
        pass


def _needs_hash(verdict: Verdict, options: ReadOptions, full: bool) -> bool:
    """Whether a file read with ``verdict`` needs its content hash: asked for, every file
    is hashed, it reads as AI, or it has a sidecar bound to a content hash (ours)."""
    return (
        full
        or options.hash_all
        or verdict.is_ai
        or any(signal.detail.get("content_hash") for signal in verdict.signals)
    )


def hash_content(path: str, size: int, mtime_ns: int, inode: int) -> str | None:
    """Return the content hash of the file at ``path`` if it is still the file that was read
    (same size, modification time and inode before and after), else None: a file that
    turned out to need an identity after its first read (a possible copy of an AI asset).
    Only for a reader's worker process (it maps the file)."""
    try:
        fd, info = open_regular(path)
        try:
            if (info.st_size, info.st_mtime_ns, info.st_ino) != (size, mtime_ns, inode):
                return None
            if size <= MAP_LIMIT:
                content_hash = hash_bytes(_read_all(fd, size))
            else:
                content_hash = hash_mapped(fd, size)
            after = os.fstat(fd)
        finally:
            os.close(fd)
    except (ReadError, NotRegularFileError, OSError):
        return None
    if (after.st_size, after.st_mtime_ns) != (size, mtime_ns):
        return None
    return content_hash


def _read_all(fd: int, size: int) -> bytes:
    # one read for a regular file; more only where a filesystem returns a short read (a
    # size change on the way is caught by the caller's second fstat)
    data = os.read(fd, size + 1)
    if 0 < len(data) < size:
        parts = [data]
        while chunk := os.read(fd, size + 1):
            parts.append(chunk)
        data = b"".join(parts)
    return data


def _detect(path: str, data: bytes | mmap.mmap, options: ReadOptions, sidecar: bool) -> Verdict:
    global _detect_file
    if _detect_file is None:
        from provenance.detect import detect_file  # loaded on first use (see detect/__init__)

        _detect_file = detect_file
    verdict = _detect_file(
        path,
        data,
        deep=options.deep,
        path_rules=options.path_rules,
        sidecar=options.sidecars and sidecar,
        c2pa_trust=options.c2pa_trust,
    )
    return clean_verdict(verdict)  # no NUL, lone surrogate or huge value reaches a catalog


_detect_file: Callable[..., Verdict] | None = None


def read_options(settings: Settings, deep: bool | None = None) -> ReadOptions:
    """Return the worker options these settings call for (``deep`` overrides the config)."""
    rules = tuple(
        PathRule(glob=r.glob, tool=r.tool, model=r.model) for r in settings.detect.path_rules
    )
    trust = settings.detect.c2pa
    return ReadOptions(
        deep=settings.scan.deep if deep is None else deep,
        sidecars=settings.detect.sidecars,
        path_rules=rules,
        c2pa_trust=C2paTrust(
            anchors=_read_anchors(trust.trust_anchors),
            allowed=tuple(trust.allowed_signers),
            blocked=tuple(trust.blocked_signers),
        ),
        seconds=settings.scan.read_seconds,
        memory_mb=settings.scan.read_memory_mb,
        hash_all=settings.scan.hash == "all",
    )


def _read_anchors(paths: list[Path]) -> str:
    """Return the PEM text of the trust anchor files, read once, offline, at start-up."""
    texts = []
    for path in paths:
        try:
            text = path.expanduser().read_text(encoding="ascii")
        except (OSError, UnicodeError) as exc:
            raise ConfigError(f"detect.c2pa.trust_anchors: cannot read {path} ({exc})") from exc
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise ConfigError(f"detect.c2pa.trust_anchors: {path} holds no PEM certificate")
        texts.append(text.strip() + "\n")
    return "".join(texts)


def load_detectors() -> None:
    """Load the detectors now (a worker at its start), not at its first file."""
    _detect("", b"", ReadOptions(sidecars=False), False)
