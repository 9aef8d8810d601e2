"""Walk a root with scandir: regular files only, never through a symlink, skipping our own files."""

from __future__ import annotations

import errno
import fnmatch
import functools
import logging
import os
import pickle
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
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
)


class FileEntry(NamedTuple):
    """A regular file found by the walk, with the stat facts used to spot changes."""

    path: str
    size: int
    mtime_ns: int
    inode: int
    device: int
    #: Whether an XMP sidecar (``NAME.EXT.xmp`` or ``NAME.xmp``) was listed beside the file;
    #: the reader skips looking for one when the walk saw none.
    sidecar: bool = False


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
        try:
            if self._file is None:
                # kept open across appends and reads; close() ends it (no name: gone on exit)
                self._file = tempfile.TemporaryFile(prefix="provenance-walk-")  # noqa: SIM115
            self._file.seek(0, os.SEEK_END)
            # plain tuples: a block pickles in one C call
            pickle.dump([tuple(e) for e in self._block], self._file, pickle.HIGHEST_PROTOCOL)
        except OSError as exc:
            raise ScanError(
                f"cannot keep the walk in a temporary file in {tempfile.gettempdir()} "
                f"({exc.strerror or exc}); set TMPDIR to a folder with room"
            ) from exc
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
    neither is held in memory whatever the tree size (scan.py). Only the listings of the
    folders on the way down are held.

    Symlinks are never followed (so a link cannot lead out of the root or into a loop);
    unreadable folders, invalid names and vanished entries are reported to ``on_skip(path,
    reason)`` and skipped. ``on_count(files)`` hears every ``WALK_REPORT_EVERY`` files (a
    big root on network storage takes a while to walk).
    """
    ignored = _matcher((*ALWAYS_IGNORED, *ignore))
    skip = on_skip or (lambda path, reason: None)
    found = 0
    stack = [_listing(str(root), ignored, skip)]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        entry, is_dir, sidecars = item
        if is_dir:
            stack.append(_listing(entry.path, ignored, skip))
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            skip(entry.path, "vanished during the scan")
            continue
        except OSError as exc:
            skip(entry.path, f"cannot stat: {exc.strerror or exc}")
            continue
        if stat.S_ISREG(info.st_mode):
            found += 1
            if on_count is not None and found % WALK_REPORT_EVERY == 0:
                on_count(found)
            yield FileEntry(
                entry.path,
                info.st_size,
                info.st_mtime_ns,
                info.st_ino,
                info.st_dev,
                bool(sidecars) and _has_sidecar(entry.name, sidecars),
            )


_Item = tuple[os.DirEntry[str], bool, frozenset[str]]


def _listing(
    folder: str,
    ignored: Callable[[str], re.Match[str] | None],
    skip: Callable[[str, str], None],
) -> Iterator[_Item]:
    """The entries of ``folder`` worth a look, in path order: (entry, is a folder, the names
    of the sidecars beside it). Symlinks and invalid names are reported here."""
    try:
        with os.scandir(folder) as iterator:
            entries = list(iterator)
    except FileNotFoundError:
        skip(folder, "folder vanished during the scan")
        return iter(())
    except OSError as exc:
        skip(folder, f"cannot list folder: {exc.strerror or exc}")
        return iter(())
    sidecars = frozenset(e.name for e in entries if e.name.endswith(".xmp"))
    keyed: list[tuple[str, _Item]] = []
    for entry in entries:
        if ignored(entry.name) is not None:
            continue
        if not name_is_valid(entry.name):
            skip(os.path.join(folder, entry.name), "file name is not valid UTF-8")
            continue
        try:
            if entry.is_symlink():
                _report_symlink(entry, skip)
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError as exc:
            skip(entry.path, f"cannot stat: {exc.strerror or exc}")
            continue
        # a folder sorts as its name and a slash: where the paths of its files sort
        keyed.append((entry.name + "/" if is_dir else entry.name, (entry, is_dir, sidecars)))
    keyed.sort(key=lambda pair: pair[0])
    return (item for _, item in keyed)


def _has_sidecar(name: str, sidecars: frozenset[str]) -> bool:
    # the names detect.sidecar.sidecar_paths looks for (pathlib's idea of a suffix)
    dot = name.rfind(".")
    stem = name[:dot] if 0 < dot < len(name) - 1 else name
    return name + ".xmp" in sidecars or stem + ".xmp" in sidecars


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
