"""Keep our sidecar with its file: it follows a rename or move, and goes when the file does.

Only a sidecar that is ours alone is acted on: its packet holds our record and nothing else
(no other tool wrote to it), and that record was written for the asset in question (its
asset id and content hash). Anything else at a sidecar's name (another tool's sidecar, one
merged with ours, a link, a folder) is left where it is. A sidecar never replaces a file
already at its new name. Every act goes through ``provenance.files.confined``: the folders
are reached from the root's descriptor, no link is followed, and the sidecar is checked
with ``fstat`` just before it is moved or deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from provenance.errors import ConfinementError, ProvenanceError
from provenance.files.confined import Folder, OpenFile, move, open_root, unlink
from provenance.tagging._xmp import PacketError, sole_record
from provenance.tagging.sidecar import DEFAULT_PATTERN, SidecarJob, sidecar_path, write_sidecars

log = logging.getLogger(__name__)

#: A sidecar holding only our record is a few kilobytes; a bigger one is not ours alone.
MAX_OWN_BYTES = 256 * 1024


class FollowJob(NamedTuple):
    """A sidecar to bring along: the file moved from ``old_path`` (under ``old_root``) to
    ``path`` (under ``root``), recorded as asset ``uid`` with ``content_hash``. Plain values,
    so that a job can go to a worker process."""

    old_root: str
    old_path: str
    root: str
    path: str
    uid: str
    content_hash: str | None


class Outcome(StrEnum):
    """What was done (or, in a dry run, would be done) with an asset's sidecar."""

    #: No sidecar of ours for this asset at the old name (none, or another tool's): nothing.
    NONE = "none"
    MOVED = "moved"
    REMOVED = "removed"
    #: Ours, but left where it is: another file holds its new name, or the act was refused.
    KEPT = "kept"


@dataclass(frozen=True)
class Owner:
    """The asset a sidecar of ours must have been written for: its content hash, and its
    asset id when known (None: any asset of that content)."""

    uid: str | None
    content_hash: str | None


def is_ours(file: OpenFile, owner: Owner) -> bool:
    """Return whether the open sidecar holds our record for ``owner`` and nothing else."""
    if not owner.content_hash:
        return False
    try:
        record = sole_record(file.read(MAX_OWN_BYTES))
    except (ConfinementError, PacketError, OSError) as exc:
        log.debug("%s: not a sidecar of ours alone: %s", file.path, exc)
        return False
    return (
        record is not None
        and owner.uid in (None, record.asset_uid)
        and record.content_hash == owner.content_hash
    )


def _open_own(root: str, sidecar: Path, owner: Owner) -> OpenFile | None:
    """Open ``sidecar`` (its folder open with it) if it is ours for ``owner``; else None."""
    try:
        with open_root(root) as top:
            file = top.open_file(sidecar)
    except ConfinementError as exc:  # none, or a link, a folder, a folder gone
        log.debug("%s: no sidecar to act on: %s", sidecar, exc)
        return None
    if is_ours(file, owner):
        return file
    log.debug("%s: not ours alone for asset %s; left as it is", sidecar, owner.uid)
    file.close()
    file.folder.close()
    return None


def follow_sidecar(
    root: str,
    old_path: str,
    new_path: str,
    owner: Owner,
    pattern: str = DEFAULT_PATTERN,
    *,
    dry_run: bool = False,
) -> Outcome:
    """Move the sidecar of ``old_path`` to beside ``new_path`` (both under ``root``).

    When a sidecar of ours for the same asset is already at the new name (written since),
    the old one is a leftover and is removed. Any other file at the new name is never
    replaced: the sidecar stays where it is, with a warning, and KEPT is returned.
    """
    old, new = sidecar_path(Path(old_path), pattern), sidecar_path(Path(new_path), pattern)
    if old == new:
        return Outcome.NONE
    file = _open_own(root, old, owner)
    if file is None:
        return Outcome.NONE
    with file, file.folder:
        try:
            with open_root(root) as top:
                target, name = top.locate(new)
        except ConfinementError as exc:
            log.warning("sidecar %s stays: %s", old, exc)
            return Outcome.KEPT
        with target:
            return _move_or_drop(file, target, name, owner, dry_run)


def _move_or_drop(file: OpenFile, target: Folder, name: str, owner: Owner, dry: bool) -> Outcome:
    new = target.path / name
    if target.lstat(name) is not None:
        try:
            with target.open_file(name) as there:
                already = is_ours(there, owner)
        except ConfinementError:
            already = False
        if not already:
            log.warning("sidecar %s stays: %s is another file's, never replaced", file.path, new)
            return Outcome.KEPT
        if dry:
            log.info("dry run: would remove sidecar %s (its tag is at %s)", file.path, new)
            return Outcome.REMOVED
        return _unlink(file, f"its tag is at {new}")
    if dry:
        log.info("dry run: would move sidecar %s -> %s", file.path, new)
        return Outcome.MOVED
    old = file.path
    try:
        move(file, target, name)
    except FileExistsError:
        log.warning("sidecar %s stays: %s appeared meanwhile, never replaced", old, new)
        return Outcome.KEPT
    except (ConfinementError, OSError) as exc:
        log.warning("sidecar %s stays: %s", old, exc)
        return Outcome.KEPT
    log.info("sidecar %s -> %s", old, new)
    return Outcome.MOVED


def follow_all(
    jobs: list[FollowJob], pattern: str = DEFAULT_PATTERN, *, dry_run: bool = False
) -> dict[str, Outcome]:
    """Bring each job's sidecar along; return the outcome by asset uid.

    Within a root the sidecar is moved (``follow_sidecar``); from another root, where the
    tag is written anew, the old one is removed (``remove_sidecar``).
    """
    done: dict[str, Outcome] = {}
    for job in jobs:
        owner = Owner(job.uid, job.content_hash)
        if job.old_root == job.root:
            outcome = follow_sidecar(
                job.root, job.old_path, job.path, owner, pattern, dry_run=dry_run
            )
        else:
            outcome = remove_sidecar(job.old_root, job.old_path, owner, pattern, dry_run=dry_run)
        done[job.uid] = outcome
    return done


def follow_then_tag(
    follows: list[FollowJob], tags: list[SidecarJob], pattern: str = DEFAULT_PATTERN
) -> tuple[int, dict[str, Outcome]]:
    """Bring the sidecars of moved files along, then write the tags (a scan runs this in a
    reader's worker); a tag is not written where a sidecar could not follow (KEPT: another
    file holds its name). Returns the tags written and the outcome by asset uid."""
    outcomes = follow_all(follows, pattern)
    kept = {uid for uid, outcome in outcomes.items() if outcome is Outcome.KEPT}
    written = write_sidecars([job for job in tags if job[2].asset_uid not in kept], pattern)
    return written, outcomes


def remove_sidecar(
    root: str,
    path: str,
    owner: Owner,
    pattern: str = DEFAULT_PATTERN,
    *,
    dry_run: bool = False,
) -> Outcome:
    """Delete the sidecar of the deleted file ``path`` if it is ours for ``owner``, unchanged.

    Returns REMOVED, NONE (no sidecar of ours: another tool's, one changed since, none) or
    KEPT (ours, but the delete was refused: it changed or was replaced just before).
    """
    try:
        sidecar = sidecar_path(Path(path), pattern)
    except ProvenanceError as exc:
        log.debug("%s: no sidecar name: %s", path, exc)
        return Outcome.NONE
    file = _open_own(root, sidecar, owner)
    if file is None:
        return Outcome.NONE
    with file, file.folder:
        if dry_run:
            log.info("dry run: would remove sidecar %s (%s is gone)", sidecar, Path(path).name)
            return Outcome.REMOVED
        return _unlink(file, f"{Path(path).name} is gone")


def _unlink(file: OpenFile, why: str) -> Outcome:
    path = file.path
    try:
        unlink(file)
    except (ConfinementError, OSError) as exc:
        log.warning("sidecar %s stays: %s", path, exc)
        return Outcome.KEPT
    log.info("removed sidecar %s (%s)", path, why)
    return Outcome.REMOVED
