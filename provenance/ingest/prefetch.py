"""A scan's head start: read a root the catalog does not know while the catalog loads.

Loading the catalog (SQLAlchemy, SQLModel, the models, the migrations check) costs about a
third of a second of one core, before a single file is read. A root the catalog has no file
under is read in full, and reading a file needs nothing from the catalog. So the scan command
walks such a root and hands its files to the workers as the walk finds them; the catalog
loads beside the reads, and the scan then takes the results as if it had asked for them
itself.

Whether the catalog knows the root is asked of the catalog without loading it
(``provenance.catalog.peek``). Any doubt (a PostgreSQL catalog, a catalog that cannot be
opened or has no assets table yet) means no head start, and the scan runs as it would without
one: the head start changes when files are read, never what is recorded.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from provenance.catalog.peek import catalog_knows_root
from provenance.files.reader import Failure, FileFacts, FileReader
from provenance.files.roots import check_folder
from provenance.files.walk import EntrySpill, FileEntry, walk_files

if TYPE_CHECKING:
    from provenance.config import Settings


@dataclass
class Prefetch:
    """A root walked and handed to the workers before the catalog was opened."""

    root: str
    #: the walk, in path order (kept on disk when it is big)
    entries: EntrySpill
    #: (path, reason) of what the walk skipped, to be counted by the scan's ingest
    skipped: list[tuple[str, str]] = field(default_factory=list)
    results: Iterator[FileFacts | Failure] = field(default_factory=lambda: iter(()))


def prefetch(
    settings: Settings,
    reader: FileReader,
    *,
    rebuild: bool = False,
    on_count: Callable[[int], None] | None = None,
) -> Prefetch | None:
    """Walk the first root and start reading it, when the scan will read all of it anyway
    (the catalog has no file there, or ``rebuild``); else return None. ``on_count`` hears
    how many files the walk has found so far (see ``walk_files``)."""
    if not settings.roots:
        return None
    root = settings.roots[0]
    root_path = str(root.path)
    if not check_folder(root.path, root.marker).online:
        return None
    if not rebuild and catalog_knows_root(settings.catalog_url, root_path) is not False:
        return None
    skipped: list[tuple[str, str]] = []
    walk = _Walked(
        walk_files(
            root.path,
            settings.scan.ignore,
            lambda path, why: skipped.append((path, why)),
            on_count,
        )
    )
    results = reader.start(walk)  # the first chunks go to the workers as the walk finds them
    walk.finish()
    return Prefetch(root_path, walk.entries, skipped, results)


class _Walked:
    """A walk handed to the workers as it goes, and kept (``entries``) for the scan.

    The reader takes files while the walk finds them, so the workers hash the first folders
    while the walk lists the rest (on network storage the walk itself takes minutes). Then
    ``finish`` walks the rest, since the scan needs the whole walk before it records a
    result; the files the reader takes after that come back from ``entries``.
    """

    def __init__(self, walk: Iterable[FileEntry]) -> None:
        self._walk = iter(walk)
        self.entries = EntrySpill()
        self._taken = 0

    def __iter__(self) -> Iterator[FileEntry]:
        for entry in self._walk:  # ends early once finish() has taken the rest
            self.entries.append(entry)
            self._taken += 1
            yield entry
        yield from itertools.islice(self.entries, self._taken, None)

    def finish(self) -> None:
        for entry in self._walk:
            self.entries.append(entry)
