"""`provenance scan`: walk the roots, ingest what is new or changed, mark what is gone."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from provenance.audit import Actor
from provenance.catalog import Catalog, ScanRun
from provenance.catalog.known import KnownFile
from provenance.catalog.unreadable import forget_unreadable, unreadable_under
from provenance.clearance.policy import clearance_policy
from provenance.config import RootSettings, Settings
from provenance.files.reader import Failure, FileFacts, FileReader, read_options
from provenance.files.roots import check_root
from provenance.files.walk import EntrySpill, FileEntry, walk_files
from provenance.ingest.ingest import Ingest, IngestContext, IngestCounts
from provenance.ingest.prefetch import Prefetch
from provenance.ingest.tags import TagOptions, sidecar_jobs
from provenance.lifecycle.states import RETIRED
from provenance.retention.policy import milestones_for, rules_from_settings
from provenance.tagging.sidecar import sidecar_missing, write_sidecars

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


#: Catalog files per query while a SQLite catalog is merged with a walk (one short read
#: transaction each, so that the scan's own writes can be checkpointed meanwhile).
KNOWN_PAGE = 5000


def _is_changed(entry: FileEntry, known: KnownFile) -> bool:
    # (size, mtime_ns, inode) of each, compared as one slice: a re-scan asks this per file
    return not known.present or known[1:4] != entry[1:4]


def _known_in_order(catalog: Catalog, root: str) -> Iterator[tuple[str, KnownFile]]:
    """The catalog's files under ``root`` in the walk's order, streamed: in pages of short
    transactions from SQLite, in one streamed query from PostgreSQL (which would sort the
    root's files again for each page)."""
    if catalog.dialect != "sqlite":
        with catalog.read() as tx:
            yield from tx.known_files_in_order(root)
        return
    after: str | None = None
    while True:
        with catalog.read() as tx:
            page = list(tx.known_files_in_order(root, after, KNOWN_PAGE))
        yield from page
        if len(page) < KNOWN_PAGE:
            return
        after = page[-1][0]


class _Known:
    """The catalog's files under a root, taken in path order as a walk in the same order
    passes them: the files it passes without finding are gone (``vanished``). Neither the
    walk nor the catalog's files are held in memory, only what changed."""

    def __init__(self, files: Iterator[tuple[str, KnownFile]]) -> None:
        self._files = files
        self._next = next(files, None)
        #: the paths of present assets the walk did not find
        self.vanished: set[str] = set()

    @property
    def empty(self) -> bool:
        """Whether the catalog has no file under the root (asked before any is taken)."""
        return self._next is None and not self.vanished

    def take(self, path: str) -> KnownFile | None:
        """Return the catalog's facts of the file at ``path``, None for a new file."""
        upcoming = self._next
        while upcoming is not None and upcoming[0] < path:
            self._pass()
            upcoming = self._next
        if upcoming is not None and upcoming[0] == path:
            self._next = next(self._files, None)
            return upcoming[1]
        return None

    def finish(self) -> None:
        """Pass the rest: the walk is over."""
        while self._next is not None:
            self._pass()

    def _pass(self) -> None:
        assert self._next is not None
        path, facts = self._next
        if facts.present:
            self.vanished.add(path)
        self._next = next(self._files, None)


@dataclass
class _Plan:
    """A root's walk merged with its catalog files: what to read, what is unchanged."""

    todo: EntrySpill = field(default_factory=EntrySpill)
    files: int = 0
    unchanged: int = 0
    #: ids of unchanged AI assets whose sidecar is missing (or empty)
    untagged: list[int] = field(default_factory=list)
    #: the paths of files recorded as unreadable that the walk found (when ``merged``: the
    #: walk was merged with the catalog's files, not taken whole)
    unreadable_found: set[str] = field(default_factory=set)
    merged: bool = False


@dataclass(frozen=True)
class _Unreadable:
    """A root's files recorded as unreadable (path -> size, mtime, attempts), and how many
    times a file is tried again before it is read again only once it changed."""

    files: dict[str, tuple[int | None, int | None, int]] = field(default_factory=dict)
    retries: int = 3

    def given_up(self, entry: FileEntry) -> bool:
        """Whether ``entry`` failed its first read and ``retries`` more, unchanged since."""
        size, mtime_ns, attempts = self.files[entry.path]
        return attempts > self.retries and (size, mtime_ns) == (entry.size, entry.mtime_ns)


def _plan(
    entries: Iterable[FileEntry],
    known: _Known,
    ingest: Ingest,
    rebuild: bool,
    unreadable: _Unreadable | None = None,
) -> _Plan:
    options = ingest.context.tags
    check_tags = options.sidecar and not ingest.context.dry_run
    failed = unreadable.files if unreadable is not None else {}
    plan = _Plan(merged=True)
    take = known.take
    for entry in entries:
        plan.files += 1
        facts = take(entry.path)
        if failed and entry.path in failed:
            plan.unreadable_found.add(entry.path)
        if rebuild or facts is None or _is_changed(entry, facts):
            if (
                not rebuild
                and entry.path in plan.unreadable_found
                and unreadable is not None
                and unreadable.given_up(entry)
            ):
                ingest.counts.not_retried += 1
                log.debug("not read again (unreadable, unchanged): %s", entry.path)
                continue
            plan.todo.append(entry)
            continue
        plan.unchanged += 1
        if (
            check_tags
            and facts.ai_class != "none"
            and facts.status not in RETIRED
            and sidecar_missing(Path(entry.path), options.sidecar_pattern)
        ):
            plan.untagged.append(facts.id)
    known.finish()
    return plan


def _only(
    results: Iterator[FileFacts | Failure], todo: Iterable[FileEntry]
) -> Iterator[FileFacts | Failure]:
    """The results of the files in ``todo``, from the results of a walk that holds them in
    the same order (a head start reads a whole root)."""
    wanted = iter(todo)
    upcoming = next(wanted, None)
    for result in results:
        if upcoming is not None and result.path == upcoming.path:
            upcoming = next(wanted, None)
            yield result


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
    on_walk: Callable[[str, int], None] | None = None,
    reader: FileReader | None = None,
    prefetched: Prefetch | None = None,
) -> ScanResult:
    """Scan every configured root once; return what was found and done.

    A root that is offline is reported and left alone: nothing under it is marked missing.
    With ``rebuild`` every file is read again and records lost from the catalog are
    restored from their tags. ``on_walk(root, files)`` hears how far each root's walk has
    come, ``on_total`` how many files will be read, ``progress`` each one read.
    ``reader`` and ``prefetched`` come from a caller that started
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
                _scan_root(
                    root, settings, ingest, reader, rebuild, on_total, progress, on_walk, head
                )
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
    on_walk: Callable[[str, int], None] | None = None,
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
    fingerprint = reader.options.fingerprint()
    hashing = "all" if reader.options.hash_all else "identity"
    reread = rebuild or _settings_changed(context.catalog, root_path, fingerprint, hashing)
    with context.catalog.read() as tx:
        failed = {
            path: (row.size, row.mtime_ns, row.attempts)
            for path, row in unreadable_under(tx, root_path).items()
        }
    unreadable = _Unreadable(failed, settings.scan.retry_unreadable)
    known = _Known(_known_in_order(context.catalog, root_path))
    started_at = context.now
    results: Iterator[FileFacts | Failure] | None = None
    if prefetched is not None:  # walked, and being read, since before the catalog opened
        results = prefetched.results
        for path, reason in prefetched.skipped:
            ingest.counts.skip(path, reason)
        if known.empty:  # as it was when the head start was decided: every file is new
            plan = _Plan(todo=prefetched.entries, files=len(prefetched.entries))
        else:  # a rebuild, or another process recorded some of these files meanwhile
            plan = _plan(prefetched.entries, known, ingest, reread, unreadable)
            if len(plan.todo) < plan.files:
                results = _only(results, plan.todo)
    else:
        if known.empty:
            reader.warm_up(wait=False)  # a new root is read in full: start the workers now
        counted = (lambda files: on_walk(root_path, files)) if on_walk is not None else None
        walk = walk_files(root.path, settings.scan.ignore, ingest.counts.skip, counted)
        plan = _plan(walk, known, ingest, reread, unreadable)
    vanished = known.vanished
    if on_total is not None:
        on_total(len(plan.todo))
    counts = ingest.counts
    stale_before = (counts.stale_sidecars, len(counts.stale))
    ingest.watch, ingest.seen = set(_last_stale(context.catalog, root_path)), set()
    try:
        ingest.ingest(
            reader,
            plan.todo,
            lambda _path: root_path,
            count=len(plan.todo),
            vanished=vanished,
            progress=progress,
            rebuild=rebuild,
            results=results,
        )
    finally:
        plan.todo.close()
        if prefetched is not None:
            prefetched.entries.close()
    ingest.counts.unchanged += plan.unchanged
    if vanished and not plan.files:
        log.warning(
            "root %s is empty but the catalog knows %d files there: treated as offline, "
            "nothing marked missing",
            root_path,
            len(vanished),
        )
        return RootResult(root_path, False, "root is empty but the catalog knows files there", 0)
    ingest.mark_missing(vanished)
    _restore_missing_tags(ingest, plan.untagged)
    for path in sorted(ingest.watch - ingest.seen - vanished):
        if not sidecar_missing(Path(path), context.tags.sidecar_pattern):
            counts.stale_beside(path)  # unchanged, not read again: its sidecar still stale
    stale = {
        "stale_sidecars": counts.stale_sidecars - stale_before[0],
        "stale": counts.stale[stale_before[1] :],
    }
    if not context.dry_run:
        with context.catalog.write() as tx:
            if plan.files and plan.merged:  # unreadable files the walk did not find
                forget_unreadable(tx, sorted(set(failed) - plan.unreadable_found))
            tx.add(
                ScanRun(
                    root=root_path,
                    started_at=started_at,
                    finished_at=context.now,
                    online=True,
                    counts={
                        "files": plan.files,
                        "read": len(plan.todo),
                        "detect": fingerprint,
                        **stale,
                        "hash": hashing,
                    },
                )
            )
    return RootResult(root_path, True, "", plan.files)


def _settings_changed(catalog: Catalog, root: str, fingerprint: str, hashing: str) -> bool:
    """Say whether the root's last scan judged its files with other detection settings
    (path rules, ``deep``, sidecars, the generator tables or the detectors themselves), or
    hashed fewer of them than ``[scan] hash`` now asks: then every file is read again, a
    verdict that changes is recorded, and a file that needs a content hash gets one."""
    with catalog.read() as tx:
        last = tx.last_scan(root)
    if last is None:
        return False
    counts = last.counts or {}
    if counts.get("detect") != fingerprint:
        log.info("root %s: detection settings changed since its last scan; reading it again", root)
        return True
    # a scan from before [scan] hash hashed every file
    if hashing == "all" and counts.get("hash", "all") != "all":
        log.info('root %s: [scan] hash is now "all"; reading it again to hash every file', root)
        return True
    return False


def _last_stale(catalog: Catalog, root: str) -> list[str]:
    """Return the files the root's last scan found beside a stale sidecar of ours."""
    with catalog.read() as tx:
        last = tx.last_scan(root)
    return list((last.counts or {}).get("stale", ())) if last is not None else []


def _restore_missing_tags(ingest: Ingest, untagged: list[int]) -> None:
    """Write the sidecar again of each unchanged AI asset whose sidecar is gone (deleted by
    hand, or a scan stopped before its workers wrote it) or empty (a power cut soon after
    it was written): the tag beside the file is back after the next scan, without reading
    the file."""
    if not untagged:
        return
    context, options = ingest.context, ingest.context.tags
    with context.catalog.read() as tx:
        assets = list(tx.assets_by_ids(untagged).values())
    _, jobs = sidecar_jobs(assets, context.catalog)
    written = write_sidecars(jobs, options.sidecar_pattern)
    ingest.counts.tagged += written
    log.info("wrote %d missing tags of unchanged AI assets", written)
