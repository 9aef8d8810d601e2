"""The one path from "these files exist" to "the catalog knows them", for scan, watch and rebuild.

``Ingest.ingest`` takes files that are new or changed, reads them (reader.py), and records
each in the catalog in short batched transactions: a new asset, a modified one, a move or
rename (same content, old path gone: the record follows the file), or a copy (same content,
original still there: a new record linked to its source). Plain new assets, the bulk of a
first scan, are inserted a batch at a time. Files that vanished are marked missing, never
while their root is offline. Tags are written after each batch commits.

Content hashes go to what needs an identity (readfile.py): AI assets, files the size of an
AI asset (a possible copy: hashed when read, or after, here, when an AI file of that size
came in the same ingest), files whose AI record has one, files with a tag to rebuild from.
A file without one is followed through a move by its device, inode, size, modification time
and partial fingerprint; it is never taken for a copy.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from provenance.audit import Actor
from provenance.catalog import Asset, Catalog, EventSpec, SignalRow, Tx
from provenance.catalog.ids import AssetIds
from provenance.catalog.known import Identity
from provenance.catalog.lifecycle import assets_in_flight
from provenance.catalog.unreadable import (
    FailedRead,
    forget_unreadable,
    record_unreadable,
    unreadable_paths,
)
from provenance.clearance.binding import follow_copy, void_if_changed
from provenance.clearance.policy import ClearancePolicy, default_policy
from provenance.detect.clean import clean_text
from provenance.detect.signals import Verdict
from provenance.errors import RowRefusedError
from provenance.files.reader import Failure, FileFacts, FileReader, Reads
from provenance.files.walk import FileEntry
from provenance.ingest.rows import (
    INHERITED,
    NewRow,
    PendingRows,
    apply_stat,
    apply_verdict,
    inherit,
    new_row,
    retire_path,
    set_clearance_columns,
    signal_values,
)
from provenance.ingest.tags import (
    Moved,
    Taggable,
    TagOptions,
    follow_jobs,
    follow_moves,
    read_existing_tag,
    remove_gone,
    sidecar_jobs,
    write_tags,
)
from provenance.lifecycle.states import OPEN, RETIRED, Status, born, initial, move, rebuilt
from provenance.retention.policy import AssetFacts, Rule, schedule
from provenance.tagging import TagRecord
from provenance.tagging.follow import FollowJob, Outcome, follow_all, follow_then_tag
from provenance.tagging.sidecar import SidecarJob

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]

#: Among the last ``batch_size`` files of an ingest, a batch of this many is recorded when
#: the next result is not read yet, so that the last batch, recorded after the last read,
#: is small (a full one, ~0.05 s of the writer's CPU, made the end that much later). While
#: results wait (the writer is behind), batches stay full: a small one costs more a file.
TAIL_BATCH = 250
#: Why a file that needed its content hash after its read has none: it changed meanwhile.
CHANGED_SINCE_READ = "changed while it was being read (still being written?)"


#: The most paths an ingest lists of one kind (stale sidecars): the counts go on.
MAX_LISTED = 1000


@dataclass
class IngestCounts:
    """What an ingest did, for the summary line and ``--json``."""

    indexed: int = 0
    modified: int = 0
    moved: int = 0
    copied: int = 0
    restored: int = 0
    unchanged: int = 0
    missing: int = 0
    ai: int = 0
    tagged: int = 0
    #: Our sidecars that followed their file, went with it, or stayed (``tagging.follow``).
    sidecars_moved: int = 0
    sidecars_removed: int = 0
    sidecars_kept: int = 0
    skipped: int = 0
    #: Files not read again: unreadable on their first read and ``[scan] retry_unreadable``
    #: more, unchanged since.
    not_retried: int = 0
    #: Files beside which one of our own sidecars was written for other content (a file
    #: saved under an old file's name): ignored as evidence, reported (``stale``: the
    #: paths, at most ``MAX_LISTED``).
    stale_sidecars: int = 0
    stale: list[str] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)

    def skip(self, path: str, reason: str) -> None:
        # a name that is not UTF-8 is shown with its bytes escaped (it is printed as JSON)
        path = os.fsencode(path).decode("utf-8", "backslashreplace")
        log.warning("skipped %s: %s", path, reason)
        self.skipped += 1
        if len(self.problems) < 1000:
            self.problems.append({"path": path, "reason": reason})

    def stale_beside(self, path: str) -> None:
        """Count a file beside a sidecar of ours written for other content."""
        self.stale_sidecars += 1
        if len(self.stale) < MAX_LISTED:
            self.stale.append(os.fsencode(path).decode("utf-8", "backslashreplace"))

    def sidecars(self, outcomes: Iterable[Outcome]) -> None:
        """Count what was done with sidecars (moved, removed, kept; nothing is not counted)."""
        for outcome in outcomes:
            if outcome is not Outcome.NONE:
                name = f"sidecars_{outcome.value}"
                setattr(self, name, getattr(self, name) + 1)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)

    def add(self, other: IngestCounts) -> None:
        """Add the numbers of ``other`` to these (its problems are not kept)."""
        for name, value in other.__dict__.items():
            if isinstance(value, int):
                setattr(self, name, getattr(self, name) + value)

    @property
    def recorded(self) -> int:
        """Files recorded: new (copies included), modified or moved."""
        return self.indexed + self.modified + self.moved


@dataclass(frozen=True)
class IngestContext:
    """Who ingests, when, and the settings that shape the records and tags."""

    catalog: Catalog
    actor: Actor
    now: datetime
    tags: TagOptions = field(default_factory=TagOptions)
    batch_size: int = 2000
    dry_run: bool = False
    #: Retention rules and each root's milestones (by root path): new AI assets get a deadline.
    rules: tuple[Rule, ...] = ()
    milestones: Mapping[str, Mapping[str, date]] = field(default_factory=dict)
    #: Clearance rules and tools (risk columns) and how prompts are kept (``[clearance]``).
    clearance: ClearancePolicy = field(default_factory=default_policy)


#: Sidecars handed to a worker: those to follow their files, the tags to write, the result.
_Tagging = tuple[list[FollowJob], list[SidecarJob], Future[tuple[int, dict[str, Outcome]]]]


class Ingest:
    """Records read files in the catalog; one instance per scan or per daemon."""

    def __init__(self, context: IngestContext, counts: IngestCounts | None = None) -> None:
        self.context = context
        self.counts = counts or IngestCounts()
        self._tagging: list[_Tagging] = []
        self._uids = AssetIds()
        #: Reads that failed (not for a moment: the file is there and cannot be read), to
        #: record as unreadable; and the paths the catalog holds as unreadable (None: not
        #: asked yet), whose rows go when their file is recorded.
        self._failed: list[Failure] = []
        self._unreadable: set[str] | None = None
        #: The files of the batch being written that were moved (their sidecars follow).
        self._moved: list[Moved] = []
        #: Paths a scan wants to know were read (the last scan's stale sidecars), and those
        #: of them read.
        self.watch: set[str] = set()
        self.seen: set[str] = set()
        #: Sizes of the AI files this ingest read: a file of such a size read after one
        #: may be a copy of it, and is hashed as it is read. (The catalog's AI sizes are
        #: asked of each batch's files as it is written: ``_hash_identities``.)
        self._ai_sizes: set[int] = set()
        #: (device, inode) -> identity of the assets at the ``vanished`` paths of the
        #: current ingest (None: not asked yet), to follow files without a content hash.
        self._gone: dict[tuple[int, int], Identity] | None = None
        #: size -> content hashes of the AI files recorded since the last look for the
        #: files of their size recorded before them without a hash (possible copies).
        self._new_ai: dict[int, set[str]] = {}

    def ingest(
        self,
        reader: FileReader,
        paths: Iterable[str | FileEntry],
        root_of: Callable[[str], str],
        *,
        count: int | None = None,
        vanished: set[str] | None = None,
        progress: ProgressCallback | None = None,
        rebuild: bool = False,
        results: Iterator[FileFacts | Failure] | None = None,
    ) -> None:
        """Read ``paths`` and record each.

        ``vanished`` holds paths gone since the last look: a new file with the same content
        as one of them is that file, moved. With ``rebuild`` every new file's tag is read
        (sidecar or embedded) so a lost record comes back with its id and history dates.
        A ``FileEntry`` (from a walk) tells the reader its size and sidecar. ``results`` are
        the reads of ``paths`` already under way (a scan's head start, prefetch.py).
        """
        batch: list[FileFacts] = []
        ai_sizes = self._ai_sizes
        self._gone = None
        if results is None:
            results = reader.read_many(paths, count, ai_sizes)
        size = self.context.batch_size
        # TAIL_BATCH, where results say whether the next is in (a pool's Reads)
        last = min(size, TAIL_BATCH)
        tail_from = count - size if count is not None else None
        ready = results.ready if isinstance(results, Reads) else None
        for taken, result in enumerate(results, start=1):
            if progress is not None:
                progress(1)
            if self.watch and result.path in self.watch:
                self.seen.add(result.path)
            if isinstance(result, Failure):
                self.counts.skip(result.path, result.reason)
                if not result.transient:
                    self._failed.append(result)
                continue
            for problem in result.verdict.problems:
                log.warning("%s: %s", result.path, problem)
            if result.stale_sidecars and not self._rewritten(result):
                self.counts.stale_beside(result.path)
            if result.verdict.is_ai:
                ai_sizes.add(result.size)
            batch.append(result)
            if len(batch) >= size or (
                ready is not None
                and tail_from is not None
                and taken > tail_from
                and len(batch) >= last
                and not ready()
            ):
                self._write_batch(batch, root_of, vanished, rebuild, reader)
                self._record_failed(root_of)
                batch = []
        if batch:
            self._write_batch(batch, root_of, vanished, rebuild, reader)
        self._record_failed(root_of)
        self._find_copies_read_before(reader)
        self._count_tags()

    def _rewritten(self, facts: FileFacts) -> bool:
        """Whether this ingest writes the file's sidecar again for its content (an AI file,
        sidecars on): its stale sidecar is then replaced, not left to report."""
        options = self.context.tags
        return facts.verdict.is_ai and options.sidecar and not self.context.dry_run

    def _hash_identities(
        self, batch: Sequence[FileFacts], tags: Mapping[str, TagRecord], reader: FileReader
    ) -> list[FileFacts]:
        """Return the batch with a content hash for each file read without one that needs
        it: the size of an AI asset (one read since it was sent out, maybe in this batch),
        an AI record with a content hash at its path, or a tag to rebuild from. Hashed in
        the workers; a file that changed since it was read is left for the next look (its
        record needs the hash) or keeps none (a possible copy)."""
        unhashed = [f for f in batch if f.content_hash is None]
        if not unhashed:
            return list(batch)
        with self.context.catalog.read() as tx:
            # a name that is not UTF-8 has no record (the catalog refuses its row)
            hashed = tx.hashed_paths([f.path for f in unhashed if _is_text(f.path)])
            unknown = {f.size for f in unhashed} - self._ai_sizes
            sizes = self._ai_sizes | tx.ai_sizes_of(sorted(unknown))
        required = hashed | {f.path for f in unhashed if f.path in tags}
        wanted = [f for f in unhashed if f.path in required or f.size in sizes]
        if not wanted:
            return list(batch)
        hashes = reader.hash_many([(f.path, f.size, f.mtime_ns, f.inode) for f in wanted])
        found = dict(zip((f.path for f in wanted), hashes, strict=True))
        done: list[FileFacts] = []
        for facts in batch:
            if facts.path in found:
                content_hash = found[facts.path]
                if content_hash is None and facts.path in required:
                    self.counts.skip(facts.path, CHANGED_SINCE_READ)
                    continue
                facts = replace(facts, content_hash=content_hash)
            done.append(facts)
        return done

    def _record_failed(self, root_of: Callable[[str], str]) -> None:
        """Record the files that could not be read or recorded since the last call, each
        with its reason, its size and modification time, and one attempt more."""
        failed, self._failed = self._failed, []
        if not failed or self.context.dry_run:
            return
        reads = [
            FailedRead(f.path, root_of(f.path), clean_text(f.reason, 1000), *_stat_of(f.path))
            for f in failed
            if _is_text(f.path)  # a name that is not UTF-8 is named in the summary only
        ]
        if not reads:
            return
        try:
            with self.context.catalog.write() as tx:
                record_unreadable(tx, reads, self.context.now)
        except RowRefusedError as exc:
            log.warning("%d unreadable files not recorded: %s", len(reads), exc)
            return
        if self._unreadable is not None:
            self._unreadable.update(read.path for read in reads)

    def _count_tags(self) -> None:
        """Wait for the sidecars handed to the workers and count them; write here those a
        worker could not (it died: writing a sidecar again only replaces it)."""
        for follows, jobs, future in self._tagging:
            try:
                written, outcomes = future.result()
            except Exception as exc:
                log.warning("writing %d tags here (%s)", len(jobs), exc)
                pattern = self.context.tags.sidecar_pattern
                written, outcomes = follow_then_tag(follows, jobs, pattern)
            self.counts.tagged += written
            self.counts.sidecars(outcomes.values())
        self._tagging.clear()

    def _tags_of(self, batch: Sequence[FileFacts], rebuild: bool) -> dict[str, TagRecord]:
        # Our sidecar shows up as a "sidecar" signal, so only those files (or all, on a
        # rebuild, which also looks for embedded tags) are read again here.
        tags: dict[str, TagRecord] = {}
        for facts in batch:
            signals = facts.verdict.signals
            if rebuild or (signals and any(s.kind == "sidecar" for s in signals)):
                tag = read_existing_tag(facts.path, self.context.tags)
                if tag is not None:
                    tags[facts.path] = tag
        return tags

    def _write_batch(
        self,
        batch: Sequence[FileFacts],
        root_of: Callable[[str], str],
        vanished: set[str] | None,
        rebuild: bool,
        reader: FileReader,
    ) -> None:
        """Record a batch; when the catalog refuses a row, record its halves apart, so that
        one bad row costs its own file only (skipped with the reason), never the batch."""
        try:
            self._write_rows(batch, root_of, vanished, rebuild, reader)
        except RowRefusedError as exc:
            if len(batch) == 1:
                self.counts.skip(batch[0].path, f"not recorded: {exc}")
                self._failed.append(Failure(batch[0].path, f"not recorded: {exc}"))
                return
            log.debug("a batch of %d files was refused (%s); writing its halves", len(batch), exc)
            half = len(batch) // 2
            self._write_batch(batch[:half], root_of, vanished, rebuild, reader)
            self._write_batch(batch[half:], root_of, vanished, rebuild, reader)

    def _write_rows(
        self,
        batch: Sequence[FileFacts],
        root_of: Callable[[str], str],
        vanished: set[str] | None,
        rebuild: bool,
        reader: FileReader,
    ) -> None:
        tags = self._tags_of(batch, rebuild)
        batch = self._hash_identities(batch, tags, reader)
        if self.context.dry_run:
            self._dry_run(batch, root_of, vanished)
            return
        touched: list[Taggable] = []
        self._moved = []
        pending = PendingRows(policy=self.context.clearance)
        with self.context.catalog.write() as tx:
            existing = tx.assets_by_paths([f.path for f in batch])
            hashes = sorted(
                {f.content_hash for f in batch if f.path not in existing and f.content_hash}
            )
            same_content = tx.assets_by_hashes(hashes)
            # the asset ids in tags that records already have (or this batch gives out)
            taken = tx.known_uids(sorted({tag.asset_uid for tag in tags.values()}))
            for facts in batch:
                root = root_of(facts.path)
                if facts.path in existing:
                    current = existing[facts.path]
                    if current.status == Status.QUARANTINED:
                        self.counts.skip(
                            facts.path,
                            f"a new file where quarantined asset "
                            f"{current.uid} was; indexed once that one is purged "
                            "or restored (restore will not overwrite it)",
                        )
                        continue
                    if current.status != Status.PURGED:
                        touched.append(self._update(tx, current, facts, root))
                        continue
                    retire_path(tx, current, self.context.actor, self.context.now)
                if facts.content_hash is None:
                    known = self._same_file(tx, facts, vanished)
                else:
                    known = same_content.get(facts.content_hash, [])
                tag = tags.get(facts.path)
                moved = self._record_new(
                    tx, facts, root, vanished, tag, known, taken, pending, touched
                )
                if moved is not None:
                    touched.append(moved)
            touched.extend(pending.write(tx, self.context.actor, self.context.now))
            if self._unreadable is None:
                self._unreadable = unreadable_paths(tx)
            read_now = [f.path for f in batch if f.path in self._unreadable]
            if read_now:  # unreadable before, recorded now
                forget_unreadable(tx, read_now)
                self._unreadable.difference_update(read_now)
        self.counts.ai += sum(a.is_ai for a in touched)
        for facts in batch:
            if facts.verdict.is_ai and facts.content_hash is not None:
                self._new_ai.setdefault(facts.size, set()).add(facts.content_hash)
        self._tag(touched, follow_jobs(self._moved, self.context.tags), reader)

    def _tag(self, touched: list[Taggable], follows: list[FollowJob], reader: FileReader) -> None:
        """Tag the AI assets among ``touched`` (sidecars of moved files follow them first):
        in the workers when they run, else here."""
        options = self.context.tags
        if reader.running and options.sidecar and not options.embed_formats:
            # the workers move and write the sidecars, off this (the catalog writer's) path
            _, jobs = sidecar_jobs(touched, self.context.catalog)
            if jobs or follows:
                future = reader.submit(follow_then_tag, follows, jobs, options.sidecar_pattern)
                self._tagging.append((follows, jobs, future))
            return
        followed = follow_all(follows, options.sidecar_pattern)
        self.counts.sidecars(followed.values())
        kept = {uid for uid, outcome in followed.items() if outcome is Outcome.KEPT}
        if kept:
            touched = [asset for asset in touched if asset.uid not in kept]
        self.counts.tagged += write_tags(
            touched, options, self.context.catalog, self.context.actor, self.context.now
        )

    def _find_copies_read_before(self, reader: FileReader) -> None:
        """Hash the recorded files that are not AI and have no content hash, of the size of an
        AI file recorded since the last look (each may be its copy, read before it: an
        earlier batch, or an earlier scan), in the workers within their budget; one with
        the same content becomes a copy of it (AI, linked, with its event and tag). A file
        changed since it was recorded is left as it is (its next read hashes it)."""
        wanted, self._new_ai = self._new_ai, {}
        if not wanted or self.context.dry_run:
            return
        with self.context.catalog.read() as tx:
            candidates = tx.unhashed_of_sizes(sorted(wanted))
        if not candidates:
            return
        hashes = reader.hash_many([(c.path, c.size, c.mtime_ns, c.inode) for c in candidates])
        found = {c.id: (c, h) for c, h in zip(candidates, hashes, strict=True) if h is not None}
        if not found:
            return
        touched: list[Taggable] = []
        with self.context.catalog.write() as tx:
            sources = tx.assets_by_hashes(sorted({h for _, h in found.values()}))
            for asset in tx.assets_by_ids(sorted(found)).values():
                recorded, content_hash = found[asset.id or 0]
                if asset.content_hash is not None or (
                    asset.size,
                    asset.mtime_ns,
                    asset.inode,
                ) != (recorded.size, recorded.mtime_ns, recorded.inode):
                    continue  # hashed or changed meanwhile
                asset.content_hash = content_hash
                source = next(
                    (a for a in sources.get(content_hash, []) if a.is_ai and a.id != asset.id),
                    None,
                )
                if source is None:
                    continue  # the same size, other bytes: no copy (its hash is kept)
                touched.append(self._become_copy(tx, asset, source))
        self.counts.ai += len(touched)
        if touched:
            self._tag(touched, [], reader)

    def _become_copy(self, tx: Tx, asset: Asset, source: Asset) -> Asset:
        """Record that ``asset`` (read as not AI, no content hash till now) holds the same
        bytes as the AI asset ``source``: a copy of AI content is AI."""
        now, actor = self.context.now, self.context.actor
        asset.source_asset_id = source.id
        for name in INHERITED:
            setattr(asset, name, getattr(source, name))
        set_clearance_columns(asset, self.context.clearance)
        status = initial(asset.ai_class)
        asset.deadline, asset.policy = self.schedule({**asset.model_dump(), "status": status})
        move(
            tx,
            asset,
            status,
            actor,
            now,
            action="copied",
            reason=f"copy of {source.path} (found when that was recorded)",
            before={"content_hash": None, "ai_class": "none"},
            after={"content_hash": asset.content_hash, "ai_class": asset.ai_class},
        )
        self.counts.copied += 1
        log.info(
            "copied %s: copy of %s",
            asset.path,
            source.path,
            extra=_fields("copied", asset.uid, asset.path, asset.root, ai_class=asset.ai_class),
        )
        return asset

    def _dry_run(
        self, batch: Sequence[FileFacts], root_of: Callable[[str], str], vanished: set[str] | None
    ) -> None:
        """Count what the batch would record, and say where our sidecars would go."""
        self.counts.ai += sum(f.verdict.is_ai for f in batch)
        with self.context.catalog.read() as tx:
            existing = tx.assets_by_paths([f.path for f in batch])
            same_content = tx.assets_by_hashes(
                sorted({f.content_hash for f in batch if f.path not in existing and f.content_hash})
            )
            same_files = {
                f.path: self._same_file(tx, f, vanished)
                for f in batch
                if f.path not in existing and f.content_hash is None
            }
        moved: list[Moved] = []
        for facts in batch:
            source = None
            if facts.path not in existing:
                found = (
                    same_files[facts.path]
                    if facts.content_hash is None
                    else same_content.get(facts.content_hash, [])
                )
                source = _moved_from(found, vanished)
            if source is None:
                self.counts.indexed += 1
                continue
            self.counts.moved += 1
            if vanished is not None:
                vanished.discard(source.path)
            moved.append(Moved(source.root, source.path, root_of(facts.path), facts.path, source))
        self.counts.sidecars(follow_moves(moved, self.context.tags, dry_run=True).values())

    def _record_new(
        self,
        tx: Tx,
        facts: FileFacts,
        root: str,
        vanished: set[str] | None,
        tag: TagRecord | None,
        same_content: list[Asset],
        taken: set[str],
        pending: PendingRows,
        touched: list[Taggable],
    ) -> Asset | None:
        """Record a path the catalog does not know: a move (returned), else a pending row."""
        now, actor = self.context.now, self.context.actor
        moved_from = _moved_from(same_content, vanished)
        if moved_from is not None:
            old_path, was_missing = moved_from.path, not moved_from.present
            self._moved.append(Moved(moved_from.root, old_path, root, facts.path, moved_from))
            apply_stat(moved_from, facts, root, now)
            if vanished is not None:
                vanished.discard(old_path)
            tx.record(
                actor,
                "moved",
                now,
                asset=moved_from,
                reason="same content at a new path",
                before={"path": old_path},
                after={"path": facts.path},
            )
            self.counts.moved += 1
            self.counts.restored += was_missing
            log.info(
                "moved %s -> %s",
                old_path,
                facts.path,
                extra=_fields("moved", moved_from.uid, facts.path, root, old_path=old_path),
            )
            return moved_from
        source: Asset | NewRow | None = None
        if facts.content_hash is not None:  # a file without one is never taken for a copy
            if facts.content_hash in pending.by_hash:
                # the source needs its id before a copy can link to it
                touched.extend(pending.write(tx, actor, now))
            source = pending.by_hash.get(facts.content_hash) or (
                next((a for a in same_content if a.present), None) if same_content else None
            )
        # a tag's asset id is taken over once (a rebuild), not by a copy made with its sidecar
        adopt = tag is not None and tag.asset_uid not in taken
        uid = tag.asset_uid if tag is not None and adopt else self._uids()
        if adopt:
            taken.add(uid)
        row = new_row(facts, root, uid, now, self.context.clearance)
        action, reason = "indexed", f"{row.ai_class} ({row.generator or 'no generator named'})"
        if source is not None:
            row.source_asset_id = source.id
            if source.ai_class != "none" and row.ai_class == "none":
                inherit(row, source)
            cleared = follow_copy(tx, row, source, self.context.clearance)
            if cleared is not None:
                pending.cleared_from[row.uid] = cleared
            action, reason = "copied", f"copy of {source.path}"
            self.counts.copied += 1
        elif tag is not None and adopt:
            row.first_seen = min(tag.first_seen, now)
            if tag.content_hash == facts.content_hash:  # beside other bytes it is no evidence
                born(row, rebuilt(tag.status, row.ai_class))
                row.deadline = tag.deadline
                if tag.status and row.status != tag.status:
                    log.warning(
                        "%s: its tag says %s; rebuilt as %s (a tag is no record of a clearance, "
                        "a hold, a quarantine or a purge)",
                        facts.path,
                        tag.status,
                        row.status,
                    )
            action, reason = "rebuilt", "record restored from its tag"
        if row.status == Status.TEMPORARY:  # only a temporary asset has a deadline to set
            row.deadline, row.policy = self.schedule(row.values())
        pending.rows.append((row, facts.verdict, action, reason))
        if facts.content_hash is not None:
            pending.by_hash.setdefault(facts.content_hash, row)
        self.counts.indexed += 1
        if row.ai_class != "none":
            log.info(
                "%s %s: %s",
                action,
                facts.path,
                reason,
                extra=_fields(action, row.uid, facts.path, root, ai_class=row.ai_class),
            )
        return None

    def _same_file(self, tx: Tx, facts: FileFacts, vanished: set[str] | None) -> list[Asset]:
        """The asset a new path without a content hash was moved from, if any (as a list,
        like the assets of the same content): one whose path is gone, with the same device
        and inode, size, modification time and partial fingerprint (a rename or a move on
        the same filesystem keeps all of them)."""
        if not vanished or not facts.fingerprint:
            return []
        if self._gone is None:
            self._gone = tx.identities(sorted(vanished))
        gone = self._gone.get((facts.device, facts.inode))
        if (
            gone is None
            or gone.path not in vanished
            or (gone.size, gone.mtime_ns, gone.fingerprint)
            != (facts.size, facts.mtime_ns, facts.fingerprint)
        ):
            return []
        asset = tx.asset_by_path(gone.path)
        return [asset] if asset is not None else []

    def schedule(self, values: Mapping[str, Any]) -> tuple[datetime | None, str | None]:
        """Return the deadline and policy of a new temporary AI asset (first matching rule)."""
        if values["status"] != Status.TEMPORARY or values["deadline"] or not self.context.rules:
            return values["deadline"], values["policy"]
        facts = AssetFacts(
            path=Path(values["path"]).relative_to(values["root"]).as_posix(),
            ai_class=values["ai_class"],
            status=values["status"],
            first_seen=values["first_seen"],
            created_at=values["created_at"],
            generator=values["generator"],
            family=values["family"],
        )
        return schedule(facts, self.context.rules, self.context.milestones.get(values["root"], {}))

    def _update(self, tx: Tx, asset: Asset, facts: FileFacts, root: str) -> Asset:
        now, actor = self.context.now, self.context.actor
        was_present = asset.present
        old_hash, old_class, old_print = asset.content_hash, asset.ai_class, asset.fingerprint
        apply_stat(asset, facts, root, now)
        verdict = facts.verdict
        same_reading = (old_class, asset.family) == (verdict.ai_class, verdict.family)
        new_hash = facts.content_hash
        changed = _content_changed(old_hash, old_print, new_hash, facts.fingerprint)
        if same_reading and not changed:
            same_reading = not _trust_changed(tx, asset, verdict)
        if not changed and same_reading:
            if new_hash is not None and old_hash is None:  # it needs an identity now
                asset.content_hash = new_hash
                if tx.has_events(asset.id):  # its state is on record: say what changed
                    tx.record(
                        actor,
                        "hashed",
                        now,
                        asset=asset,
                        reason="content hashed (it needs an identity now)",
                        after={"content_hash": new_hash},
                    )
            if not was_present:
                tx.record(actor, "reappeared", now, asset=asset, reason="file is back at its path")
                self.counts.restored += 1
            else:
                self.counts.unchanged += 1
            return asset
        apply_verdict(asset, facts.verdict, self.context.clearance)
        if changed or new_hash is not None:
            asset.content_hash = new_hash
        if changed:
            void_if_changed(tx, asset, self.schedule, actor, now)
        status = None  # read as AI: now in the lifecycle; read as not AI before any step
        if old_class == "none" and asset.is_ai and asset.status == Status.NOT_AI:
            status = initial(asset.ai_class)
            values = {**asset.model_dump(), "status": status}
            asset.deadline, asset.policy = self.schedule(values)
        elif asset.ai_class == "none" and asset.status in OPEN:
            status = Status.NOT_AI
        assert asset.id is not None
        tx.replace_signals(
            asset.id,
            [
                SignalRow(**v)
                for v in signal_values(asset.id, facts.verdict, now, self.context.clearance)
            ],
        )
        reason = "content changed" if changed else "read again with other detection settings"
        before: dict[str, Any] = {"content_hash": old_hash, "ai_class": old_class}
        after: dict[str, Any] = {"content_hash": asset.content_hash, "ai_class": asset.ai_class}
        if asset.content_hash is None:  # the partial fingerprint is all there is to compare
            before["fingerprint"], after["fingerprint"] = old_print, asset.fingerprint
        if status is None:
            tx.record(
                actor, "modified", now, asset=asset, reason=reason, before=before, after=after
            )
        else:
            move(
                tx,
                asset,
                status,
                actor,
                now,
                action="modified",
                reason=reason,
                before=before,
                after=after,
            )
        self.counts.modified += 1
        log.info("modified %s", facts.path, extra=_fields("modified", asset.uid, facts.path, root))
        return asset

    def mark_missing(self, paths: Iterable[str]) -> None:
        """Record that the assets at ``paths`` are gone (their rows and history stay)."""
        now, actor = self.context.now, self.context.actor
        pending = sorted(paths)
        for start in range(0, len(pending), self.context.batch_size):
            chunk = pending[start : start + self.context.batch_size]
            if self.context.dry_run:  # say what would become of their sidecars
                with self.context.catalog.read() as tx:
                    present = [a for a in tx.assets_by_paths(chunk).values() if a.present]
                self.counts.sidecars(remove_gone(present, self.context.tags, dry_run=True))
                self.counts.missing += len(chunk)
                continue
            gone: list[Asset] = []
            with self.context.catalog.write() as tx:
                events = []
                in_flight = assets_in_flight(tx)  # being moved: settled by the journal
                for asset in tx.assets_by_paths(chunk).values():
                    if not asset.present or asset.id in in_flight:
                        continue
                    asset.present, asset.missing_since = False, now
                    gone.append(asset)
                    events.append(
                        EventSpec("missing", asset.id, asset.path, "file no longer at its path")
                    )
                    log.info(
                        "missing %s",
                        asset.path,
                        extra=_fields("missing", asset.uid, asset.path, asset.root),
                    )
                tx.record_many(actor, now, events)
                self.counts.missing += len(events)
            # our sidecar goes with its file (one another tool wrote or changed stays)
            self.counts.sidecars(remove_gone(gone, self.context.tags))


def _moved_from(same_content: Sequence[Asset], vanished: set[str] | None) -> Asset | None:
    """Return the asset a new path with this content was moved from: one whose file is gone."""
    return next(
        (
            a
            for a in same_content
            if a.status not in RETIRED and (not a.present or (vanished and a.path in vanished))
        ),
        None,
    )


def _content_changed(
    old_hash: str | None, old_print: str | None, new_hash: str | None, new_print: str
) -> bool:
    """Whether a file read again has other bytes than its record says: by content hash
    where both have one, else by partial fingerprint (never one against the other); a
    content hash that could not be taken again counts as a change."""
    if old_hash is not None and new_hash is not None:
        return old_hash != new_hash
    return old_print is None or old_print != new_print


def _fields(event: str, asset: str, path: str, root: str, **more: Any) -> dict[str, Any]:
    """The structured fields of a change's log line (``--log-format json`` prints them)."""
    return {"event": event, "asset": asset, "path": path, "root": root, **more}


def _trust_changed(tx: Tx, asset: Asset, verdict: Verdict) -> bool:
    """Whether the C2PA claims of unchanged bytes are now judged otherwise (trusted,
    untrusted, invalid: the trust settings changed), so their signals are recorded again.
    Asked of files with a claim only (one look-up of their signals)."""
    new = sorted(s.detail["trust"] for s in verdict.signals if s.detail.get("trust"))
    if not new or asset.id is None:
        return False
    old = [(s.detail or {}).get("trust") for s in tx.signals_of(asset.id)]
    return new != sorted(word for word in old if word)


def _stat_of(path: str) -> tuple[int | None, int | None]:
    """The size and modification time of the file at ``path`` (None, None: not known)."""
    try:
        info = os.lstat(path)
    except OSError:
        return None, None
    return info.st_size, info.st_mtime_ns


def _is_text(path: str) -> bool:
    """Whether ``path`` is text a catalog can hold (its name was valid UTF-8)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
