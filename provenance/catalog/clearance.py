"""The catalog queries of clearance: active clearances, voiding them, and what the report reads.

An asset's clearance is active while its row's ``voided_at`` is unset. The weekly report
reads the asset columns ``risk``, ``risk_rules`` and ``tool_status`` through
:func:`attention_assets` (and :func:`risk_counts`); nothing here selects a prompt.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, Text, exists, func, select, text, union
from sqlmodel import col

from provenance.catalog.chunks import in_chunks
from provenance.catalog.lines import ASSET_LINE_COLUMNS
from provenance.catalog.migrations import KIND_KEY, KINDS_INDEX_NAME, KINDS_WHERE
from provenance.catalog.models import Asset, Clearance
from provenance.catalog.store import Tx, bytewise, path_under
from provenance.lifecycle.states import RETIRED, UNCLEARED

_A = cast(Table, Asset.__table__).c  # type: ignore[attr-defined]
_C = cast(Table, Clearance.__table__).c  # type: ignore[attr-defined]

#: Registry answers that send an asset to escalation (NFX-CONF3).
UNAPPROVED_TOOL = ("unknown", "unapproved")
#: Risk levels the report calls out: blocked (never clearable). High is the risk of any
#: final deliverable, so it is counted, not listed.
ATTENTION_RISKS = ("blocked",)
#: Columns the report reads for its attention section (no prompt).
ATTENTION_COLUMNS = (
    *ASSET_LINE_COLUMNS,
    _A.risk,
    _A.risk_rules,
    _A.tool_status,
    _A.tool_name,
)


def active_clearance(tx: Tx, asset_id: int) -> Clearance | None:
    """Return the asset's clearance in force, or None."""
    query = (
        select(Clearance)
        .where(col(Clearance.asset_id) == asset_id, col(Clearance.voided_at).is_(None))
        .order_by(col(Clearance.id).desc())
        .limit(1)
    )
    return tx.session.execute(query).scalars().first()


#: Ends of a clearance that say the file changed, not that the approval was withdrawn.
CONTENT_CHANGED = ("clearance-voided", "fixity-failed")


def cleared_before_change(tx: Tx, asset_id: int, content_hash: str) -> Clearance | None:
    """Return the asset's latest clearance of ``content_hash`` that ended only because the
    asset's file changed since (never one that was revoked), or None."""
    query = (
        select(Clearance)
        .where(
            col(Clearance.asset_id) == asset_id,
            col(Clearance.content_hash) == content_hash,
            col(Clearance.void_action).in_(CONTENT_CHANGED),
        )
        .order_by(col(Clearance.id).desc())
        .limit(1)
    )
    return tx.session.execute(query).scalars().first()


def clearances_of(tx: Tx, asset_id: int) -> list[Clearance]:
    """Return every clearance the asset ever had, oldest first."""
    query = select(Clearance).where(col(Clearance.asset_id) == asset_id).order_by(col(Clearance.id))
    return list(tx.session.execute(query).scalars())


def add_clearance(tx: Tx, clearance: Clearance) -> Clearance:
    """Store a new clearance and return it with its id."""
    tx.session.add(clearance)
    tx.session.flush()
    return clearance


def void_clearance(tx: Tx, clearance: Clearance, at: datetime, action: str, reason: str) -> None:
    """End a clearance: ``action`` is clearance-voided, fixity-failed or revoked."""
    clearance.voided_at, clearance.void_action, clearance.void_reason = at, action, reason


def rebind_clearance(tx: Tx, asset_id: int, old_hash: str | None, new_hash: str) -> bool:
    """Move the asset's active clearance to ``new_hash`` when it was bound to ``old_hash``.

    Used when provenance itself rewrote the file (an embedded tag); returns whether it did.
    """
    clearance = active_clearance(tx, asset_id)
    if clearance is None or clearance.content_hash != old_hash:
        return False
    clearance.content_hash = new_hash
    return True


def cleared_assets(tx: Tx, roots: Sequence[str] = ()) -> list[tuple[Asset, Clearance]]:
    """Return (asset, active clearance) of every present asset with a clearance in force."""
    query = (
        select(Asset, Clearance)
        .join(Clearance, col(Clearance.asset_id) == col(Asset.id))
        .where(col(Clearance.voided_at).is_(None), col(Asset.present).is_(True))
        .order_by(col(Asset.path))
    )
    if roots:
        query = query.where(col(Asset.root).in_(list(roots)))
    return [(row[0], row[1]) for row in tx.session.execute(query)]


def no_active_clearance() -> Any:
    """The condition of an asset with no clearance in force (a held one may have one)."""
    return ~exists().where(_C.asset_id == _A.id, _C.voided_at.is_(None))


def uncleared_assets(tx: Tx, under: str | None = None) -> Iterator[Asset]:
    """Yield AI assets still waiting for a clearance (not cleared, not purged), by path,
    streamed: a big catalog holds hundreds of thousands of them. Under a folder, its range
    of the path index is read in order: the first page comes without sorting the rest."""
    query = select(Asset).where(*_uncleared())
    if under is not None:
        query = query.where(path_under(_A.path, under, tx.dialect))
    query = query.order_by(bytewise(_A.path, tx.dialect))
    yield from tx.session.execute(query.execution_options(yield_per=500)).scalars()


def uncleared_ids(tx: Tx) -> list[int]:
    """Return the ids of the AI assets ``uncleared_assets`` yields (for work done in pages)."""
    query = select(col(Asset.id)).where(*_uncleared()).order_by(col(Asset.id))
    return [row[0] for row in tx.session.execute(query)]


def _uncleared() -> tuple[Any, ...]:
    return (
        col(Asset.ai_class) != "none",
        col(Asset.status).in_(UNCLEARED),
        no_active_clearance(),
    )


def attention_where(unknown_tools: bool = True) -> tuple[Any, ...]:
    """The conditions of the assets ``attention_assets`` yields (its count uses them too)."""
    tools = UNAPPROVED_TOOL if unknown_tools else ("unapproved",)
    # each of the two through its own index (tool status; risk), few rows: the OR of them
    # beside the status made SQLite walk every uncleared asset instead
    named = union(
        select(_A.id).where(_A.tool_status.in_(tools)),
        select(_A.id).where(_A.risk.in_(ATTENTION_RISKS)),
    )
    return (
        _A.id.in_(named.scalar_subquery()),
        _A.ai_class != "none",
        _A.status.in_(UNCLEARED),
        no_active_clearance(),
    )


def few_by_path(dialect: str) -> Any:
    """The order of a few assets by path, byte by byte, never read from the path index:
    ``path || ''`` sorts the same on SQLite but keeps its planner off that index (walking
    all of it in order, every row a random table read, is slower than sorting the few);
    ``COLLATE "C"`` on PostgreSQL, whose planner weighs the two."""
    return _A.path.collate("C") if dialect == "postgresql" else _A.path.concat("")


def attention_assets(
    tx: Tx, root: str | None = None, *, unknown_tools: bool = True, limit: int | None = None
) -> Iterator[Row[Any]]:
    """Yield rows (``ATTENTION_COLUMNS``) of uncleared AI assets the report must call out.

    That is those from an unapproved tool, from an unknown one (unless ``unknown_tools`` is
    False: with no tools registry every tool is unknown, and the report counts them), and
    those whose ``risk`` is blocked, with no clearance in force; by path (the first
    ``limit``).
    """
    query = select(*ATTENTION_COLUMNS).where(*attention_where(unknown_tools))
    if root is not None:
        query = query.where(_A.root == root)
    ordered = query.order_by(few_by_path(tx.dialect))
    if limit is not None:
        ordered = ordered.limit(limit)
    yield from tx.session.execute(ordered.execution_options(yield_per=2000))


def risk_counts(tx: Tx, root: str | None = None) -> dict[tuple[str, str], int]:
    """Return ``{(risk, tool_status): count}`` of uncleared AI assets ("-" for unset)."""
    query = (
        select(_A.risk, _A.tool_status, func.count())
        .where(_A.ai_class != "none", _A.status.in_(UNCLEARED), no_active_clearance())
        .group_by(_A.risk, _A.tool_status)
    )
    if root is not None:
        query = query.where(_A.root == root)
    return {(risk or "-", tool or "-"): count for risk, tool, count in tx.session.execute(query)}


def approval_refs(tx: Tx, asset_ids: Sequence[int]) -> dict[int, str]:
    """Return asset id -> approval reference of the clearance in force, for those that have one."""
    found: dict[int, str] = {}
    for chunk in in_chunks(asset_ids):
        query = (
            select(_C.asset_id, _C.approval_ref)
            .where(_C.asset_id.in_(list(chunk)), _C.voided_at.is_(None))
            .order_by(_C.id)
        )
        found.update((asset_id, ref) for asset_id, ref in tx.session.execute(query))
    return found


def clearance_inputs(tx: Tx, asset_ids: Sequence[int]) -> dict[int, tuple[Any, Any, Any]]:
    """Return asset id -> (generator, family, facts): what the clearance rules judge."""
    found: dict[int, tuple[Any, Any, Any]] = {}
    for chunk in in_chunks(asset_ids):
        query = select(_A.id, _A.generator, _A.family, _A.facts).where(_A.id.in_(list(chunk)))
        found.update((row[0], (row[1], row[2], row[3])) for row in tx.session.execute(query))
    return found


def clear_target_kinds(
    tx: Tx, root: str | None = None, under: str | None = None
) -> list[tuple[Any, Any, str | None]]:
    """Return each distinct (generator, family, facts as JSON text) of the AI files a
    `provenance clear` of a folder judges (``root``: under that root only; ``under``: at
    or below that folder): the clearance rules give all files of one kind the same answer,
    but for their signatures. A held file cleared while held is counted too: it can only
    add a need.

    For the whole catalog or a root, a walk of the kinds' partial index
    (``migrations.KINDS_WHERE``, by root and ``KIND_KEY``), each step a jump past the last
    kind to the next: as many steps as kinds, whatever the number of files. Under a folder,
    the folder's rows."""
    if under is not None:
        return _kinds_under(tx, under, root)
    key = KIND_KEY.get(tx.dialect, KIND_KEY["sqlite"])
    here, there = key.format(t=""), key.format(t="a.")
    in_root = "" if root is None else " AND root = :root"
    # SQLite's planner, with or without statistics, took the statuses' index and sorted
    indexed = f" INDEXED BY {KINDS_INDEX_NAME}" if tx.dialect == "sqlite" else ""
    rows = f"SELECT id FROM assets{indexed} WHERE {KINDS_WHERE}"
    order = f" ORDER BY root, {here} LIMIT 1"
    first = f"{rows}{in_root}{order}"
    # the next kind in the root of the last one, else (the whole catalog) the first of the
    # next root: each a seek (SQLite seeks a row value (root, key) by its root alone)
    step = f"({rows} AND root = a.root AND {here} > {there}{order})"
    if root is None:
        step = f"coalesce({step}, ({rows} AND root > a.root{order}))"
    walk = text(
        f"WITH RECURSIVE kinds (id) AS (SELECT * FROM ({first}) AS head"
        f" UNION ALL SELECT {step} FROM kinds JOIN assets a ON a.id = kinds.id)"
        " SELECT a.generator, a.family, CAST(a.facts AS TEXT)"
        " FROM kinds JOIN assets a ON a.id = kinds.id"
    )
    params = {} if root is None else {"root": root}
    kinds = ((row[0], row[1], row[2]) for row in tx.session.execute(walk, params))
    return list(dict.fromkeys(kinds))


def _kinds_under(tx: Tx, under: str, root: str | None) -> list[tuple[Any, Any, str | None]]:
    """``clear_target_kinds`` under one folder: a pass over its uncleared rows;
    AI and present are checked here: a condition on them made SQLite walk the index
    by deadline instead, four times slower on 1,000,000 assets."""
    statuses = [status for status in UNCLEARED if status not in RETIRED]
    facts = _A.facts.cast(Text)
    query = select(_A.generator, _A.family, facts, _A.ai_class, _A.present)
    query = query.where(_A.status.in_(statuses), path_under(_A.path, under, tx.dialect))
    if root is not None:
        query = query.where(_A.root == root)
    kinds = (
        (row[0], row[1], row[2])
        for row in tx.session.execute(query.distinct())
        if row[3] != "none" and row[4]
    )
    return list(dict.fromkeys(kinds))


def clear_targets_of_kind(
    tx: Tx, kind: tuple[Any, Any, str | None], root: str | None = None, under: str | None = None
) -> list[tuple[int, str]]:
    """Return (id, path) of the files of one kind (``clear_target_kinds``), by path."""
    generator, family, facts = kind
    statuses = [status for status in UNCLEARED if status not in RETIRED]
    query = select(_A.id, _A.path, _A.ai_class, _A.present).where(
        _A.status.in_(statuses),
        _A.generator.is_not_distinct_from(generator),
        _A.family.is_not_distinct_from(family),
        _A.facts.cast(Text).is_not_distinct_from(facts),
    )
    if root is not None:
        query = query.where(_A.root == root)
    if under is not None:
        query = query.where(path_under(_A.path, under, tx.dialect))
    rows = tx.session.execute(query.execution_options(yield_per=5000))
    return sorted(((row[0], row[1]) for row in rows if row[2] != "none" and row[3]), key=_path)


def _path(target: tuple[int, str]) -> str:
    return target[1]
