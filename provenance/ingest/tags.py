"""Keep each AI asset's portable tag in step with its catalog record (sidecar, opt-in embedding)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from provenance.audit import Actor
from provenance.catalog import Asset, Catalog
from provenance.catalog.clearance import approval_refs, rebind_clearance
from provenance.errors import ProvenanceError
from provenance.files.confined import open_root
from provenance.lifecycle.states import PROTECTED
from provenance.tagging import TagRecord, digital_source_type_for, read_tag
from provenance.tagging.follow import FollowJob, Outcome, Owner, follow_all, remove_sidecar
from provenance.tagging.record import AI_CLASSES
from provenance.tagging.sidecar import SidecarJob, write_sidecar, write_sidecars

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TagOptions:
    """How tags are written: from ``[tagging]`` in the settings."""

    sidecar: bool = True
    sidecar_pattern: str = "{name}.xmp"
    embed_formats: tuple[str, ...] = ()


class Taggable(Protocol):
    """What a tag is written from: an Asset, or a just-inserted row (``rows.NewRow``)."""

    @property
    def id(self) -> int | None: ...
    @property
    def uid(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def root(self) -> str: ...
    @property
    def ai_class(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def content_hash(self) -> str | None: ...
    @property
    def first_seen(self) -> datetime: ...
    @property
    def deadline(self) -> datetime | None: ...
    @property
    def generator(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def is_ai(self) -> bool: ...


def tag_record(asset: Taggable, approval_ref: str | None = None) -> TagRecord:
    """Return the portable copy of an AI asset's record, as written beside the file."""
    return TagRecord(
        asset_uid=asset.uid,
        ai_class=asset.ai_class if asset.ai_class in ("ai", "partial") else "ai",
        status=asset.status,
        content_hash=asset.content_hash or "",
        first_seen=asset.first_seen,
        deadline=asset.deadline,
        generator=asset.generator,
        model=asset.model,
        digital_source_type=digital_source_type_for(
            asset.ai_class if asset.ai_class in ("ai", "partial") else "ai"
        ),
        approval_ref=approval_ref,
    )


def read_existing_tag(path: str, options: TagOptions) -> TagRecord | None:
    """Return the tag beside (or in) ``path``; a tag that cannot be read is logged and ignored."""
    try:
        return read_tag(Path(path), options.sidecar_pattern)
    except (ProvenanceError, OSError) as exc:
        log.warning("ignored the tag of %s: %s", path, exc)
        return None


def sidecar_jobs(
    assets: Iterable[Taggable], catalog: Catalog
) -> tuple[list[Taggable], list[SidecarJob]]:
    """Return the AI assets among ``assets`` and a (root, path, record) sidecar job for each."""
    # an unreadable mark (``suspect``) is no AI claim to write beside the file
    due = [asset for asset in assets if asset.ai_class in AI_CLASSES]
    # a cleared asset's tag carries its approval reference
    protected = [a.id for a in due if a.status in PROTECTED and a.id is not None]
    refs: dict[int, str] = {}
    if protected:
        with catalog.read() as tx:
            refs = approval_refs(tx, protected)
    return due, [(a.root, a.path, tag_record(a, refs.get(a.id or 0))) for a in due]


def write_tags(
    assets: Iterable[Taggable], options: TagOptions, catalog: Catalog, actor: Actor, now: datetime
) -> int:
    """Write the tag of every AI asset given; return how many were written.

    Sidecars are written by a few threads (each write waits on fsync); embedding, which
    changes the file and so its catalog row, runs after them in the calling thread. A tag
    that cannot be written is logged and skipped: the catalog stays the source of truth.
    """
    if not options.sidecar:
        return 0
    due, jobs = sidecar_jobs(assets, catalog)
    if not due:
        return 0
    refs = {a.id: job[2].approval_ref for a, job in zip(due, jobs, strict=True)}
    pattern = options.sidecar_pattern
    if len(jobs) < 8:
        results = [write_sidecars([job], pattern) for job in jobs]
    else:
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="provenance-tag") as pool:
            results = list(pool.map(lambda job: write_sidecars([job], pattern), jobs))
    if options.embed_formats:
        for asset, written in zip(due, results, strict=True):
            if written:
                try:
                    _embed(
                        asset,
                        Path(asset.path),
                        options,
                        catalog,
                        actor,
                        now,
                        refs.get(asset.id),
                    )
                except (ProvenanceError, OSError) as exc:
                    log.warning("cannot embed tag into %s: %s", asset.path, exc)
    return sum(results)


@dataclass(frozen=True)
class Moved:
    """A file whose record followed it from ``old_path`` (under ``old_root``) to ``path``."""

    old_root: str
    old_path: str
    root: str
    path: str
    asset: Taggable


def _owner(asset: Taggable) -> Owner | None:
    return Owner(asset.uid, asset.content_hash) if asset.ai_class in AI_CLASSES else None


def follow_jobs(moved: Iterable[Moved], options: TagOptions) -> list[FollowJob]:
    """Return a job for each moved AI asset whose sidecar of ours may be at its old name."""
    if not options.sidecar:
        return []
    return [
        FollowJob(m.old_root, m.old_path, m.root, m.path, m.asset.uid, m.asset.content_hash)
        for m in moved
        if m.asset.ai_class in AI_CLASSES and m.old_path != m.path
    ]


def follow_moves(
    moved: Iterable[Moved], options: TagOptions, *, dry_run: bool = False
) -> dict[str, Outcome]:
    """Bring the sidecar of each moved AI asset to its new name, here; return the outcome
    by asset uid (``tagging.follow.follow_all``). KEPT means it stays behind: another file
    holds the new name, and no tag may be written there."""
    jobs = follow_jobs(moved, options)
    return follow_all(jobs, options.sidecar_pattern, dry_run=dry_run) if jobs else {}


def remove_gone(
    assets: Iterable[Taggable], options: TagOptions, *, dry_run: bool = False
) -> list[Outcome]:
    """Remove the sidecar of each deleted AI asset if it is ours, unchanged; return outcomes."""
    if not options.sidecar:
        return []
    done = []
    for asset in assets:
        owner = _owner(asset)
        if owner is not None:
            done.append(
                remove_sidecar(
                    asset.root, asset.path, owner, options.sidecar_pattern, dry_run=dry_run
                )
            )
    return done


def _embed(
    asset: Taggable,
    path: Path,
    options: TagOptions,
    catalog: Catalog,
    actor: Actor,
    now: datetime,
    approval_ref: str | None = None,
) -> None:
    from provenance.tagging.embed import can_embed, embed_xmp  # opt-in: loaded when used

    allowed, kind = can_embed(path)
    if not allowed or kind not in options.embed_formats:
        if not allowed:
            log.debug("not embedding into %s: %s", path, kind)
        return
    embed_xmp(path, tag_record(asset, approval_ref), root=asset.root)
    # The bytes changed: record the new identity so the file is not seen as modified
    # (and, once cleared, does not lose its clearance to our own tag).
    with open_root(asset.root) as top, top.open_file(path) as file, file.folder:
        identity, new_hash = file.identity, file.content_hash()
    with catalog.write() as tx:
        current = tx.asset_by_path(asset.path)
        if current is None:
            return
        before = {"content_hash": current.content_hash}
        if current.id is not None:
            rebind_clearance(tx, current.id, current.content_hash, new_hash)
        current.content_hash, current.size = new_hash, identity.size
        current.mtime_ns, current.inode = identity.mtime_ns, identity.inode
        tx.record(
            actor,
            "embedded",
            now,
            asset=current,
            reason="tag embedded as XMP",
            before=before,
            after={"content_hash": new_hash},
        )
    if options.sidecar:  # the sidecar, written before, names the bytes the file has now
        try:
            write_sidecar(
                path, tag_record(current, approval_ref), options.sidecar_pattern, root=asset.root
            )
        except (ProvenanceError, OSError) as exc:
            log.warning("cannot write tag for %s: %s", path, exc)


def embed_label(
    asset: Asset, options: TagOptions, catalog: Catalog, actor: Actor, now: datetime
) -> str:
    """Embed the tag (IPTC DigitalSourceType and the approval) into a cleared file if its
    format allows it; return what was done, in words. Never into a C2PA-signed file."""
    from provenance.tagging.embed import can_embed

    allowed, kind = can_embed(Path(asset.path))
    if not allowed:
        return f"not embedded ({kind}); the sidecar carries the IPTC DigitalSourceType"
    with catalog.read() as tx:
        refs = approval_refs(tx, [asset.id]) if asset.id is not None else {}
    forced = TagOptions(options.sidecar, options.sidecar_pattern, (*options.embed_formats, kind))
    _embed(asset, Path(asset.path), forced, catalog, actor, now, refs.get(asset.id or 0))
    return f"IPTC DigitalSourceType embedded ({kind})"
