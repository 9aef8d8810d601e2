"""What the catalog knows: ``list_assets``, ``list_unreadable``, ``show``, ``log``,
``uncleared``, and an asset's picture (``thumbnail``).

A listing is streamed: the function checks the caller's role at once and returns an iterator
that reads the catalog as it is consumed (a catalog of a million assets is never one list).
"""

from __future__ import annotations

import itertools
import os
import posixpath
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from provenance.catalog import Asset, Catalog, Tx, utcnow
from provenance.catalog.clearance import active_clearance, uncleared_assets
from provenance.catalog.lifecycle import active_holds, holds_covering, recent_events
from provenance.catalog.queue import Span, Total, queue_page, queue_spans, queue_total
from provenance.catalog.unreadable import list_unreadable as unreadable_rows
from provenance.clearance.assess import Needed
from provenance.clearance.explain import clearance_record, label_record
from provenance.clearance.policy import ClearancePolicy, clearance_policy
from provenance.config import RootSettings
from provenance.errors import NotInCatalogError, ProvenanceError
from provenance.files.thumbnails import MEDIA_TYPE, Wanted
from provenance.report.build import folder_needed, root_infos
from provenance.report.groups import Group, group_items, productions
from provenance.report.items import Item, Roots, asset_item
from provenance.report.records import asset_record, event_record
from provenance.report.render_text import iso
from provenance.service.context import App, Caller, resolve_path
from provenance.service.remote import served
from provenance.tagging.sidecar import sidecar_path

T = TypeVar("T")

#: Uncleared assets whose signals are asked for in one query.
UNCLEARED_PAGE = 500


def find_asset(tx: Tx, target: str) -> Asset:
    """Return the asset named by a path or a uid; NotInCatalogError when the catalog does not
    know it."""
    asset = tx.asset_by_path(resolve_path(target))
    if asset is None and len(target) == 36 and target.count("-") == 4:
        asset = tx.asset_by_uid(target)
    if asset is None:
        raise NotInCatalogError(
            f"{target}: not in the catalog (run `provenance scan` on its folder)"
        )
    return asset


def asset_id_of(app: App, target: str) -> int:
    """Return the catalog id of the asset named by a path or a uid."""
    with app.catalog.read() as tx:
        asset = find_asset(tx, target)
    assert asset.id is not None
    return asset.id


@served("list", paths=("under",))
def list_assets(
    app: App,
    caller: Caller,
    *,
    ai_only: bool = False,
    statuses: Sequence[str] = (),
    under: str | None = None,
    include_missing: bool = True,
    limit: int | None = None,
) -> Iterator[Asset]:
    """The assets in the catalog by path (``under``: at or below this folder), streamed."""
    caller.require("list")
    folder = resolve_path(under) if under is not None else None
    return _streamed(
        app.catalog,
        lambda tx: tx.list_assets(
            ai_only=ai_only,
            statuses=statuses,
            under=folder,
            include_missing=include_missing,
            limit=limit,
        ),
    )


@dataclass(frozen=True)
class UnreadableFile:
    """A file that could not be read, as ``list --unreadable --json`` prints it."""

    path: str
    root: str
    reason: str
    attempts: int
    first_failed: str | None
    last_failed: str | None
    size: int | None
    #: Tried again by the next scan; False: only once the file changes.
    retried: bool


@served("list-unreadable", paths=("under",))
def list_unreadable(
    app: App, caller: Caller, *, under: str | None = None, limit: int | None = None
) -> Iterator[UnreadableFile]:
    """The files that could not be read (``under``: at or below this folder), streamed."""
    caller.require("list")
    retries = app.settings.scan.retry_unreadable
    folder = resolve_path(under) if under is not None else None
    return _streamed(
        app.catalog,
        lambda tx: (
            UnreadableFile(
                path=row.path,
                root=row.root,
                reason=row.reason,
                attempts=row.attempts,
                first_failed=iso(row.first_failed),
                last_failed=iso(row.last_failed),
                size=row.size,
                retried=row.attempts <= retries,
            )
            for row in unreadable_rows(tx, under=folder, limit=limit)
        ),
    )


@served("show", paths=("target",))
def show(app: App, caller: Caller, target: str) -> dict[str, Any]:
    """Return the provenance record of one asset (a path or an asset id): its signals, its
    history and, for an AI asset, its clearance (as ``schema/`` defines the record)."""
    caller.require("show")
    with app.catalog.read() as tx:
        asset = find_asset(tx, target)
        assert asset.id is not None
        source = tx.asset_by_id(asset.source_asset_id) if asset.source_asset_id else None
        signals = tx.signals_of(asset.id)
        events = tx.events_of(asset.id)
        record = asset_record(asset, signals, events, source)
        if asset.is_ai:
            policy = clearance_policy(app.settings)
            current = active_clearance(tx, asset.id)
            sidecar = _has_sidecar(asset, app.settings.tagging.sidecar_pattern)
            label = label_record(signals, events, asset.content_hash, sidecar)
            record["clearance"] = clearance_record(asset, signals, current, policy, label)
    return record


#: The media type of what ``thumbnail`` returns.
THUMBNAIL_TYPE = MEDIA_TYPE


def thumbnail(app: App, caller: Caller, asset_id: int) -> bytes | None:
    """Return a small picture (WebP, ``THUMBNAIL_TYPE``) of an AI asset's content, or None:
    not AI, gone from its path, no content hash, a format with no picture, refused by the
    budgets, or ``[thumbnails] enabled = false``. Viewers may see it, as they may ``show``.

    Kept by content hash in the state folder; made on first ask in a reader worker within the
    file's time and memory budget, never in this process (``files.thumbnails``). Not served
    over the socket: the web service calls it in the daemon. NotInCatalogError for an id the
    catalog does not know."""
    caller.require("show")
    if not app.settings.thumbnails.enabled:
        return None
    with app.catalog.read() as tx:
        asset = tx.asset_by_id(asset_id)
        if asset is None:
            raise NotInCatalogError(f"asset {asset_id}: not in the catalog")
        ai, present = asset.is_ai, asset.present
        root, path, content_hash = asset.root, asset.path, asset.content_hash
    if not ai or not present or not content_hash or not root:
        return None
    return app.thumbnailer.picture(Wanted(root, path, content_hash))


def _has_sidecar(asset: Asset, pattern: str) -> bool | None:
    """Whether the asset's sidecar is there (a look at its name, no read; None: the file
    is missing or the pattern is bad)."""
    if not asset.present:
        return None
    try:
        return os.path.lexists(sidecar_path(Path(asset.path), pattern))
    except (ProvenanceError, OSError):
        return None


@served("log", paths=("target",))
def log(
    app: App, caller: Caller, target: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Return the events of one asset (a path or an asset id), or the ``limit`` most recent."""
    caller.require("log")
    with app.catalog.read() as tx:
        if target is not None:
            asset = find_asset(tx, target)
            assert asset.id is not None
            events = tx.events_of(asset.id)
        else:
            events = recent_events(tx, limit)
        return [event_record(e) for e in events]


@dataclass(frozen=True)
class Uncleared:
    """An AI asset not cleared: its risk, the rules that set it, and what a clearance needs."""

    path: str
    status: str
    generator: str | None
    risk: str
    #: The ids of the rules that apply.
    rules: list[str]
    tool: Any
    facts: Any
    #: Each piece of evidence a clearance still needs ("kind", "rules", "text").
    missing: list[dict[str, Any]]
    labelled: Any


@served("uncleared", paths=("under",))
def uncleared(app: App, caller: Caller, under: str | None = None) -> Iterator[Uncleared]:
    """The AI assets not cleared (``under``: at or below this folder), by path, streamed."""
    caller.require("uncleared")
    policy = clearance_policy(app.settings)
    folder = resolve_path(under) if under is not None else None
    return _streamed(app.catalog, lambda tx: _uncleared(tx, folder, policy))


@dataclass
class UnclearedTally:
    """What the uncleared assets of one folder (or root) come to: how many, and how many of
    each risk, status and piece of evidence needed (most first where counts differ)."""

    files: int = 0
    risks: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    needs: dict[str, int] = field(default_factory=dict)

    def add(self, row: Uncleared) -> None:
        self.files += 1
        _count_one(self.risks, row.risk)
        _count_one(self.statuses, row.status)
        for kind in dict.fromkeys(gap["kind"] for gap in row.missing):
            _count_one(self.needs, kind)

    def most_first(self) -> None:
        for counts in (self.risks, self.statuses, self.needs):
            ordered = sorted(counts.items(), key=lambda item: -item[1])
            counts.clear()
            counts.update(ordered)


def _count_one(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


@dataclass(frozen=True)
class UnclearedFolder:
    path: str
    tally: UnclearedTally


@dataclass(frozen=True)
class UnclearedRoot:
    """A root's uncleared assets, in all and by folder; ``path`` "" (and ``name`` "") for
    those outside the configured roots."""

    path: str
    name: str
    owner: str
    tally: UnclearedTally
    folders: list[UnclearedFolder]


def uncleared_folders(app: App, caller: Caller, under: str | None = None) -> list[UnclearedRoot]:
    """The AI assets not cleared (``under``: at or below this folder), counted by root and
    folder (``group_uncleared``): never one row per file in memory."""
    return group_uncleared(uncleared(app, caller, under), app.settings.root_for)


def group_uncleared(
    rows: Iterable[Uncleared], root_for: Callable[[Path], RootSettings | None]
) -> list[UnclearedRoot]:
    """Return ``rows`` counted by root (``root_for``: the configured root of a path) and by
    folder, roots and folders by path; [] when there are none."""
    folders: dict[tuple[str, str], UnclearedTally] = {}
    roots: dict[str, tuple[RootSettings | None, UnclearedTally]] = {}
    for row in rows:
        folder = posixpath.dirname(row.path) or "/"
        root = root_for(Path(row.path))
        root_path = str(root.path) if root is not None else ""
        roots.setdefault(root_path, (root, UnclearedTally()))[1].add(row)
        folders.setdefault((root_path, folder), UnclearedTally()).add(row)
    grouped = []
    for root_path in sorted(roots):
        root, whole = roots[root_path]
        mine = []
        for folder in sorted(f for (top, f) in folders if top == root_path):
            tally = folders[(root_path, folder)]
            tally.most_first()
            mine.append(UnclearedFolder(folder, tally))
        whole.most_first()
        name = root.label if root is not None else ""
        owner = root.owner if root is not None else ""
        grouped.append(UnclearedRoot(root_path, name, owner, whole, mine))
    return grouped


def _uncleared(tx: Tx, under: str | None, policy: ClearancePolicy) -> Iterator[Uncleared]:
    """Each uncleared AI asset, 500 at a time: their signals in one query, and never all of
    them in memory (a big catalog holds hundreds of thousands)."""
    assets = uncleared_assets(tx, under)
    while page := list(itertools.islice(assets, UNCLEARED_PAGE)):
        signals = tx.signals_of_many([asset.id or 0 for asset in page])
        for asset in page:
            record = clearance_record(asset, signals[asset.id or 0], None, policy)
            yield Uncleared(
                path=asset.path,
                status=asset.status,
                generator=asset.generator,
                risk=record["risk"],
                rules=[rule["id"] for rule in record["rules"]],
                tool=record["tool"],
                facts=record["facts"],
                missing=record["missing"],
                labelled=record["labelled"],
            )


def _streamed(catalog: Catalog, rows: Callable[[Tx], Iterable[T]]) -> Iterator[T]:
    """Yield what ``rows(tx)`` yields inside one read transaction, closed when the iterator
    is exhausted or dropped."""
    with catalog.read() as tx:
        yield from rows(tx)


@dataclass(frozen=True)
class QueueFile:
    """A file of the review queue: the report's item, its asset uid and risk."""

    item: Item
    uid: str
    risk: str | None
    tool_status: str | None


@dataclass(frozen=True)
class QueueFolder:
    """A folder of the queue's page: its group (the page's files in it), how many uncleared
    AI assets the whole folder holds (``span``) and the page's files with their uids."""

    group: Group
    span: Span
    files: tuple[QueueFile, ...]
    #: What a `clear` of the whole folder must be given (None: no folder form, the root's).
    needed: Needed | None = None


@dataclass(frozen=True)
class QueueProduction:
    """A production of the queue's page (the first folder below a root) and its folders."""

    group: Group
    span: Span
    folders: tuple[QueueFolder, ...]
    #: What a `clear` of the whole production must be given (None: no production form).
    needed: Needed | None = None


@dataclass(frozen=True)
class QueuePage:
    """One page of the review queue, grouped as the report groups (root -> production ->
    folder); ``next_after``: the path the next page starts after (None: the last page)."""

    productions: tuple[QueueProduction, ...]
    files: int
    next_after: str | None
    #: The paths legal holds were placed on (a release names one of them).
    holds: frozenset[str] = frozenset()
    #: The whole queue's (or the folder's) total: uncleared, overdue, held; on the first
    #: page only (counting the whole queue costs more than reading a page).
    total: Total | None = None


def review_queue(
    app: App,
    caller: Caller,
    *,
    after: str | None = None,
    limit: int = 100,
    under: str | None = None,
) -> QueuePage:
    """Return a page of the uncleared AI assets after the path ``after`` (``under``: at or
    below this folder), grouped by root, production and folder, each group with the count
    and nearest deadline of all its uncleared assets, not only the page's."""
    caller.require("uncleared")
    folder = resolve_path(under) if under is not None else None
    now = utcnow()
    roots = Roots(root_infos(app.settings))
    with app.catalog.read() as tx:
        lines = queue_page(tx, after=after, limit=limit + 1, under=folder)
        following = lines[limit].line.path if len(lines) > limit else None
        lines = lines[:limit]
        by_path = {q.line.path: q for q in lines}
        items = [asset_item("queue", q.line, roots, now) for q in lines]
        wholes = productions(group_items("queue", items))
        wanted = [(whole.path, not whole.production) for whole, _ in wholes]
        wanted += [(g.path, True) for _, folders in wholes for g in folders]
        spans = _spans_on_page(items, wanted, after, following, folder)
        spans.update(queue_spans(tx, [key for key in wanted if key not in spans]))
        holds = frozenset(hold.path for hold in active_holds(tx))
        total = queue_total(tx, now, folder) if after is None else None
        # what the forms that clear a production or a folder must ask for (all under it)
        policy = clearance_policy(app.settings)
        needed = {
            group.path: folder_needed(tx, policy, group.path)
            for whole, folders in wholes
            for group in (whole, *folders)
            if (group.production if group is whole else group.folder)
        }
    result = []
    for whole, folders in wholes:
        shown = tuple(
            QueueFolder(
                group,
                spans[(group.path, True)],
                tuple(
                    QueueFile(
                        item,
                        by_path[item.path].uid,
                        by_path[item.path].risk,
                        by_path[item.path].tool_status,
                    )
                    for item in group.items
                ),
                needed.get(group.path) if group.folder else None,
            )
            for group in folders
        )
        result.append(
            QueueProduction(
                whole,
                spans[(whole.path, not whole.production)],
                shown,
                needed.get(whole.path) if whole.production else None,
            )
        )
    next_after = lines[-1].line.path if following is not None else None
    return QueuePage(tuple(result), len(lines), next_after, holds, total)


def _spans_on_page(
    items: Sequence[Item],
    wanted: Sequence[tuple[str, bool]],
    after: str | None,
    following: str | None,
    under: str | None,
) -> dict[tuple[str, bool], Span]:
    """Return the spans the page itself tells: a folder's paths lie together in the queue's
    byte order, so a folder none of whose paths came before the page (``after``) or comes
    after it (``following``: the first path of the next page), and inside ``under``, has
    all its files on the page. The other folders (at the page's edges) are asked for."""
    known = {}
    for folder, direct in wanted:
        low, high = folder.rstrip("/") + "/", folder.rstrip("/") + "0"
        if under is not None and not (folder == under or folder.startswith(under + "/")):
            continue
        if (after is not None and after >= low) or (following is not None and following < high):
            continue
        mine = [
            item
            for item in items
            if item.path.startswith(low) and not (direct and "/" in item.path[len(low) :])
        ]
        dates = [item.when for item in mine if item.when is not None]
        known[(folder, direct)] = Span(len(mine), min(dates) if dates else None)
    return known


def holds_over(app: App, caller: Caller, target: str) -> list[str]:
    """Return the paths of the legal holds on an asset (a path or an asset id) or a folder
    above it, nearest first."""
    caller.require("show")
    with app.catalog.read() as tx:
        path = find_asset(tx, target).path
        return sorted((h.path for h in holds_covering(tx, path)), key=len, reverse=True)
