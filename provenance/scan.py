"""`provenance scan`: walk the roots, ingest what is new or changed, mark what is gone."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from provenance.audit import Actor
from provenance.catalog import Catalog, ScanRun
from provenance.catalog.store import KnownFile
from provenance.clearance.policy import clearance_policy
from provenance.config import RootSettings, Settings
from provenance.ingest import Ingest, IngestContext, IngestCounts
from provenance.ingest_rows import RETIRED
from provenance.prefetch import Prefetch
from provenance.reader import Failure, FileFacts, FileReader, read_options
from provenance.retention.policy import milestones_for, rules_from_settings
from provenance.roots import check_root
from provenance.tagging.sidecar import sidecar_missing, write_sidecars
from provenance.tags import TagOptions, sidecar_jobs
from provenance.walk import FileEntry, walk_files

log = logging.getLogger(__name__)


@dataclass
class RootResult:
    """One root's part of a scan."""

    root: str
    online: bool
    reason: str = ""
    files: int = 0


@dataclass
class ScanResult:
    """A whole scan: per-root health and the ingest counts."""

    roots: list[RootResult] = field(default_factory=list)
    counts: IngestCounts = field(default_factory=IngestCounts)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "roots": [r.__dict__ for r in self.roots],
            **self.counts.as_dict(),
            "seconds": round(self.seconds, 3),
        }


def ingest_context(
    settings: Settings,
    catalog: Catalog,
    actor: Actor,
    now: datetime,
    *,
    dry_run: bool = False,
    tags: TagOptions | None = None,
) -> IngestContext:
    """Return the ingest context these settings call for: tags, retention rules, milestones,
    clearance policy. Scan, the daemon and `provenance tag` all ingest through it."""
    return IngestContext(
        catalog=catalog,
        actor=actor,
        now=now,
        tags=tags if tags is not None else tag_options(settings),
        batch_size=settings.scan.batch_size,
        dry_run=dry_run,
        rules=rules_from_settings(settings),
        milestones={str(root.path): milestones_for(settings, root) for root in settings.roots},
        clearance=clearance_policy(settings),
    )


def tag_options(settings: Settings) -> TagOptions:
    """Return how tags are written, from ``[tagging]``."""
    tagging = settings.tagging
    return TagOptions(tagging.sidecar, tagging.sidecar_pattern, tuple(tagging.embed))


def _is_changed(entry: FileEntry, known: dict[str, object]) -> bool:
    facts = known.get(entry.path)
    if facts is None:
        return True
    return (facts.size, facts.mtime_ns, facts.inode, facts.present) != (  # type: ignore[attr-defined]
        entry.size,
        entry.mtime_ns,
        entry.inode,
        True,
    )


def scan(
    settings: Settings,
    catalog: Catalog,
    actor: Actor,
    now: datetime,
    *,
    deep: bool | None = None,
    rebuild: bool = False,
    dry_run: bool = False,
    on_total: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
    reader: FileReader | None = None,
    prefetched: Prefetch | None = None,
) -> ScanResult:
    """Scan every configured root once; return what was found and done.

    A root that is offline is reported and left alone: nothing under it is marked missing.
    With ``rebuild`` every file is read again and records lost from the catalog are
    restored from their tags. ``reader`` and ``prefetched`` come from a caller that started
    reading a root before it opened the catalog (prefetch.py); the caller closes that reader.
    """
    import time

    started = time.monotonic()
    result = ScanResult()
    context = ingest_context(settings, catalog, actor, now, dry_run=dry_run)
    ingest = Ingest(context, result.counts)
    own = reader is None
    if reader is None:
        reader = FileReader(read_options(settings, deep), settings.scan.workers)
    try:
        for root in settings.roots:
            head = prefetched if prefetched and prefetched.root == str(root.path) else None
            result.roots.append(
                _scan_root(root, settings, ingest, reader, rebuild, on_total, progress, head)
            )
    finally:
        if own:
            reader.close()
    result.seconds = time.monotonic() - started
    return result


def _scan_root(
    root: RootSettings,
    settings: Settings,
    ingest: Ingest,
    reader: FileReader,
    rebuild: bool,
    on_total: Callable[[int], None] | None,
    progress: Callable[[int], None] | None,
    prefetched: Prefetch | None = None,
) -> RootResult:
    context = ingest.context
    root_path = str(root.path)
    health = check_root(root)
    if not health.online:
        log.warning(
            "root %s is offline (%s): skipped, nothing under it is marked missing",
            root_path,
            health.reason,
        )
        return RootResult(root_path, False, health.reason)
    with context.catalog.read() as tx:
        known = tx.known_files(root_path)
    started_at = context.now
    results: Iterator[FileFacts | Failure] | None = None
    if prefetched is not None:  # walked, and being read, since before the catalog opened
        entries, results = prefetched.entries, prefetched.results
        for path, reason in prefetched.skipped:
            ingest.counts.skip(path, reason)
    else:
        if not known:
            reader.warm_up(wait=False)  # a new root is read in full: start the workers now
        entries = list(walk_files(root.path, settings.scan.ignore, ingest.counts.skip))
    seen = {entry.path for entry in entries}
    todo = [e for e in entries if rebuild or _is_changed(e, known)]  # type: ignore[arg-type]
    if results is not None and len(todo) < len(entries):
        # another process recorded some of these files since the head start was decided
        wanted = {entry.path for entry in todo}
        results = (r for r in results if r.path in wanted)
    ingest.counts.unchanged += len(entries) - len(todo)
    vanished = {path for path, facts in known.items() if facts.present and path not in seen}
    if on_total is not None:
        on_total(len(todo))
    ingest.ingest(
        reader,
        todo,
        lambda _path: root_path,
        count=len(todo),
        vanished=vanished,
        progress=progress,
        rebuild=rebuild,
        results=results,
    )
    if vanished and not entries:
        log.warning(
            "root %s is empty but the catalog knows %d files there: treated as offline, "
            "nothing marked missing",
            root_path,
            len(vanished),
        )
        return RootResult(root_path, False, "root is empty but the catalog knows files there", 0)
    ingest.mark_missing(vanished)
    unchanged = seen.difference(entry.path for entry in todo)
    _restore_missing_tags(
        ingest, [(path, facts) for path, facts in known.items() if path in unchanged]
    )
    if not context.dry_run:
        with context.catalog.write() as tx:
            tx.add(
                ScanRun(
                    root=root_path,
                    started_at=started_at,
                    finished_at=context.now,
                    online=True,
                    counts={"files": len(entries), "read": len(todo)},
                )
            )
    return RootResult(root_path, True, "", len(entries))


def _restore_missing_tags(ingest: Ingest, unchanged: list[tuple[str, KnownFile]]) -> None:
    """Write the sidecar again of each unchanged AI asset whose sidecar is gone (deleted by
    hand, or a scan stopped before its workers wrote it) or empty (a power cut soon after
    it was written): the tag beside the file is back after the next scan, without reading
    the file."""
    context, options = ingest.context, ingest.context.tags
    if context.dry_run or not options.sidecar:
        return
    missing = [
        known.id
        for path, known in unchanged
        if known.ai_class != "none"
        and known.status not in RETIRED
        and sidecar_missing(Path(path), options.sidecar_pattern)
    ]
    if not missing:
        return
    with context.catalog.read() as tx:
        assets = list(tx.assets_by_ids(missing).values())
    _, jobs = sidecar_jobs(assets, context.catalog)
    written = write_sidecars(jobs, options.sidecar_pattern)
    ingest.counts.tagged += written
    log.info("wrote %d missing tags of unchanged AI assets", written)
