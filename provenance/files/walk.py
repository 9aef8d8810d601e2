"""Walk a root with scandir: regular files only, never through a symlink, skipping our own files."""

from __future__ import annotations

import bisect
import errno
import fnmatch
import functools
import heapq
import logging
import os
import pickle
import re
import stat
import tempfile
from array import array
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from provenance.errors import ScanError

log = logging.getLogger(__name__)

#: Names that are never assets: temp and partial files, OS litter, our own folders.
ALWAYS_IGNORED = (
    "*.part",
    "*.partial",
    "*.tmp",
    "*.temp",
    "*.crdownload",
    "*.download",
    "~$*",
    ".~lock.*",
    "._*",
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
    ".provenance-*",
    ".Trash-*",
    ".nfs*",
    "*.xmp",
    "*.c2pa",
    "*.swarm.json",
)
#: Names of the files that describe the file beside them (see the sidecar families,
#: ``detect.families.xmp_sidecar`` and ``tool_sidecars``): the walk notes them, and the
#: reader looks for them only then.
_SIDECAR_SUFFIXES = (".xmp", ".c2pa", ".swarm.json")


class FileEntry(NamedTuple):
    """A regular file found by the walk, with the stat facts used to spot changes."""

    path: str
    size: int
    mtime_ns: int
    inode: int
    device: int
    #: Whether a sidecar (``NAME.EXT.xmp`` or ``NAME.xmp``, or a ``.c2pa`` or ``.swarm.json``)
    #: was listed beside the file; the reader skips looking for one when the walk saw none.
    sidecar: bool = False


def _temporary_file() -> IO[bytes]:
    """An unnamed temporary file (gone when closed, or when the process ends)."""
    try:
        return tempfile.TemporaryFile(prefix="provenance-walk-")
    except OSError as exc:
        raise _no_room(exc) from exc


def _no_room(exc: OSError) -> ScanError:
    return ScanError(
        f"cannot keep the walk in a temporary file in {tempfile.gettempdir()} "
        f"({exc.strerror or exc}); set TMPDIR to a folder with room"
    )


class EntrySpill:
    """File entries kept in an unnamed temporary file, not in memory: a scan of millions of
    files holds one block of them at a time (a few thousand; fewer never leave memory).
    Append them all, then read them back in the same order, as often as needed."""

    BLOCK = 4096

    def __init__(self, entries: Iterable[FileEntry] = ()) -> None:
        self._file: IO[bytes] | None = None
        self._block: list[FileEntry] = []
        self._count = 0
        for entry in entries:
            self.append(entry)

    def append(self, entry: FileEntry) -> None:
        self._block.append(entry)
        self._count += 1
        if len(self._block) >= self.BLOCK:
            self._spill()

    def _spill(self) -> None:
        if self._file is None:
            # kept open across appends and reads; close() ends it (no name: gone on exit)
            self._file = _temporary_file()
        try:
            self._file.seek(0, os.SEEK_END)
            # plain tuples: a block pickles in one C call
            pickle.dump([tuple(e) for e in self._block], self._file, pickle.HIGHEST_PROTOCOL)
        except OSError as exc:
            raise _no_room(exc) from exc
        self._block = []

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[FileEntry]:
        if self._file is None:
            yield from list(self._block)
            return
        if self._block:
            self._spill()
        # each reading keeps its own place: a head start's reader may be part way through
        # while the scan reads the walk again
        offset = 0
        while True:
            self._file.seek(offset)
            try:
                block = pickle.load(self._file)
            except EOFError:
                return
            offset = self._file.tell()
            yield from map(FileEntry._make, block)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._block, self._count = [], 0


def is_ignored(name: str, patterns: Sequence[str]) -> bool:
    """Return whether a file or folder ``name`` matches one of ``patterns`` (fnmatch)."""
    return _matcher(tuple(patterns))(name) is not None


@functools.lru_cache(maxsize=32)
def _matcher(patterns: tuple[str, ...]) -> Callable[[str], re.Match[str] | None]:
    # one compiled alternation instead of a fnmatch call per pattern per name (hot path)
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)).match


def name_is_valid(name: str) -> bool:
    """Return whether ``name`` decodes as UTF-8 (other names cannot be stored or shown safely)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: A walk reports how many files it has found every this many files.
WALK_REPORT_EVERY = 1000


def walk_files(
    root: Path,
    ignore: Sequence[str] = (),
    on_skip: Callable[[str, str], None] | None = None,
    on_count: Callable[[int], None] | None = None,
) -> Iterator[FileEntry]:
    """Yield every regular file under ``root``, in the order of their path strings.

    That order (``a.txt`` < ``a/b.png`` < ``a0.png``: a folder's files and subfolders
    interleave) lets a scan merge the walk with the catalog's files sorted by path, so that
    neither is held in memory whatever the tree size (scan.py). Only the names in the
    folders on the way down are held, ``LISTING_RUN`` of each at most (a bigger folder's
    wait in a temporary file).

    Symlinks are never followed (so a link cannot lead out of the root or into a loop);
    unreadable folders, invalid names and vanished entries are reported to ``on_skip(path,
    reason)`` and skipped. ``on_count(files)`` hears every ``WALK_REPORT_EVERY`` files (a
    big root on network storage takes a while to walk).
    """
    ignored = _matcher((*ALWAYS_IGNORED, *ignore))
    skip = on_skip or (lambda path, reason: None)
    found = 0
    stack = [_listing(str(root), ignored, skip)]
    lstat, is_regular = os.lstat, stat.S_ISREG  # this loop runs once per file
    try:
        while stack:
            # a plain loop over the deepest folder's listing (resumed where it stopped once
            # a subfolder it met is done)
            for path, is_dir, sidecars in stack[-1]:
                if is_dir:
                    stack.append(_listing(path, ignored, skip))
                    break
                try:
                    info = lstat(path)
                except FileNotFoundError:
                    skip(path, "vanished during the scan")
                    continue
                except OSError as exc:
                    skip(path, f"cannot stat: {exc.strerror or exc}")
                    continue
                if is_regular(info.st_mode):
                    found += 1
                    if on_count is not None and found % WALK_REPORT_EVERY == 0:
                        on_count(found)
                    yield FileEntry(
                        path,
                        info.st_size,
                        info.st_mtime_ns,
                        info.st_ino,
                        info.st_dev,
                        sidecars is not None and sidecars.beside(path),
                    )
                else:  # a FIFO, a socket, a device: never opened, and named
                    # (asked here, where it is rare: the walk's importers need no detector)
                    from provenance.detect.buffers import kind_of

                    skip(path, f"not a regular file ({kind_of(info.st_mode)}); not read")
            else:
                stack.pop().close()
    finally:
        for listing in stack:  # a walk stopped early: the folders' temporary files go
            listing.close()


#: A folder's entries are sorted this many at a time; a folder with more (a long image
#: sequence) is sorted in runs kept in an unnamed temporary file and merged, so that even
#: a folder of millions of files is never held in memory whole.
LISTING_RUN = 50_000


class _Sidecars:
    """The ``.xmp`` names of a folder, as a sorted array of their hashes (8 bytes each, so a
    folder of a million tagged frames costs 8 MB). A hash shared by another name only makes
    the reader look for a sidecar that is not there."""

    def __init__(self, hashes: array[int]) -> None:
        self._hashes = array("q", sorted(hashes))

    def __len__(self) -> int:
        return len(self._hashes)

    def _has(self, name: str) -> bool:
        key = hash(name)
        at = bisect.bisect_left(self._hashes, key)
        return at < len(self._hashes) and self._hashes[at] == key

    def beside(self, path: str) -> bool:
        """Whether ``NAME.EXT.xmp`` or ``NAME.xmp`` (or such a ``.c2pa`` or ``.swarm.json``)
        was listed beside the file at ``path`` (the names the sidecar families,
        detect.families.xmp_sidecar and tool_sidecars, look for: pathlib's idea of a
        suffix)."""
        name = path[path.rfind("/") + 1 :]
        dot = name.rfind(".")
        stem = name[:dot] if 0 < dot < len(name) - 1 else name
        return any(
            self._has(name + suffix) or self._has(stem + suffix) for suffix in _SIDECAR_SUFFIXES
        )


_Item = tuple[str, bool, "_Sidecars | None"]
_Key = tuple[str, bool]  # (name, and a slash for a folder: where its files sort; is a folder)


def _listing(
    folder: str,
    ignored: Callable[[str], re.Match[str] | None],
    skip: Callable[[str, str], None],
) -> Generator[_Item, None, None]:
    """The entries of ``folder`` worth a look, in path order: (path, is a folder, the
    sidecars beside it, None when the folder has none). Symlinks and invalid names are
    reported here. Only names are kept, ``LISTING_RUN`` at a time in memory; a bigger
    folder's sorted runs wait in a temporary file (closed when the listing ends or is
    closed)."""
    runs = _Runs()
    keys: list[_Key] = []
    hashes = array("q")
    try:
        with os.scandir(folder) as iterator:
            for entry in iterator:
                # the common case inline (an ASCII name, no sidecar, not ignored, not a
                # link): this loop runs once per file of the tree
                name = entry.name
                key: _Key | None = None
                if (
                    name.isascii()
                    and not name.endswith(_SIDECAR_SUFFIXES)
                    and ignored(name) is None
                ):
                    try:
                        if not entry.is_symlink():
                            is_dir = entry.is_dir(follow_symlinks=False)
                            key = (name + "/", True) if is_dir else (name, False)
                    except OSError:
                        pass
                if key is None:  # anything else, and what to say of it
                    key = _key(entry, hashes, ignored, skip)
                if key is not None:
                    keys.append(key)
                    if len(keys) >= LISTING_RUN:
                        keys.sort()
                        runs.add(keys)
                        keys = []
    except FileNotFoundError:
        runs.close()
        skip(folder, "folder vanished during the scan")
        return
    except OSError as exc:
        runs.close()
        skip(folder, f"cannot list folder: {exc.strerror or exc}")
        return
    keys.sort()
    sidecars = _Sidecars(hashes) if hashes else None
    prefix = folder if folder.endswith("/") else folder + "/"
    try:
        for name, is_dir in runs.merged(keys):
            yield (prefix + name[:-1] if is_dir else prefix + name), is_dir, sidecars
    finally:
        runs.close()


def _key(
    entry: os.DirEntry[str],
    hashes: array[int],
    ignored: Callable[[str], re.Match[str] | None],
    skip: Callable[[str, str], None],
) -> _Key | None:
    name = entry.name
    if name.endswith(_SIDECAR_SUFFIXES):
        hashes.append(hash(name))
    if ignored(name) is not None:
        return None
    if not name_is_valid(name):
        skip(entry.path, "file name is not valid UTF-8")
        return None
    try:
        if entry.is_symlink():
            _report_symlink(entry, skip)
            return None
        is_dir = entry.is_dir(follow_symlinks=False)
    except OSError as exc:
        skip(entry.path, f"cannot stat: {exc.strerror or exc}")
        return None
    # a folder sorts as its name and a slash: where the paths of its files sort
    return (name + "/", True) if is_dir else (name, False)


class _Runs:
    """Sorted runs of a big folder's names, in an unnamed temporary file, merged back."""

    BLOCK = 4096

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        #: each run: the offsets of its blocks
        self._runs: list[list[int]] = []

    def add(self, keys: list[_Key]) -> None:
        if self._file is None:
            self._file = _temporary_file()
        offsets = []
        try:
            self._file.seek(0, os.SEEK_END)
            for start in range(0, len(keys), self.BLOCK):
                offsets.append(self._file.tell())
                pickle.dump(keys[start : start + self.BLOCK], self._file, pickle.HIGHEST_PROTOCOL)
        except OSError as exc:
            raise _no_room(exc) from exc
        self._runs.append(offsets)

    def _read(self, offsets: list[int]) -> Iterator[_Key]:
        assert self._file is not None
        for offset in offsets:
            self._file.seek(offset)
            yield from pickle.load(self._file)

    def merged(self, last: list[_Key]) -> Iterator[_Key]:
        """The runs and ``last`` (sorted, in memory) merged in order."""
        if not self._runs:
            return iter(last)
        return heapq.merge(*(self._read(offsets) for offsets in self._runs), last)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _report_symlink(entry: os.DirEntry[str], skip: Callable[[str, str], None]) -> None:
    try:
        target = os.path.realpath(entry.path, strict=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            skip(entry.path, "symlink loop, not followed")
        else:
            log.debug("skipped dangling symlink %s", entry.path)
        return
    parent = os.path.realpath(os.path.dirname(entry.path))
    if os.path.isdir(target) and (parent + os.sep).startswith(target.rstrip(os.sep) + os.sep):
        skip(entry.path, "symlink loop (points to a folder above it), not followed")
    else:
        log.debug("skipped symlink %s -> %s", entry.path, target)
