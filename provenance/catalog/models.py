"""The catalog's tables (SQLModel): assets, their signals, the audit trail and scan runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from provenance.lifecycle.states import Status


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone; we store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Return the current time, aware, in UTC (callers pass time down; this is the edge)."""
    return datetime.now(UTC)


class _Table(SQLModel):
    """The base of the catalog's tables: pydantic builds a table's validator and serializer
    when first used (``model_dump``), not when the catalog loads. Every command that opens
    the catalog loads all its tables, and few use either: 0.011 s less CPU at each start."""

    # a plain dict: pydantic's documented form of a model's config, and the type sqlmodel
    # declares for it accepts it (pydantic's ConfigDict lacks sqlmodel's own keys)
    model_config = {"defer_build": True}


class Asset(_Table, table=True):
    """A file the catalog knows, at its current path, with its latest verdict and state."""

    __tablename__ = "assets"
    #: A sweep plans from (status, deadline) alone, never by loading every asset; the report
    #: counts AI assets by status and root from (status, root, ai_class) alone. The index on
    #: status alone still pays: it lists a status's rows in table order (the report's
    #: "needs attention" query on 1,000,000 assets: 0.16 s, against 0.64 s through
    #: (status, deadline)). ``ai_class`` (queried as ``!= 'none'``) and ``present`` (true for
    #: nearly every row) have no index of their own: no query could use one, and every index
    #: costs each new row of a first scan.
    __table_args__ = (
        Index("ix_assets_status_deadline", "status", "deadline"),
        Index("ix_assets_status_root", "status", "root", "ai_class"),
        # and ix_assets_ai_size, partial: created by the migrations (``AI_SIZE_INDEX``), as
        # a dialect's own keyword here loads that dialect (PostgreSQL's, for every SQLite
        # catalog: about 0.03 s of each command's start); so are the indexes of the columns
        # only some assets set (``SET_ONLY_COLUMNS``: content hash, deadline, risk, tool
        # status), each holding only the rows that set it
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(index=True, unique=True, max_length=36)
    path: str = Field(sa_type=Text, unique=True)
    root: str = Field(sa_type=Text, index=True)
    size: int = Field(sa_type=BigInteger)
    mtime_ns: int = Field(sa_type=BigInteger)
    inode: int = Field(sa_type=BigInteger)
    device: int = Field(sa_type=BigInteger)
    #: BLAKE3 of every byte (``blake3:<hex>``): set for AI assets, files the size of one,
    #: tagged files, every file with ``[scan] hash = "all"``; None for the other files.
    content_hash: str | None = Field(default=None, max_length=80)
    #: The size and first and last blocks hashed (``partial:<hex>``, files/hashing.py):
    #: with the device and inode it follows a file without a content hash through a move.
    #: Never compared with a content hash. None for a record from before it existed.
    fingerprint: str | None = Field(default=None, max_length=80)
    media_type: str = Field(default="application/octet-stream", max_length=100)
    ai_class: str = Field(default="none", max_length=16)
    generator: str | None = Field(default=None, sa_type=Text)
    family: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, sa_type=Text)
    prompt: str | None = Field(default=None, sa_type=Text)
    confidence: float = 0.0
    #: Its place in the lifecycle: a ``provenance.lifecycle.states.Status`` value, changed
    #: only by ``provenance.lifecycle.states.move``.
    status: str = Field(default=Status.NOT_AI.value, index=True, max_length=16)
    deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    policy: str | None = Field(default=None, max_length=200)
    first_seen: datetime = Field(sa_type=UTCDateTime)
    last_seen: datetime = Field(sa_type=UTCDateTime)
    #: Creation time recorded in the file's metadata, when it has one.
    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The asset this one is a copy of (same content seen first elsewhere).
    source_asset_id: int | None = Field(default=None, foreign_key="assets.id")
    present: bool = Field(default=True)
    missing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Retention: when the asset was flagged, moved to quarantine (and where), its bytes deleted.
    flagged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    quarantined_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    quarantine_path: str | None = Field(default=None, sa_type=Text)
    purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Clearance: facts declared with `provenance tag` (intended_use, talent, flags; JSON).
    facts: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    #: The derived risk (low, review, high, blocked) and the ids of the rules that fired
    #: ("NFX-INTRO,NFX-CONF3"), as of the last ingest, tag or clearance.
    risk: str | None = Field(default=None, max_length=16)
    risk_rules: str | None = Field(default=None, sa_type=Text)
    #: The tools registry's word on the generator: approved, unapproved or unknown.
    tool_status: str | None = Field(default=None, max_length=16)
    tool_name: str | None = Field(default=None, max_length=200)
    #: SHA-256 of the raw prompt (kept whatever [clearance] prompt_storage keeps of the text).
    prompt_sha256: str | None = Field(default=None, max_length=64)

    @property
    def is_ai(self) -> bool:
        return self.ai_class != "none"


class SignalRow(_Table, table=True):
    """One mark found in or beside an asset's file (see ``provenance.detect.Signal``)."""

    __tablename__ = "signals"

    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="assets.id", index=True)
    kind: str = Field(max_length=32)
    ai_class: str = Field(max_length=16)
    generator: str | None = Field(default=None, sa_type=Text)
    family: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, sa_type=Text)
    prompt: str | None = Field(default=None, sa_type=Text)
    parameters: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    confidence: float = 1.0
    source: str = Field(default="", sa_type=Text)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    found_at: datetime = Field(sa_type=UTCDateTime)


class Event(_Table, table=True):
    """One audit event; ``hash`` chains it to the event before (see ``provenance.audit``)."""

    __tablename__ = "events"

    id: int | None = Field(default=None, primary_key=True)
    asset_id: int | None = Field(default=None, foreign_key="assets.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    user: str = Field(max_length=200)
    host: str = Field(max_length=255)
    #: Read by action through ``ix_events_action_at`` (action, at, asset_id; schema v16).
    action: str = Field(max_length=64)
    path: str | None = Field(default=None, sa_type=Text)
    reason: str = Field(default="", sa_type=Text)
    before: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    after: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
    #: Keyed audit (see ``provenance.audit.keys``): the event's place in the chain (1, 2, ...),
    #: a digest of the state its asset or hold was left in, the key that signed it and the
    #: HMAC. Unset on events written before the audit key existed.
    seq: int | None = Field(default=None, sa_type=BigInteger)
    state: str | None = Field(default=None, max_length=64)
    key_id: str | None = Field(default=None, max_length=16)
    mac: str | None = Field(default=None, max_length=64)


class ScanRun(_Table, table=True):
    """One scan of one root: when, how it ended, what it counted."""

    __tablename__ = "scan_runs"

    id: int | None = Field(default=None, primary_key=True)
    root: str = Field(sa_type=Text, index=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    online: bool = True
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Hold(_Table, table=True):
    """A legal hold on a path: the file, or everything under the folder, is never moved."""

    __tablename__ = "holds"

    id: int | None = Field(default=None, primary_key=True)
    path: str = Field(sa_type=Text, index=True)
    reason: str = Field(sa_type=Text)
    user: str = Field(max_length=200)
    host: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class JournalEntry(_Table, table=True):
    """One move or delete of bytes, written before it happens and finished after it.

    ``state`` is "planned" until the step is "done" or "rolled-back"; a planned entry
    found at start-up is an interrupted step (see ``provenance.retention.purge``).
    """

    __tablename__ = "journal"

    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="assets.id", index=True)
    operation: str = Field(max_length=16)
    source: str = Field(sa_type=Text)
    target: str | None = Field(default=None, sa_type=Text)
    sidecar_source: str | None = Field(default=None, sa_type=Text)
    sidecar_target: str | None = Field(default=None, sa_type=Text)
    content_hash: str | None = Field(default=None, max_length=80)
    size: int = Field(default=0, sa_type=BigInteger)
    rule: str = Field(default="", max_length=200)
    reason: str = Field(default="", sa_type=Text)
    state: str = Field(default="planned", max_length=16, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Clearance(_Table, table=True):
    """One approval of an asset's content as a final deliverable, bound to its content hash.

    Active while ``voided_at`` is unset; voided when the bytes change (``clearance-voided``,
    ``fixity-failed``) or the approval is withdrawn (``revoked``). A copy of cleared content
    gets its own row citing ``source_clearance_id``.
    """

    __tablename__ = "clearances"

    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="assets.id", index=True)
    content_hash: str = Field(max_length=80, index=True)
    approval_ref: str = Field(sa_type=Text)
    note: str = Field(default="", sa_type=Text)
    consent_refs: list[str] = Field(default_factory=list, sa_type=JSON)
    escalation_ref: str | None = Field(default=None, sa_type=Text)
    user: str = Field(max_length=200)
    host: str = Field(max_length=255)
    cleared_at: datetime = Field(sa_type=UTCDateTime)
    intended_use: str | None = Field(default=None, max_length=16)
    risk: str = Field(default="low", max_length=16)
    rules: str = Field(default="", sa_type=Text)
    #: Whether the file carried a machine-readable AI mark (C2PA or IPTC) when cleared.
    labelled: bool = False
    source_clearance_id: int | None = Field(default=None, foreign_key="clearances.id")
    voided_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    void_action: str | None = Field(default=None, max_length=32)
    void_reason: str | None = Field(default=None, sa_type=Text)


class Unreadable(_Table, table=True):
    """A file the reader could not read (over its time or memory budget, refused, not a
    regular file), with why: later scans retry it up to ``[scan] retry_unreadable`` times,
    then only once its size or modification time changes. The row goes when the file is
    read and recorded, or is gone."""

    __tablename__ = "unreadable"

    id: int | None = Field(default=None, primary_key=True)
    path: str = Field(sa_type=Text, unique=True)
    root: str = Field(sa_type=Text, index=True)
    #: The file's size and modification time at the last failed read (None: not known).
    size: int | None = Field(default=None, sa_type=BigInteger)
    mtime_ns: int | None = Field(default=None, sa_type=BigInteger)
    reason: str = Field(sa_type=Text)
    #: Failed reads of the file as it is now (size and mtime): 1 after the first.
    attempts: int = 1
    first_failed: datetime = Field(sa_type=UTCDateTime)
    last_failed: datetime = Field(sa_type=UTCDateTime)


class NotifyCursor(_Table, table=True):
    """A webhook's place in the audit trail: the id of the last event it was sent or passed
    over (``provenance.notify.outbox``), one row per ``[[notify.webhooks]]`` name, shared by
    every node of a fleet."""

    __tablename__ = "notify_cursors"

    name: str = Field(primary_key=True, max_length=64)
    event_id: int = Field(sa_type=BigInteger)
    updated_at: datetime = Field(sa_type=UTCDateTime)
