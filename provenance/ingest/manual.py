"""`provenance tag`: declare a file AI output of a named tool when the tool left no mark, and
declare the facts clearance rules read (intended use, talent, personal data, references)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from provenance.access.roles import Grants, require
from provenance.audit import Actor
from provenance.catalog import Asset, Catalog, SignalRow
from provenance.clearance.assess import Facts
from provenance.clearance.policy import ClearancePolicy, clearance_policy
from provenance.clearance.rules import RISKS
from provenance.config import Settings
from provenance.errors import ProvenanceError
from provenance.files.reader import FileReader, read_options
from provenance.ingest.ingest import Ingest
from provenance.ingest.rows import set_clearance_columns
from provenance.ingest.scan import ingest_context, tag_options
from provenance.ingest.tags import TagOptions, write_tags
from provenance.lifecycle.states import Status, initial, move, status_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManualTag:
    """What a person declares about a file."""

    tool: str | None = None
    model: str | None = None
    prompt: str | None = None
    #: Facts for the clearance rules; added to what was declared before, never removed.
    facts: Facts = field(default_factory=Facts)


def lowers(policy: ClearancePolicy, asset: Asset, facts: Facts) -> bool:
    """Whether declaring ``facts`` would lower what clearing ``asset`` needs: a rule that
    fires now would no longer fire, or the risk would drop (another intended use than final
    does). Pure."""
    merged = Facts.from_mapping(asset.facts).merged(facts).as_mapping()
    before, _tool = policy.assess(asset.generator, asset.family, asset.facts)
    after, _tool = policy.assess(asset.generator, asset.family, merged)
    return not set(before.rule_ids) <= set(after.rule_ids) or RISKS.index(after.risk) < RISKS.index(
        before.risk
    )


def _root_of(settings: Settings, path: Path) -> str:
    root = settings.root_for(path)
    return str(root.path) if root is not None else str(path.parent)


def _hash_unhashed(settings: Settings, catalog: Catalog, paths: list[str]) -> dict[str, str]:
    """Return path -> content hash of those of ``paths`` whose record has none (a file that
    was not AI), hashed in a reader's worker as the record says the file is. Raises
    ProvenanceError for a file changed since it was recorded (scan it, then tag it)."""
    with catalog.read() as tx:
        assets = [a for a in tx.assets_by_paths(paths).values() if a.content_hash is None]
    if not assets:
        return {}
    with FileReader(read_options(settings), workers=1) as reader:
        hashes = reader.hash_many([(a.path, a.size, a.mtime_ns, a.inode) for a in assets])
    found: dict[str, str] = {}
    for asset, content_hash in zip(assets, hashes, strict=True):
        if content_hash is None:
            raise ProvenanceError(
                f"{asset.path}: changed since it was last scanned; scan it, then tag it"
            )
        found[asset.path] = content_hash
    return found


def _files_named(catalog: Catalog, paths: list[str], *, facts_only: bool) -> list[str]:
    """Return the files ``paths`` name: a file itself; a folder, when only facts are
    declared, the AI files at or under it the catalog knows and are there (a group's facts,
    declared at once). Raises ProvenanceError for anything else."""
    files: list[str] = []
    for path in paths:
        if Path(path).is_file():
            files.append(path)
        elif facts_only and Path(path).is_dir():
            with catalog.read() as tx:
                under = [a.path for a in tx.assets_under(path) if a.is_ai and a.present]
            if not under:
                raise ProvenanceError(f"{path}: no AI assets under this folder")
            files.extend(under)
        elif Path(path).is_dir():
            raise ProvenanceError(f"{path}: a folder: a tool is declared for files, one by one")
        else:
            raise ProvenanceError(f"{path}: not a file")
    return list(dict.fromkeys(files))


def tag_files(
    settings: Settings,
    catalog: Catalog,
    actor: Actor,
    now: datetime,
    paths: list[str],
    tag: ManualTag,
    *,
    dry_run: bool = False,
    grants: Grants | None = None,
) -> list[Asset]:
    """Mark each file as AI output of ``tag.tool``; catalog files it does not know yet.

    Facts alone may be declared for a folder: for each AI file under it the catalog knows.
    Returns the assets as tagged. Raises ProvenanceError for a path that is not a file (or,
    declaring facts, a folder), and
    PermissionDeniedError (nothing changed) when facts would lower what a clearance of a
    file needs and ``grants`` lack the approver role.
    """
    if tag.tool is None and not tag.facts.as_mapping():
        raise ProvenanceError("nothing to declare: give --tool or a fact (--use, --talent, ...)")
    paths = _files_named(catalog, paths, facts_only=tag.tool is None)
    policy = clearance_policy(settings)
    context = ingest_context(
        settings, catalog, actor, now, dry_run=dry_run, tags=TagOptions(sidecar=False)
    )
    ingest = Ingest(context)
    with catalog.read() as tx:
        unknown = [p for p in paths if tx.asset_by_path(p) is None]
    if unknown and not dry_run:
        with FileReader(read_options(settings), workers=1) as reader:
            ingest.ingest(
                reader, unknown, lambda p: _root_of(settings, Path(p)), count=len(unknown)
            )
    if ingest.counts.skipped:
        problem = ingest.counts.problems[0]
        raise ProvenanceError(f"{problem['path']}: {problem['reason']}")
    if dry_run:
        return []
    hashes = _hash_unhashed(settings, catalog, paths) if tag.tool is not None else {}
    tagged: list[Asset] = []
    with catalog.write() as tx:
        for path in paths:
            asset = tx.asset_by_path(path)
            assert asset is not None and asset.id is not None
            if asset.content_hash is None and path in hashes:
                # a file a user tags needs an identity: its clearance binds to its bytes
                asset.content_hash = hashes[path]
            if tag.tool is None and not asset.is_ai:
                raise ProvenanceError(
                    f"{path}: not an AI asset; name the tool that made it with --tool"
                )
            before = {
                "ai_class": asset.ai_class,
                "generator": asset.generator,
                "facts": asset.facts or {},
            }
            if lowers(policy, asset, tag.facts):
                require(
                    grants,
                    "tag-lowering",
                    f"declare these facts for {path}: they lower what its clearance needs",
                )
            declared = Facts.from_mapping(asset.facts).merged(tag.facts).as_mapping()
            asset.facts = declared or None
            if tag.tool is None:
                set_clearance_columns(asset, policy)
                tx.record(
                    actor,
                    "facts-declared",
                    now,
                    asset=asset,
                    reason="facts declared for clearance",
                    before={"facts": before["facts"]},
                    after={"facts": declared, "risk": asset.risk},
                )
                tagged.append(asset)
                continue
            tx.add(
                SignalRow(
                    asset_id=asset.id,
                    kind="manual",
                    ai_class="ai",
                    generator=tag.tool,
                    model=tag.model,
                    prompt=policy.prompt(tag.prompt)[0],
                    source=f"declared by {actor.user}",
                    found_at=now,
                )
            )
            became_ai = asset.ai_class == "none"
            to = status_of(asset.status)
            if became_ai:
                asset.ai_class = "ai"
                if to is Status.NOT_AI:
                    to = initial("ai")
            asset.generator = tag.tool
            asset.model = tag.model or asset.model
            if tag.prompt:
                asset.prompt, asset.prompt_sha256 = policy.prompt(tag.prompt)
            if became_ai:  # now in the lifecycle: its policy gives it a deadline
                values = {**asset.model_dump(), "status": to}
                asset.deadline, asset.policy = ingest.schedule(values)
            asset.confidence = max(asset.confidence, 1.0)
            set_clearance_columns(asset, policy)
            move(
                tx,
                asset,
                to,
                actor,
                now,
                action="tagged",
                reason=f"declared AI output of {tag.tool}",
                before=before,
                after={
                    "ai_class": asset.ai_class,
                    "generator": tag.tool,
                    "facts": declared,
                    "risk": asset.risk,
                },
            )
            tagged.append(asset)
    write_tags(tagged, tag_options(settings), catalog, actor, now)
    for asset in tagged:
        log.info("tagged %s (%s)", asset.path, tag.tool or "facts declared")
    return tagged
