"""What the weekly report reads of an asset: ``AssetLine`` and the columns it is made from,
shared by the report's queries (``reports``) and clearance's (``clearance``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table

from provenance.catalog.models import Asset

_A = cast(Table, Asset.__table__).c  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AssetLine:
    """One asset as the report shows it (no prompt, no signals)."""

    id: int
    path: str
    root: str
    status: str
    ai_class: str
    generator: str | None
    model: str | None
    policy: str | None
    deadline: datetime | None
    first_seen: datetime
    present: bool
    content_hash: str | None
    size: int
    #: Facts other work records: optional columns and the last quarantine event's ``after``.
    extra: Mapping[str, Any] = field(default_factory=dict)


#: The columns of an AssetLine, in its field order (no prompt).
ASSET_LINE_COLUMNS = (
    _A.id,
    _A.path,
    _A.root,
    _A.status,
    _A.ai_class,
    _A.generator,
    _A.model,
    _A.policy,
    _A.deadline,
    _A.first_seen,
    _A.present,
    _A.content_hash,
    _A.size,
)
