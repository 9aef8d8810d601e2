"""Catalog rows built from what was read: new asset rows, signals, and the pending batch.

A new asset is a ``NewRow`` (plain values, not an ORM object: a first scan inserts thousands
at a time); it is also what a copy found in the same batch links to and what its tag is
written from. An asset the catalog holds already is an ``Asset``; both are read the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from provenance.audit import Actor, id_ranges, rows_digest
from provenance.catalog import Asset, Clearance, EventSpec, Tx
from provenance.clearance.binding import copy_clearance
from provenance.clearance.policy import ClearancePolicy, default_policy
from provenance.clearance.redact import redact_parameters
from provenance.detect import Verdict
from provenance.files.reader import FileFacts
from provenance.lifecycle.states import Status, born, initial


def signal_values(
    asset_id: int, verdict: Verdict, now: datetime, policy: ClearancePolicy | None = None
) -> list[dict[str, Any]]:
    """Return the signal rows of a verdict as column values, prompts kept as ``policy`` says."""
    policy = policy or default_policy()
    mode, names = policy.prompt_storage, policy.redact_names
    return [
        {
            "asset_id": asset_id,
            "kind": s.kind,
            "ai_class": s.ai_class,
            "generator": s.generator,
            "family": s.family,
            "model": s.model,
            "prompt": policy.prompt(s.prompt)[0],
            "parameters": redact_parameters(s.parameters, mode, names),
            "confidence": s.confidence,
            "source": s.source,
            "detail": dict(s.detail),
            "found_at": now,
        }
        for s in verdict.signals
    ]


@dataclass(slots=True)
class NewRow:
    """A new asset's column values (``id`` set once it is inserted)."""

    uid: str
    path: str
    root: str
    size: int
    mtime_ns: int
    inode: int
    device: int
    content_hash: str | None
    fingerprint: str | None
    media_type: str
    ai_class: str
    generator: str | None
    family: str | None
    model: str | None
    prompt: str | None
    prompt_sha256: str | None
    confidence: float
    status: str
    first_seen: datetime
    last_seen: datetime
    risk: str | None = None
    risk_rules: str | None = None
    tool_status: str | None = None
    tool_name: str | None = None
    deadline: datetime | None = None
    policy: str | None = None
    created_at: datetime | None = None
    source_asset_id: int | None = None
    present: bool = True
    missing_since: datetime | None = None
    facts: dict[str, Any] | None = None
    id: int | None = None

    @property
    def is_ai(self) -> bool:
        return self.ai_class != "none"

    def values(self) -> dict[str, Any]:
        """The columns to insert (all but ``id``), by name."""
        return dict(zip(_COLUMNS, _column_values(self), strict=True))


_COLUMNS = tuple(f.name for f in fields(NewRow) if f.name != "id")
#: A row's column values as one tuple, in ``_COLUMNS`` order (one C call, not one getattr a
#: column: a first scan asks it of every file)
_column_values = attrgetter(*_COLUMNS)


def new_row(
    facts: FileFacts, root: str, uid: str, now: datetime, policy: ClearancePolicy
) -> NewRow:
    """Return a new asset's row, from what was read of its file."""
    verdict = facts.verdict
    prompt, prompt_hash = (None, None) if verdict.prompt is None else policy.prompt(verdict.prompt)
    return NewRow(
        uid=uid,
        path=facts.path,
        root=root,
        size=facts.size,
        mtime_ns=facts.mtime_ns,
        inode=facts.inode,
        device=facts.device,
        content_hash=facts.content_hash,
        fingerprint=facts.fingerprint or None,
        media_type=verdict.media_type,
        ai_class=verdict.ai_class,
        generator=verdict.generator,
        family=verdict.family,
        model=verdict.model,
        prompt=prompt,
        prompt_sha256=prompt_hash,
        confidence=verdict.confidence,
        status=initial(verdict.ai_class),
        first_seen=now,
        last_seen=now,
        **policy.columns(verdict.ai_class, verdict.generator, verdict.family, None),
    )


def apply_verdict(asset: Asset, verdict: Verdict, policy: ClearancePolicy) -> None:
    asset.ai_class = verdict.ai_class
    asset.media_type = verdict.media_type
    asset.generator = verdict.generator
    asset.family = verdict.family
    asset.model = verdict.model
    asset.prompt, asset.prompt_sha256 = policy.prompt(verdict.prompt)
    asset.confidence = verdict.confidence
    set_clearance_columns(asset, policy)


def set_clearance_columns(asset: Asset, policy: ClearancePolicy) -> None:
    """Set the asset's risk, risk rules and tool status from its class, tool and facts now."""
    for name, value in policy.columns(
        asset.ai_class, asset.generator, asset.family, asset.facts
    ).items():
        setattr(asset, name, value)


def apply_stat(asset: Asset, facts: FileFacts, root: str, now: datetime) -> None:
    asset.path = facts.path
    asset.root = root
    asset.size = facts.size
    asset.mtime_ns = facts.mtime_ns
    asset.inode = facts.inode
    asset.device = facts.device
    if facts.fingerprint:
        asset.fingerprint = facts.fingerprint
    asset.last_seen = now
    asset.present = True
    asset.missing_since = None


#: What a copy of AI content takes from its source.
INHERITED = ("ai_class", "generator", "family", "model", "prompt", "prompt_sha256", "confidence")


def retire_path(tx: Tx, asset: Asset, actor: Actor, now: datetime) -> None:
    """Free a purged asset's path for a new file there; its receipt keeps the original path."""
    original = asset.path
    asset.path = f"{original} (purged, asset {asset.uid})"
    tx.record(
        actor,
        "path-reused",
        now,
        asset=asset,
        reason="a new file now lives at the purged asset's path",
        before={"path": original},
        after={"path": asset.path},
    )
    tx.flush()


def inherit(copy: NewRow, source: Asset | NewRow) -> None:
    """Same bytes as a known AI asset: the copy is AI whatever its name or folder."""
    for name in INHERITED:
        setattr(copy, name, getattr(source, name))
    born(copy, initial(copy.ai_class))


@dataclass
class PendingRows:
    """New assets of one transaction, inserted together with their signals and events."""

    rows: list[tuple[NewRow, Verdict, str, str]] = field(default_factory=list)
    by_hash: dict[str, NewRow] = field(default_factory=dict)
    #: New rows (by uid) that copy cleared content: the source's clearance in force.
    cleared_from: dict[str, Clearance] = field(default_factory=dict)
    policy: ClearancePolicy = field(default_factory=default_policy)

    def write(self, tx: Tx, actor: Actor, now: datetime) -> list[NewRow]:
        """Insert what is pending; return the AI assets among it (their tags are due)."""
        if not self.rows:
            return []
        ids = tx.insert_asset_values(_COLUMNS, [_column_values(row) for row, *_ in self.rows])
        signals: list[dict[str, Any]] = []
        events: list[EventSpec] = []
        ai: list[NewRow] = []
        plain: list[NewRow] = []
        for (row, verdict, action, reason), row_id in zip(self.rows, ids, strict=True):
            row.id = row_id
            if verdict.signals:
                signals.extend(signal_values(row_id, verdict, now, self.policy))
            if action == "indexed" and row.ai_class == "none":
                plain.append(row)
                continue
            after = {"status": row.status, "ai_class": row.ai_class}
            events.append(EventSpec(action, row_id, row.path, reason, {}, after))
            source = self.cleared_from.pop(row.uid, None)
            if source is not None:
                events.append(copy_clearance(tx, row_id, row.path, source, actor, now))
            if row.ai_class != "none":
                ai.append(row)
        if plain:
            events.append(plain_files_event(plain))
        tx.insert_signals(signals)
        tx.record_many(actor, now, events)
        self.rows.clear()
        return ai


def plain_files_event(rows: list[NewRow]) -> EventSpec:
    """Return the one ``indexed`` event for a batch's new files that are not AI.

    They have no lifecycle, so one chained event names them all by id (as ranges) and binds
    their id, uid, path and content hash with a digest. ``Tx.events_of`` finds it for each.
    """
    paths = [row.path for row in rows]
    # the common prefix of the first and last name in order is every name's
    shared = os.path.commonprefix([min(paths), max(paths)])  # noqa: RUF071 (cut at a "/")
    folder = shared[: shared.rfind("/")] or "/"
    digest = rows_digest((r.id, r.uid, r.path, r.content_hash) for r in rows)
    after = {
        "status": Status.NOT_AI,
        "ai_class": "none",
        "count": len(rows),
        "assets": id_ranges(row.id for row in rows if row.id is not None),
        "digest": digest,
    }
    noun = "file" if len(rows) == 1 else "files"
    return EventSpec("indexed", None, folder, f"{len(rows)} new {noun}, not AI", {}, after)
