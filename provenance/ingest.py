"""The one path from "these files exist" to "the catalog knows them", for scan, watch and rebuild.

``ingest_paths`` takes files that are new or changed, reads them (reader.py), and records
each in the catalog in short batched transactions: a new asset, a modified one, a move or
rename (same content, path gone: the record follows the file), or a copy (same content,
original still there: a new record linked to its source). Files that vanished are marked
missing, never while their root is offline. Tags are written after each batch commits.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from provenance.audit import Actor
from provenance.catalog import Asset, Catalog, SignalRow, Tx
from provenance.detect import Verdict
from provenance.errors import ProvenanceError
from provenance.hashing import hash_file
from provenance.reader import Failure, FileFacts, FileReader
from provenance.retention.policy import AssetFacts, Rule, schedule
from provenance.tagging import (
    TagRecord,
    can_embed,
    digital_source_type_for,
    embed_xmp,
    read_tag,
    write_sidecar,
)

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]


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
    skipped: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)

    def skip(self, path: str, reason: str) -> None:
        log.warning("skipped %s: %s", path, reason)
        self.skipped += 1
        if len(self.problems) < 1000:
            self.problems.append({"path": path, "reason": reason})

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class IngestContext:
    """Who ingests, when, and the settings that shape the records and tags."""

    catalog: Catalog
    actor: Actor
    now: datetime
    tag_sidecars: bool = True
    sidecar_pattern: str = "{name}.xmp"
    #: Formats opted in to embedded XMP ("jpeg", "png").
    embed_formats: tuple[str, ...] = ()
    batch_size: int = 500
    dry_run: bool = False
    #: Retention rules and each root's milestones (by root path): new AI assets get a deadline.
    rules: tuple[Rule, ...] = ()
    milestones: Mapping[str, Mapping[str, date]] = field(default_factory=dict)


def initial_status(verdict_class: str) -> str:
    """Return the lifecycle state of a newly seen asset of this AI class."""
    return "not-ai" if verdict_class == "none" else "temporary"


def signal_rows(verdict: Verdict, now: datetime) -> list[SignalRow]:
    return [
        SignalRow(
            asset_id=0,
            kind=s.kind,
            ai_class=s.ai_class,
            generator=s.generator,
            family=s.family,
            model=s.model,
            prompt=s.prompt,
            parameters=dict(s.parameters),
            confidence=s.confidence,
            source=s.source,
            detail=dict(s.detail),
            found_at=now,
        )
        for s in verdict.signals
    ]


def _apply_verdict(asset: Asset, verdict: Verdict) -> None:
    asset.ai_class = verdict.ai_class
    asset.media_type = verdict.media_type
    asset.generator = verdict.generator
    asset.family = verdict.family
    asset.model = verdict.model
    asset.prompt = verdict.prompt
    asset.confidence = verdict.confidence


def _apply_stat(asset: Asset, facts: FileFacts, root: str, now: datetime) -> None:
    asset.path = facts.path
    asset.root = root
    asset.size = facts.size
    asset.mtime_ns = facts.mtime_ns
    asset.inode = facts.inode
    asset.device = facts.device
    asset.last_seen = now
    asset.present = True
    asset.missing_since = None


def tag_record(asset: Asset) -> TagRecord:
    """Return the portable copy of an AI asset's record, as written beside the file."""
    return TagRecord(
        asset_uid=asset.uid,
        ai_class=asset.ai_class,
        status=asset.status,
        content_hash=asset.content_hash or "",
        first_seen=asset.first_seen,
        deadline=asset.deadline,
        generator=asset.generator,
        model=asset.model,
        digital_source_type=digital_source_type_for(asset.ai_class),
        signals=(),
    )


class Ingest:
    """Records read files in the catalog; one instance per scan or per daemon."""

    def __init__(self, context: IngestContext, counts: IngestCounts | None = None) -> None:
        self.context = context
        self.counts = counts or IngestCounts()

    def ingest(
        self,
        reader: FileReader,
        paths: Iterable[str],
        root_of: Callable[[str], str],
        *,
        count: int | None = None,
        vanished: set[str] | None = None,
        progress: ProgressCallback | None = None,
        adopt_tags: bool = True,
    ) -> None:
        """Read ``paths`` and record each; ``vanished`` holds paths gone since the last look
        (a new file with the same content as one of them is that file, moved)."""
        batch: list[FileFacts] = []
        for result in reader.read_many(paths, count):
            if progress is not None:
                progress(1)
            if isinstance(result, Failure):
                self.counts.skip(result.path, result.reason)
                continue
            for problem in result.verdict.problems:
                log.warning("%s: %s", result.path, problem)
            batch.append(result)
            if len(batch) >= self.context.batch_size:
                self._write_batch(batch, root_of, vanished, adopt_tags)
                batch = []
        if batch:
            self._write_batch(batch, root_of, vanished, adopt_tags)

    def _write_batch(
        self,
        batch: Sequence[FileFacts],
        root_of: Callable[[str], str],
        vanished: set[str] | None,
        adopt_tags: bool,
    ) -> None:
        tags = {f.path: self._read_tag(f.path) for f in batch} if adopt_tags else {}
        if self.context.dry_run:
            for facts in batch:
                self.counts.indexed += 1
                self.counts.ai += facts.verdict.is_ai
            return
        to_tag: list[Asset] = []
        with self.context.catalog.write() as tx:
            for facts in batch:
                asset = self._record(tx, facts, root_of(facts.path), vanished, tags.get(facts.path))
                if asset.is_ai:
                    self.counts.ai += 1
                    to_tag.append(asset)
        if self.context.tag_sidecars:
            for asset in to_tag:
                self._tag(asset)

    def _read_tag(self, path: str) -> TagRecord | None:
        try:
            return read_tag(Path(path), self.context.sidecar_pattern)
        except (ProvenanceError, OSError) as exc:
            log.warning("ignored the tag of %s: %s", path, exc)
            return None

    def _tag(self, asset: Asset) -> None:
        """Write the asset's tag: the sidecar, and embedded XMP where the format is opted in."""
        path = Path(asset.path)
        try:
            write_sidecar(path, tag_record(asset), self.context.sidecar_pattern)
            self.counts.tagged += 1
            if self.context.embed_formats:
                self._embed(asset, path)
        except (ProvenanceError, OSError) as exc:
            log.warning("cannot write tag for %s: %s", asset.path, exc)

    def _embed(self, asset: Asset, path: Path) -> None:
        allowed, kind = can_embed(path)
        if not allowed or kind not in self.context.embed_formats:
            if not allowed:
                log.debug("not embedding into %s: %s", path, kind)
            return
        embed_xmp(path, tag_record(asset))
        # The bytes changed: record the new identity so the file is not seen as modified
        # (and, once cleared, does not lose its clearance to our own tag).
        info = path.stat()
        new_hash = hash_file(path)
        with self.context.catalog.write() as tx:
            current = tx.asset_by_path(asset.path)
            if current is None:
                return
            before = {"content_hash": current.content_hash}
            current.content_hash, current.size = new_hash, info.st_size
            current.mtime_ns, current.inode = info.st_mtime_ns, info.st_ino
            tx.record(
                self.context.actor,
                "embedded",
                self.context.now,
                asset=current,
                reason="tag embedded as XMP",
                before=before,
                after={"content_hash": new_hash},
            )

    def _record(
        self,
        tx: Tx,
        facts: FileFacts,
        root: str,
        vanished: set[str] | None,
        tag: TagRecord | None,
    ) -> Asset:
        now, actor = self.context.now, self.context.actor
        asset = tx.asset_by_path(facts.path)
        if asset is not None:
            return self._update(tx, asset, facts, root)
        same_content = tx.assets_by_hash(facts.content_hash)
        moved_from = next(
            (a for a in same_content if not a.present or (vanished and a.path in vanished)), None
        )
        if moved_from is not None:
            old_path = moved_from.path
            was_missing = not moved_from.present
            _apply_stat(moved_from, facts, root, now)
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
            if was_missing:
                self.counts.restored += 1
            return moved_from
        source = next((a for a in same_content if a.present), None)
        asset = Asset(
            uid=tag.asset_uid
            if tag is not None and tx.asset_by_uid(tag.asset_uid) is None
            else str(uuid.uuid4()),
            path=facts.path,
            root=root,
            size=facts.size,
            mtime_ns=facts.mtime_ns,
            inode=facts.inode,
            device=facts.device,
            content_hash=facts.content_hash,
            first_seen=now,
            last_seen=now,
        )
        _apply_verdict(asset, facts.verdict)
        asset.status = initial_status(asset.ai_class)
        reason = f"{facts.verdict.ai_class} ({facts.verdict.generator or 'no generator named'})"
        action = "indexed"
        if source is not None:
            asset.source_asset_id = source.id
            if source.is_ai and not asset.is_ai:
                # same bytes as a known AI asset: the copy is AI whatever its name or folder
                asset.ai_class, asset.generator, asset.family = (
                    source.ai_class,
                    source.generator,
                    source.family,
                )
                asset.model, asset.prompt, asset.confidence = (
                    source.model,
                    source.prompt,
                    source.confidence,
                )
                asset.status = initial_status(asset.ai_class)
            action, reason = "copied", f"copy of {source.path}"
            self.counts.copied += 1
        elif tag is not None and asset.uid == tag.asset_uid:
            asset.first_seen = min(tag.first_seen, now)
            asset.status, asset.deadline = tag.status, tag.deadline
            action, reason = "rebuilt", "record restored from its tag"
        self._schedule(asset)
        tx.add(asset)
        tx.flush()
        assert asset.id is not None
        tx.replace_signals(asset.id, signal_rows(facts.verdict, now))
        tx.record(
            actor,
            action,
            now,
            asset=asset,
            reason=reason,
            after={
                "status": asset.status,
                "ai_class": asset.ai_class,
                "content_hash": asset.content_hash,
            },
        )
        self.counts.indexed += 1
        if asset.is_ai:
            log.info("%s %s: %s", action, facts.path, reason)
        return asset

    def _schedule(self, asset: Asset) -> None:
        """Give a new temporary AI asset the deadline and policy of the first matching rule."""
        if asset.status != "temporary" or asset.deadline is not None or not self.context.rules:
            return
        relative = Path(asset.path).relative_to(asset.root).as_posix()
        facts = AssetFacts(path=relative, ai_class=asset.ai_class, status=asset.status,
                           first_seen=asset.first_seen, created_at=asset.created_at,
                           generator=asset.generator, family=asset.family)
        milestones = self.context.milestones.get(asset.root, {})
        asset.deadline, asset.policy = schedule(facts, self.context.rules, milestones)

    def _update(self, tx: Tx, asset: Asset, facts: FileFacts, root: str) -> Asset:
        now, actor = self.context.now, self.context.actor
        was_present = asset.present
        old_hash, old_class = asset.content_hash, asset.ai_class
        _apply_stat(asset, facts, root, now)
        if old_hash == facts.content_hash and old_class == facts.verdict.ai_class:
            if not was_present:
                tx.record(actor, "reappeared", now, asset=asset, reason="file is back at its path")
                self.counts.restored += 1
            else:
                self.counts.unchanged += 1
            return asset
        _apply_verdict(asset, facts.verdict)
        asset.content_hash = facts.content_hash
        if old_class == "none" and asset.is_ai:
            asset.status = initial_status(asset.ai_class)
            self._schedule(asset)
        elif asset.ai_class == "none" and asset.status in ("temporary", "expiring"):
            asset.status = "not-ai"
        assert asset.id is not None
        tx.replace_signals(asset.id, signal_rows(facts.verdict, now))
        tx.record(
            actor,
            "modified",
            now,
            asset=asset,
            reason="content changed",
            before={"content_hash": old_hash, "ai_class": old_class},
            after={"content_hash": facts.content_hash, "ai_class": asset.ai_class},
        )
        self.counts.modified += 1
        log.info("modified %s", facts.path)
        return asset

    def mark_missing(self, paths: Iterable[str]) -> None:
        """Record that the assets at ``paths`` are gone (their rows and history stay)."""
        now, actor = self.context.now, self.context.actor
        pending = sorted(paths)
        if self.context.dry_run or not pending:
            self.counts.missing += len(pending)
            return
        for start in range(0, len(pending), self.context.batch_size):
            with self.context.catalog.write() as tx:
                for path in pending[start : start + self.context.batch_size]:
                    asset = tx.asset_by_path(path)
                    if asset is None or not asset.present:
                        continue
                    asset.present, asset.missing_since = False, now
                    tx.record(
                        actor, "missing", now, asset=asset, reason="file no longer at its path"
                    )
                    self.counts.missing += 1
                    log.info("missing %s", path)
