"""Ordered schema steps: a new catalog is created at the latest version, an old one upgraded.

Each step takes a connection inside the upgrade transaction and brings the schema from
version ``n - 1`` to ``n``. A fresh catalog is created from the models and stamped with the
latest version, so a step only ever runs on a catalog written by an older release.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from sqlalchemy import Connection, inspect, text
from sqlmodel import SQLModel

from provenance.catalog import models
from provenance.errors import CatalogError

log = logging.getLogger(__name__)

META_TABLE = "provenance_meta"
# One statement (SQLite 3.24+ and PostgreSQL): a delete then insert races when two nodes
# store a key neither has yet, and the second fails on the primary key.
UPSERT_META = (
    f"INSERT INTO {META_TABLE} (key, value) VALUES (:k, :v) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


#: The sizes of AI assets (a file of such a size may be a copy: it is hashed), read by each
#: scan; partial, so a new asset that is not AI costs it nothing. Plain SQL (both dialects
#: take it), not in the model: a dialect's keyword there loads that dialect at start-up.
AI_SIZE_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_assets_ai_size ON assets (size) WHERE ai_class != 'none'"
)

#: The AI assets waiting for a decision (``lifecycle.states``' UNCLEARED), as the review
#: queue's queries name them (``catalog.queue``): by the statuses they are not, written out
#: (a schema step never changes), so that a new status on the way to a decision is one of
#: them without a new schema (v23; v15 named the statuses it was).
QUEUE_WHERE = "ai_class != 'none' AND status NOT IN ('not-ai', 'purged', 'cleared')"
#: Their paths (and deadlines): the review queue's pages walk it in order from the last path
#: shown (keyset), whatever share of the catalog is AI, and count a folder's range of it with
#: its nearest deadline, from the index alone. Partial: an asset that is not AI, or
#: decided, costs it nothing.
QUEUE_INDEX_NAME = "ix_assets_queue"
QUEUE_INDEX = "CREATE INDEX IF NOT EXISTS {name} ON assets ({path}, deadline) WHERE {where}"


#: The advisory lock (PostgreSQL) of creating or upgrading the schema (``locks.lock_key``'s
#: form: the first 8 bytes of SHA-256 of "provenance-job:schema", signed).
SCHEMA_LOCK = int.from_bytes(
    hashlib.sha256(b"provenance-job:schema").digest()[:8], "big", signed=True
)


def _add_columns(conn: Connection, table: str, columns: dict[str, str]) -> None:
    """Add to ``table`` each of ``columns`` (name: SQL type) that it does not have yet."""
    present = {c["name"] for c in inspect(conn).get_columns(table)}
    for name, kind in columns.items():
        if name not in present:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {kind}"))


def _v2_scan_runs(conn: Connection) -> None:
    """v2: one row per scan of a root, so `status` can tell when a root was last scanned."""
    models.ScanRun.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]


def _v3_asset_presence(conn: Connection) -> None:
    """v3: assets remember whether their file is present and since when it is missing."""
    timestamp = "TIMESTAMP" if conn.dialect.name == "postgresql" else "DATETIME"
    _add_columns(
        conn, "assets", {"present": "BOOLEAN NOT NULL DEFAULT TRUE", "missing_since": timestamp}
    )


def _v4_retention(conn: Connection) -> None:
    """v4: retention: quarantine and purge columns, holds, the journal of file moves."""
    timestamp = "TIMESTAMP" if conn.dialect.name == "postgresql" else "DATETIME"
    _add_columns(
        conn,
        "assets",
        {
            "flagged_at": timestamp,
            "quarantined_at": timestamp,
            "quarantine_path": "TEXT",
            "purged_at": timestamp,
        },
    )
    conn.execute(
        text("CREATE INDEX IF NOT EXISTS ix_assets_status_deadline ON assets (status, deadline)")
    )
    models.Hold.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]
    models.JournalEntry.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]


def _v5_clearance(conn: Connection) -> None:
    """v5: clearance: declared facts, risk, tool status, prompt hash; the clearances table."""
    _add_columns(
        conn,
        "assets",
        {
            "facts": "JSON",
            "risk": "VARCHAR(16)",
            "risk_rules": "TEXT",
            "tool_status": "VARCHAR(16)",
            "tool_name": "VARCHAR(200)",
            "prompt_sha256": "VARCHAR(64)",
        },
    )
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_assets_risk ON assets (risk)"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_assets_tool_status ON assets (tool_status)"))
    models.Clearance.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]


def _v6_report_index(conn: Connection) -> None:
    """v6: the report's count of AI assets by status and root reads one index (10x faster)."""
    conn.execute(
        text("CREATE INDEX IF NOT EXISTS ix_assets_status_root ON assets (status, root, ai_class)")
    )


def _v7_fewer_indexes(conn: Connection) -> None:
    """v7: drop two asset indexes no query can use; each new asset updated them too."""
    for name in ("ix_assets_ai_class", "ix_assets_present"):
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))


def _v8_keyed_audit(conn: Connection) -> None:
    """v8: keyed audit: each event's place in the chain, state digest, key id and HMAC."""
    _add_columns(
        conn,
        "events",
        {"seq": "BIGINT", "state": "VARCHAR(64)", "key_id": "VARCHAR(16)", "mac": "VARCHAR(64)"},
    )


def _v9_unreadable(conn: Connection) -> None:
    """v9: files the reader could not read, with why and how often (retried a bounded number
    of times), so that `status`, `list --unreadable` and the report name them."""
    models.Unreadable.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]


def _v10_notify_cursors(conn: Connection) -> None:
    """v10: each webhook's place in the audit trail, so that every event is notified once
    the receiver answers, whichever node of a fleet sends it."""
    models.NotifyCursor.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]


def _v11_fingerprint(conn: Connection) -> None:
    """v11: a partial fingerprint per asset (size, first and last blocks), in a column of its
    own: files that are not AI are no longer hashed in full, and follow moves by it."""
    _add_columns(conn, "assets", {"fingerprint": "VARCHAR(80)"})
    _ai_size_index(conn)


def _ai_size_index(conn: Connection) -> None:
    """The partial index of AI asset sizes (``AI_SIZE_INDEX``; v11, and every new catalog)."""
    conn.execute(text(AI_SIZE_INDEX))


def _v12_path_bytes(conn: Connection) -> None:
    """v12: on PostgreSQL, an index of asset paths in byte order (``COLLATE "C"``): `list
    --under` and `uncleared --under` read one folder's range of it, in order, whatever the
    database's collation (SQLite's own path index is in byte order already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text('CREATE INDEX IF NOT EXISTS ix_assets_path_bytes ON assets (path COLLATE "C")')
        )


def _v13_unhashed_size(conn: Connection) -> None:
    """v13: the sizes of assets without a content hash, partial (an AI asset, which has one,
    costs it nothing): when an AI asset comes in, the files of its size read before it
    (possible copies) are found without reading the whole table."""
    conn.execute(
        text(
            "CREATE INDEX IF NOT EXISTS ix_assets_unhashed_size ON assets (size)"
            " WHERE content_hash IS NULL"
        )
    )


#: The movable assets without a deadline (``lifecycle.states``' MOVABLE, by the statuses
#: they are not, written out, as ``QUEUE_WHERE``; v14 named the statuses it was). Not AI
#: first, on its own (v24): SQLite tests a NOT IN of three or more values through a
#: temporary table it builds again for each row written, and a file that is not AI (no
#: deadline) got that far: 2 µs of each such row's insert, a seventh of it, in a first scan.
UNDATED_WHERE = (
    "status != 'not-ai' AND deadline IS NULL"
    " AND status NOT IN ('quarantined', 'purged', 'cleared', 'held')"
)
UNDATED_INDEX = "CREATE INDEX IF NOT EXISTS ix_assets_undated ON assets (status) WHERE {where}"


def _v14_undated_index(conn: Connection) -> None:
    """v14: the movable assets without a deadline, partial (nearly every asset has one, or
    is not in the lifecycle): a sweep reads them beside the due ones, and PostgreSQL, which
    takes a missing deadline for most of a status's rows, read the whole table for them."""
    where = "deadline IS NULL AND status IN ('temporary', 'expiring', 'flagged')"
    conn.execute(text(UNDATED_INDEX.format(where=where)))


def _v15_queue_index(conn: Connection) -> None:
    """v15: the paths of uncleared AI assets (``QUEUE_INDEX``): the web review queue reads a
    page of them from where the last page ended, and a folder's count, from it alone; in byte
    order on PostgreSQL too (``COLLATE "C"``), as SQLite's is, so that a folder's paths lie
    together in it."""
    where = (
        "ai_class != 'none' AND status IN"
        " ('temporary', 'expiring', 'flagged', 'quarantined', 'held')"
    )
    conn.execute(
        text(QUEUE_INDEX.format(name=QUEUE_INDEX_NAME, path=_queue_path(conn), where=where))
    )


def _queue_path(conn: Connection) -> str:
    return 'path COLLATE "C"' if conn.dialect.name == "postgresql" else "path"


#: The events that say an AI asset was found (``catalog.reports.FOUND_ACTIONS``, written
#: out: a schema step never changes), as the report's weekly trend names them, in literal
#: SQL so that PostgreSQL matches the partial index to the query.
FOUND_EVENTS_WHERE = (
    "action IN ('indexed', 'copied', 'tagged') AND (after ->> 'ai_class') <> 'none'"
)
FOUND_EVENTS_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_events_found ON events (at, asset_id)"
    f" WHERE {FOUND_EVENTS_WHERE}"
)


def _v16_event_indexes(conn: Connection) -> None:
    """v16: the report's counts of events read indexes alone: an action's events in a time
    range with their assets (``ix_events_action_at``: the weekly cleared and purged trend,
    the sections' counts by root), and on PostgreSQL the events that found an AI asset
    (``FOUND_EVENTS_INDEX``, partial: the weekly found trend without reading each event's
    JSON; SQLite's came with v18)."""
    conn.execute(
        text("CREATE INDEX IF NOT EXISTS ix_events_action_at ON events (action, at, asset_id)")
    )
    if conn.dialect.name == "postgresql":
        conn.execute(text(FOUND_EVENTS_INDEX))


def _v17_no_action_index(conn: Connection) -> None:
    """v17: events by action alone had their own index beside ``ix_events_action_at``, whose
    first column is the action: the second one cost every audit event a write and said
    nothing the first does not."""
    conn.execute(text("DROP INDEX IF EXISTS ix_events_action"))


#: ``FOUND_EVENTS_WHERE`` in SQLite's words: its JSON function (``->>`` needs SQLite 3.38),
#: and ``+action``, which no index of the action can serve, so that the planner takes this
#: index for the weekly found trend instead of (action, at, asset_id), with or without
#: statistics. The query names it in the same words (a partial index serves a query whose
#: WHERE holds each of its terms).
FOUND_EVENTS_WHERE_SQLITE = (
    "+action IN ('indexed', 'copied', 'tagged') AND json_extract(after, '$.ai_class') <> 'none'"
)


def _v18_found_events_sqlite(conn: Connection) -> None:
    """v18: SQLite's partial index of the events that found an AI asset (PostgreSQL's is
    v16's): the weekly found trend reads it alone, not every event of its 8 weeks with its
    JSON (on 1,000,000 assets 0.03 s instead of 0.5 s, most of the report's time)."""
    if conn.dialect.name == "sqlite":
        conn.execute(
            text(
                "CREATE INDEX IF NOT EXISTS ix_events_found ON events (at, asset_id)"
                f" WHERE {FOUND_EVENTS_WHERE_SQLITE}"
            )
        )


#: The C2PA signals whose signature is untrusted or invalid (``catalog.reports``'
#: ``DOUBTFUL_TRUST``, written out: a schema step never changes), in each dialect's words,
#: literal SQL so that the database matches the partial index to the report's query.
DOUBTFUL_C2PA_WHERE = {
    "postgresql": "kind = 'c2pa' AND (detail ->> 'trust') IN ('untrusted', 'invalid')",
    "sqlite": "kind = 'c2pa' AND json_extract(detail, '$.trust') IN ('untrusted', 'invalid')",
}


def _v19_doubtful_c2pa(conn: Connection) -> None:
    """v19: the signals of a C2PA signature the report calls out (untrusted, invalid),
    partial: the report's attention section reads them alone, not every signal of the
    catalog with its JSON (on 1,000,000 assets with 400,000 signals, 0.2 s of the report)."""
    where = DOUBTFUL_C2PA_WHERE.get(conn.dialect.name, DOUBTFUL_C2PA_WHERE["sqlite"])
    conn.execute(
        text(f"CREATE INDEX IF NOT EXISTS ix_signals_doubtful ON signals (asset_id) WHERE {where}")
    )


#: AI assets the clearance rules never assessed (no tool status) that name no tool, as the
#: report's attention lines name them (``catalog.reports.attention_lines``), in literal SQL
#: (both dialects take it) so that the database matches the partial index to the query.
UNTOOLED_WHERE = (
    "ai_class != 'none' AND tool_status IS NULL AND (generator IS NULL OR generator = '')"
)


def _v20_untooled_index(conn: Connection) -> None:
    """v20: the AI assets never assessed that name no tool (``UNTOOLED_WHERE``), by status,
    partial: with a tools registry the report lists them from it, not from every uncleared
    AI asset's row (on 1,000,000 assets 0.02 s instead of 0.1-0.5 s)."""
    conn.execute(
        text(
            "CREATE INDEX IF NOT EXISTS ix_assets_untooled ON assets (status)"
            f" WHERE {UNTOOLED_WHERE}"
        )
    )


#: The AI files a `provenance clear` of a folder judges (``catalog.clearance``'s
#: ``clear_target_kinds``: present, not cleared, not retired; ``lifecycle.states``' UNCLEARED
#: less RETIRED, by the statuses they are not, written out, as ``QUEUE_WHERE``; v21 named the
#: statuses they were), literal SQL (both dialects take it) so that the database matches
#: the partial index to the query.
KINDS_WHERE = (
    "ai_class != 'none' AND present"
    " AND status NOT IN ('not-ai', 'quarantined', 'purged', 'cleared')"
)
#: An asset's kind as one key a btree orders (generator, family, facts: what the clearance
#: rules judge), ``{t}`` the table's prefix: each part "v<length>:<text>", or "n" for NULL,
#: so that no two kinds share a key (NULL and '' differ); on PostgreSQL its MD5, as its
#: ``json`` has no btree order and a long facts text would not fit an index entry.
KIND_KEY = {
    "postgresql": (
        "md5(coalesce('v' || length({t}generator)::text || ':' || {t}generator, 'n')"
        " || coalesce('v' || length({t}family)::text || ':' || {t}family, 'n')"
        " || coalesce('v' || {t}facts::text, 'n'))"
    ),
    "sqlite": (
        "coalesce('v' || length({t}generator) || ':' || {t}generator, 'n')"
        " || coalesce('v' || length({t}family) || ':' || {t}family, 'n')"
        " || coalesce('v' || CAST({t}facts AS TEXT), 'n')"
    ),
}
KINDS_INDEX_NAME = "ix_assets_kinds"


def _v21_kinds_index(conn: Connection) -> None:
    """v21: the kinds of the AI files a clear judges (``KINDS_WHERE``), by root and kind
    (``KIND_KEY``), partial: the report finds each distinct kind by a jump in it from the
    last one, not by reading every uncleared AI asset's row (on PostgreSQL with 1,000,000
    assets 0.002 s instead of 0.2 s)."""
    where = (
        "ai_class != 'none' AND present AND status IN ('temporary', 'expiring', 'flagged', 'held')"
    )
    conn.execute(text(_kinds_index(conn, where)))


def _kinds_index(conn: Connection, where: str) -> str:
    key = KIND_KEY.get(conn.dialect.name, KIND_KEY["sqlite"]).format(t="")
    return f"CREATE INDEX IF NOT EXISTS {KINDS_INDEX_NAME} ON assets (root, ({key})) WHERE {where}"


#: The AI assets whose mark is there but could not be read (class ``suspect``:
#: ``detect.signals.unreadable_mark``), as the report's attention lines name them
#: (``catalog.reports.unread_mark_lines``), literal SQL (both dialects take it) so that the
#: database matches the partial index to the query.
UNREAD_MARK_WHERE = "ai_class = 'suspect'"


def _v22_unread_mark_index(conn: Connection) -> None:
    """v22: the assets of an unreadable mark (``UNREAD_MARK_WHERE``), by status, partial:
    the report names the uncleared ones whatever the tools registry, read from it alone, not
    from every uncleared AI asset's row (which the statuses' indexes hold)."""
    conn.execute(
        text(
            "CREATE INDEX IF NOT EXISTS ix_assets_unread_mark ON assets (status)"
            f" WHERE {UNREAD_MARK_WHERE}"
        )
    )


def _v23_status_indexes(conn: Connection) -> None:
    """v23: the partial indexes of a group of statuses (the movable assets without a
    deadline, the review queue's uncleared AI assets, the kinds a clear judges) name the
    statuses outside the group, not those in it: a new status on the way to a decision is
    in them without a new schema. The same rows as before."""
    for name in ("ix_assets_undated", QUEUE_INDEX_NAME, KINDS_INDEX_NAME):
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
    conn.execute(text(UNDATED_INDEX.format(where=UNDATED_WHERE)))
    queue = QUEUE_INDEX.format(name=QUEUE_INDEX_NAME, path=_queue_path(conn), where=QUEUE_WHERE)
    conn.execute(text(queue))
    conn.execute(text(_kinds_index(conn, KINDS_WHERE)))


def _v24_undated_not_ai_first(conn: Connection) -> None:
    """v24: the index of the movable assets without a deadline tests "not AI" first
    (``UNDATED_WHERE``): a file that is not AI no longer costs its insert a NOT IN. The
    same rows as before."""
    conn.execute(text("DROP INDEX IF EXISTS ix_assets_undated"))
    conn.execute(text(UNDATED_INDEX.format(where=UNDATED_WHERE)))


#: Columns of an asset that only some assets set: a content hash (AI assets and the files
#: their size), a deadline, a risk and a tool's status (AI assets). Each one's index holds
#: only the rows that set it: a file that is not AI enters none of the four, which cost a
#: plain file's insert 1.7 µs of its 11 (and its share of four indexes of every file on a
#: PostgreSQL catalog of millions). Every query of them compares the column with a value
#: (``=``, ``IN``, a range), which both databases take to mean "not NULL".
SET_ONLY_COLUMNS = ("content_hash", "deadline", "risk", "tool_status")


def _set_only_indexes(conn: Connection) -> None:
    for column in SET_ONLY_COLUMNS:
        conn.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS ix_assets_{column} ON assets ({column})"
                f" WHERE {column} IS NOT NULL"
            )
        )


def _v25_set_only_indexes(conn: Connection) -> None:
    """v25: the indexes of an asset's content hash, deadline, risk and tool status hold only
    the assets that set it (``SET_ONLY_COLUMNS``), not every file."""
    for column in SET_ONLY_COLUMNS:
        conn.execute(text(f"DROP INDEX IF EXISTS ix_assets_{column}"))
    _set_only_indexes(conn)


#: STEPS[n - 2] upgrades version n - 1 to n; version 1 is the first released schema.
STEPS: list[Callable[[Connection], None]] = [
    _v2_scan_runs,
    _v3_asset_presence,
    _v4_retention,
    _v5_clearance,
    _v6_report_index,
    _v7_fewer_indexes,
    _v8_keyed_audit,
    _v9_unreadable,
    _v10_notify_cursors,
    _v11_fingerprint,
    _v12_path_bytes,
    _v13_unhashed_size,
    _v14_undated_index,
    _v15_queue_index,
    _v16_event_indexes,
    _v17_no_action_index,
    _v18_found_events_sqlite,
    _v19_doubtful_c2pa,
    _v20_untooled_index,
    _v21_kinds_index,
    _v22_unread_mark_index,
    _v23_status_indexes,
    _v24_undated_not_ai_first,
    _v25_set_only_indexes,
]
#: Steps whose objects the models cannot declare for every dialect: run on a new catalog too.
DIALECT_STEPS: list[Callable[[Connection], None]] = [
    _ai_size_index,
    _v12_path_bytes,
    _v13_unhashed_size,
    _v16_event_indexes,
    _v18_found_events_sqlite,
    _v19_doubtful_c2pa,
    _v20_untooled_index,
    _v22_unread_mark_index,
    _v23_status_indexes,  # v14's, v15's and v21's indexes as they are now
    _set_only_indexes,
]
LATEST = len(STEPS) + 1


def _read_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table(META_TABLE):
        return None
    row = conn.execute(text(f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'")).first()
    return int(row[0]) if row else None


def _write_version(conn: Connection, version: int) -> None:
    conn.execute(text(UPSERT_META), {"k": "schema_version", "v": str(version)})


def migrate(conn: Connection) -> int:
    """Create or upgrade the schema on ``conn``; return the version it is now at.

    Raises CatalogError for a catalog written by a newer provenance.
    """
    if conn.dialect.name == "postgresql":
        # nodes that start at once on a new (or old) catalog create (or upgrade) it one
        # after the other: the others then find it done. Held until the transaction ends.
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK})
    version = _read_version(conn)
    if version is None:
        if inspect(conn).has_table("assets"):
            raise CatalogError(
                "catalog has tables but no schema version; is it a provenance catalog?"
            )
        conn.execute(text(f"CREATE TABLE {META_TABLE} (key VARCHAR(64) PRIMARY KEY, value TEXT)"))
        SQLModel.metadata.create_all(conn)
        for step in DIALECT_STEPS:
            step(conn)
        _write_version(conn, LATEST)
        log.info("created catalog schema version %d", LATEST)
        return LATEST
    if version > LATEST:
        raise CatalogError(
            f"catalog schema version {version} is newer than this provenance knows ({LATEST}); "
            "upgrade provenance"
        )
    for number in range(version + 1, LATEST + 1):
        step = STEPS[number - 2]
        log.info("upgrading catalog to schema version %d: %s", number, (step.__doc__ or "").strip())
        step(conn)
        _write_version(conn, number)
    return LATEST
