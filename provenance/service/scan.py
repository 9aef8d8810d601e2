"""``scan``: walk roots, detect, hash, catalog, tag (``provenance.ingest.scan``), with its head
start: ``prepare`` starts reading the first root, when the catalog knows no file there, before
the catalog loads (``provenance.ingest.prefetch``).

This module imports the readers, the catalog and the scan only once they are needed, so that
the head start begins before the catalog loads.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.service.context import App, Caller

if TYPE_CHECKING:
    from provenance.config import Settings
    from provenance.files.reader import FileReader
    from provenance.ingest.prefetch import Prefetch
    from provenance.ingest.scan import ScanResult


@dataclass(frozen=True)
class Prepared:
    """A scan ready to run: its settings (the roots given, else the configured ones), the
    readers, and the first root walked and being read if the head start ran."""

    settings: Settings
    reader: FileReader
    head: Prefetch | None


@contextmanager
def prepare(
    app: App,
    paths: Sequence[Path],
    *,
    deep: bool | None = None,
    rebuild: bool = False,
    on_count: Callable[[Path], Callable[[int], None] | None] = lambda root: None,
) -> Iterator[Prepared]:
    """Make the folders given (if any) the roots, start the readers, and walk the first root
    (``on_count(root)``: what hears how many files its walk found); the readers end on leaving.

    Reading files asks no role (the reader is the caller, with the caller's own rights):
    ``scan`` checks it before the catalog changes.
    """
    from provenance.files.reader import FileReader, read_options
    from provenance.ingest.prefetch import prefetch

    with ExitStack() as stack:
        stack.callback(gc.unfreeze)
        # what the process holds before the scan (modules, settings) outlives it: out of
        # the collector's passes until the scan ends, here and in forked readers, whose
        # collections then neither walk it nor write to the pages the fork shares
        gc.freeze()
        settings = app.use_roots(paths, "scan")
        reader = stack.enter_context(
            FileReader(read_options(settings, deep), settings.scan.workers)
        )
        head = None
        if settings.roots:
            counted = on_count(settings.roots[0].path)
            head = prefetch(settings, reader, rebuild=rebuild, on_count=counted)
        yield Prepared(settings, reader, head)


def scan(
    app: App,
    caller: Caller,
    prepared: Prepared,
    *,
    deep: bool | None = None,
    rebuild: bool = False,
    dry_run: bool = False,
    on_total: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
    on_walk: Callable[[str, int], None] | None = None,
) -> ScanResult:
    """Scan every root of ``prepared`` once; return what was found and done. A root that is
    offline is reported and left alone. ``on_walk(root, files)`` hears how far each root's
    walk has come, ``on_total`` how many files will be read, ``progress`` each one read."""
    caller.require("scan")
    from provenance.catalog import utcnow
    from provenance.ingest.scan import scan as run_scan

    # so are the catalog's and the scan's modules, loaded just now: a scan's rows set off
    # collections, and each walked them all again (0.1 s of a 20,000-file scan)
    gc.freeze()
    return run_scan(
        prepared.settings,
        app.catalog,
        caller.actor,
        utcnow(),
        deep=deep,
        rebuild=rebuild,
        dry_run=dry_run,
        on_total=on_total,
        progress=progress,
        on_walk=on_walk,
        reader=prepared.reader,
        prefetched=prepared.head,
    )
