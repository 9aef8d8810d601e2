"""Catalog rows -> the provenance record other programs read."""

# The contract is schema/provenance-record.schema.json; tests validate output against it.

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from provenance.catalog import Asset, Event, SignalRow

SCHEMA_ID = "provenance-record/1"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def signal_record(row: SignalRow) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "ai_class": row.ai_class,
        "generator": row.generator,
        "family": row.family,
        "model": row.model,
        "prompt": row.prompt,
        "parameters": row.parameters or {},
        "confidence": row.confidence,
        "source": row.source,
        "detail": row.detail or {},
    }


def event_record(row: Event) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": _iso(row.at),
        "user": row.user,
        "host": row.host,
        "action": row.action,
        "path": row.path,
        "reason": row.reason,
        "before": row.before or {},
        "after": row.after or {},
        "hash": row.hash,
    }


def asset_record(
    asset: Asset,
    signals: Sequence[SignalRow] | None = None,
    events: Sequence[Event] | None = None,
    source: Asset | None = None,
) -> dict[str, Any]:
    """Return the JSON-ready record of ``asset``; signals and events only when given."""
    record: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "uid": asset.uid,
        "path": asset.path,
        "root": asset.root,
        "present": asset.present,
        "size": asset.size,
        "media_type": asset.media_type,
        "content_hash": asset.content_hash,
        "ai_class": asset.ai_class,
        "generator": asset.generator,
        "family": asset.family,
        "model": asset.model,
        "prompt": asset.prompt,
        "prompt_sha256": asset.prompt_sha256,
        "confidence": round(asset.confidence, 3),
        "status": asset.status,
        "deadline": _iso(asset.deadline),
        "policy": asset.policy,
        "first_seen": _iso(asset.first_seen),
        "last_seen": _iso(asset.last_seen),
        "missing_since": _iso(asset.missing_since),
        "copy_of": source.path if source is not None else None,
        "facts": asset.facts or {},
        "risk": asset.risk,
        "risk_rules": [rule for rule in (asset.risk_rules or "").split(",") if rule],
        "tool_status": asset.tool_status,
    }
    if signals is not None:
        record["signals"] = [signal_record(s) for s in signals]
    if events is not None:
        record["events"] = [event_record(e) for e in events]
    return record
