"""Schema versions: a new catalog starts at the latest; an old one is upgraded with its data."""

from __future__ import annotations

import re
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect, text

from provenance.catalog import Catalog
from provenance.catalog.migrations import LATEST, SET_ONLY_COLUMNS, UNDATED_WHERE, migrate
from provenance.errors import CatalogError
from provenance.lifecycle.states import MOVABLE, STATUSES
from tests.conftest import postgres_url
from tests.needs import unavailable

# The first released schema (version 1), as an old catalog on disk has it.
V1_SCHEMA = """
CREATE TABLE provenance_meta (key VARCHAR(64) PRIMARY KEY, value TEXT);
INSERT INTO provenance_meta VALUES ('schema_version', '1');
CREATE TABLE assets (
    id INTEGER PRIMARY KEY, uid VARCHAR(36) NOT NULL UNIQUE, path TEXT NOT NULL UNIQUE,
    root TEXT NOT NULL, size BIGINT NOT NULL, mtime_ns BIGINT NOT NULL, inode BIGINT NOT NULL,
    device BIGINT NOT NULL, content_hash VARCHAR(80), media_type VARCHAR(100) NOT NULL,
    ai_class VARCHAR(16) NOT NULL, generator TEXT, family VARCHAR(64), model TEXT, prompt TEXT,
    confidence FLOAT NOT NULL, status VARCHAR(16) NOT NULL, deadline DATETIME,
    policy VARCHAR(200), first_seen DATETIME NOT NULL, last_seen DATETIME NOT NULL,
    created_at DATETIME, source_asset_id INTEGER REFERENCES assets (id)
);
CREATE TABLE signals (
    id INTEGER PRIMARY KEY, asset_id INTEGER NOT NULL REFERENCES assets (id),
    kind VARCHAR(32) NOT NULL, ai_class VARCHAR(16) NOT NULL, generator TEXT,
    family VARCHAR(64), model TEXT, prompt TEXT, parameters JSON NOT NULL,
    confidence FLOAT NOT NULL, source TEXT NOT NULL, detail JSON NOT NULL,
    found_at DATETIME NOT NULL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY, asset_id INTEGER REFERENCES assets (id), at DATETIME NOT NULL,
    user VARCHAR(200) NOT NULL, host VARCHAR(255) NOT NULL, action VARCHAR(64) NOT NULL,
    path TEXT, reason TEXT NOT NULL, before JSON NOT NULL, after JSON NOT NULL,
    prev_hash VARCHAR(64) NOT NULL, hash VARCHAR(64) NOT NULL UNIQUE
);
INSERT INTO assets VALUES (1, 'u-1', '/prod/a.png', '/prod', 10, 1, 2, 3, 'blake3:aa',
    'image/png', 'ai', 'ComfyUI', 'comfyui', 'sdxl', 'a cat', 1.0, 'temporary', NULL, NULL,
    '2026-01-01 00:00:00.000000', '2026-01-02 00:00:00.000000', NULL, NULL);
"""


def test_new_catalog_is_created_at_the_latest_version(tmp_path: Path) -> None:
    catalog = Catalog.open(f"sqlite:///{tmp_path / 'new.sqlite'}")
    with catalog.read() as tx:
        version = tx.session.execute(text("SELECT value FROM provenance_meta")).scalar_one()
    catalog.close()
    assert int(version) == LATEST
    # the partial index the migrations create (not the model), as an upgrade has it
    with sqlite3.connect(tmp_path / "new.sqlite") as new:
        sql = new.execute("SELECT sql FROM sqlite_master WHERE name = 'ix_assets_ai_size'")
        assert "WHERE ai_class != 'none'" in sql.fetchone()[0]
        sql = new.execute("SELECT sql FROM sqlite_master WHERE name = 'ix_assets_unhashed_size'")
        assert "WHERE content_hash IS NULL" in sql.fetchone()[0]


def test_old_catalog_is_upgraded_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_SCHEMA)
    catalog = Catalog.open(f"sqlite:///{path}")
    with catalog.read() as tx:
        asset = tx.asset_by_path("/prod/a.png")
        version = tx.session.execute(text("SELECT value FROM provenance_meta")).scalar_one()
        assert tx.last_scan("/prod") is None
    catalog.close()
    assert int(version) == LATEST
    # the indexes later versions added
    indexes = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'assets'"
    with sqlite3.connect(path) as old:
        upgraded = {row[0] for row in old.execute(indexes)}
    assert {
        "ix_assets_status_deadline",
        "ix_assets_status_root",
        "ix_assets_ai_size",
        "ix_assets_unhashed_size",
    } <= upgraded
    assert asset is not None
    assert asset.fingerprint is None  # a record from before partial fingerprints
    assert (asset.generator, asset.prompt, asset.present, asset.missing_since) == (
        "ComfyUI",
        "a cat",
        True,
        None,
    )


def test_catalog_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    Catalog.open(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE provenance_meta SET value = '999'")
    with pytest.raises(CatalogError, match="newer than this provenance"):
        Catalog.open(f"sqlite:///{path}")


def test_unreachable_catalog_is_a_catalog_error_without_password() -> None:
    with pytest.raises(CatalogError) as info:
        Catalog.open("postgresql+psycopg://someone:s3cret@127.0.0.1:1/nothing")
    assert "s3cret" not in str(info.value)


def test_v7_drops_the_asset_indexes_no_query_uses(catalog: Catalog) -> None:
    # a version 6 catalog, as an older release created it: with its indexes on ai_class
    # and present (on SQLite and PostgreSQL alike)
    unused = {"ix_assets_ai_class", "ix_assets_present"}
    with catalog.engine.begin() as conn:
        for name in sorted(unused):
            column = name.removeprefix("ix_assets_")
            conn.execute(text(f"CREATE INDEX {name} ON assets ({column})"))
        conn.execute(text("UPDATE provenance_meta SET value = '6'"))
    with catalog.engine.begin() as conn:
        assert migrate(conn) == LATEST
        names = _indexes(conn, "assets")
        version = conn.execute(text("SELECT value FROM provenance_meta")).scalar_one()
    assert not names & unused
    assert {"ix_assets_status", "ix_assets_status_root", "ix_assets_root"} <= names
    assert int(version) == LATEST


def test_v9_adds_the_table_of_unreadable_files(catalog: Catalog) -> None:
    # a version 8 catalog, as the release before created it: no table of unreadable files
    with catalog.engine.begin() as conn:
        conn.execute(text("DROP TABLE unreadable"))
        conn.execute(text("UPDATE provenance_meta SET value = '8'"))
    with catalog.engine.begin() as conn:
        assert migrate(conn) == LATEST
        columns = {column["name"] for column in inspect(conn).get_columns("unreadable")}
    assert {"path", "root", "reason", "attempts", "size", "mtime_ns", "last_failed"} <= columns


def test_v12_indexes_asset_paths_in_byte_order_on_postgresql(catalog: Catalog) -> None:
    # a version 11 catalog: no byte-order index of paths (SQLite's path index is one)
    postgres = catalog.engine.dialect.name == "postgresql"
    with catalog.engine.begin() as conn:
        conn.execute(text("DROP INDEX IF EXISTS ix_assets_path_bytes"))
        conn.execute(text("UPDATE provenance_meta SET value = '11'"))
    with catalog.engine.begin() as conn:
        assert migrate(conn) == LATEST
        version = conn.execute(text("SELECT value FROM provenance_meta")).scalar_one()
        found = (
            conn.execute(
                text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_assets_path_bytes'"
                    " AND schemaname = current_schema()"
                )
            ).scalar_one()
            if postgres
            else None
        )
    assert int(version) == LATEST
    if postgres:
        assert found is not None and 'COLLATE "C"' in found


def test_a_new_postgresql_catalog_has_the_byte_order_path_index(postgres_catalog: Catalog) -> None:
    with postgres_catalog.engine.begin() as conn:
        found = conn.execute(
            text(
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_assets_path_bytes'"
                " AND schemaname = current_schema()"
            )
        ).scalar_one()
    assert found == 1


def test_nodes_starting_at_once_on_a_new_postgresql_catalog_create_it_once() -> None:
    # four nodes of a fleet open the same empty catalog at the same moment: one creates the
    # schema, the others wait for it and find it made (no duplicate-type error)
    url = postgres_url()
    if url is None:
        unavailable("PostgreSQL leg not selected")
    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"
    opened: list[Catalog] = []
    failed: list[BaseException] = []
    start = threading.Barrier(4)

    def node() -> None:
        start.wait()
        try:
            opened.append(Catalog.open(f"{url}{separator}options=-csearch_path%3D{schema}"))
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=node) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert failed == [] and len(opened) == 4
        with opened[0].engine.begin() as conn:
            version = conn.execute(text("SELECT value FROM provenance_meta")).scalar_one()
        assert int(version) == LATEST
    finally:
        for catalog in opened:
            catalog.close()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


#: Each step that adds indexes: the version before it, the table, the indexes it makes, and
#: whether the catalog before it lacked them on SQLite only (PostgreSQL had them already).
INDEX_STEPS = [
    pytest.param(13, "assets", ("ix_assets_undated",), False, id="v14-movable-undated"),
    pytest.param(14, "assets", ("ix_assets_queue",), False, id="v15-uncleared-paths"),
    pytest.param(
        15, "events", ("ix_events_action_at", "ix_events_found"), False, id="v16-report-events"
    ),
    pytest.param(17, "events", ("ix_events_found",), True, id="v18-found-events-sqlite"),
    pytest.param(18, "signals", ("ix_signals_doubtful",), False, id="v19-doubtful-c2pa"),
    pytest.param(19, "assets", ("ix_assets_untooled",), False, id="v20-untooled"),
    pytest.param(20, "assets", ("ix_assets_kinds",), False, id="v21-clear-kinds"),
    pytest.param(21, "assets", ("ix_assets_unread_mark",), False, id="v22-unread-marks"),
    pytest.param(
        24, "assets", tuple(f"ix_assets_{c}" for c in SET_ONLY_COLUMNS), False, id="v25-set-only"
    ),
]


@pytest.mark.parametrize(("before", "table", "indexes", "sqlite_only"), INDEX_STEPS)
def test_each_step_makes_its_indexes_on_a_catalog_from_before_it(
    catalog: Catalog, before: int, table: str, indexes: tuple[str, ...], sqlite_only: bool
) -> None:
    # a catalog of the version before the step: none of its indexes yet
    lacking = not sqlite_only or catalog.engine.dialect.name == "sqlite"
    with catalog.engine.begin() as conn:
        for name in indexes if lacking else ():
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        conn.execute(text(f"UPDATE provenance_meta SET value = '{before}'"))
    with catalog.engine.begin() as conn:
        assert migrate(conn) == LATEST
        names = _indexes(conn, table)
    assert set(indexes) <= names


def test_v17_drops_the_index_of_events_by_action_alone(catalog: Catalog) -> None:
    # a version 16 catalog: events by action had an index of their own
    with catalog.engine.begin() as conn:
        conn.execute(text("CREATE INDEX ix_events_action ON events (action)"))
        conn.execute(text("UPDATE provenance_meta SET value = '16'"))
    with catalog.engine.begin() as conn:
        assert migrate(conn) == LATEST
        names = _indexes(conn, "events")
    assert "ix_events_action" not in names
    assert "ix_events_action_at" in names  # whose first column is the action


def test_v23_names_the_statuses_outside_each_indexed_group(catalog: Catalog) -> None:
    # a version 22 catalog: its partial indexes named the statuses in their groups; v23's
    # name those outside (UNDATED_WHERE: the movable ones), and hold the same rows
    old = "deadline IS NULL AND status IN ('temporary', 'expiring', 'flagged')"
    with catalog.engine.begin() as conn:
        conn.execute(text("DROP INDEX IF EXISTS ix_assets_undated"))
        conn.execute(text(f"CREATE INDEX ix_assets_undated ON assets (status) WHERE {old}"))
        conn.execute(text("UPDATE provenance_meta SET value = '22'"))
    assert "'temporary'" in _index_definitions(catalog)["ix_assets_undated"]
    with catalog.engine.begin() as conn:
        assert migrate(conn) == LATEST
    made = _index_definitions(catalog)
    for name in ("ix_assets_undated", "ix_assets_queue", "ix_assets_kinds"):
        assert "'not-ai'" in made[name] and "'temporary'" not in made[name], name
    named = re.findall(r"'([a-z-]+)'", UNDATED_WHERE)
    assert sorted(named) == sorted(str(s) for s in STATUSES if s not in MOVABLE)


def test_v24_tests_not_ai_first_in_the_index_of_undated_assets(catalog: Catalog) -> None:
    # a version 23 catalog: the index of the movable assets without a deadline tested every
    # status in one NOT IN, which SQLite evaluates for each row written (a file not AI too)
    old = (
        "deadline IS NULL AND status NOT IN ('not-ai', 'quarantined', 'purged', 'cleared', 'held')"
    )
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with catalog.write() as tx:
        tx.insert_assets([_row(n, status, now) for n, status in enumerate(STATUSES)])
    with catalog.engine.begin() as conn:
        conn.execute(text("DROP INDEX IF EXISTS ix_assets_undated"))
        conn.execute(text(f"CREATE INDEX ix_assets_undated ON assets (status) WHERE {old}"))
        conn.execute(text("UPDATE provenance_meta SET value = '23'"))
        before = _undated(conn, old)
    with catalog.engine.begin() as conn:
        assert migrate(conn) == LATEST
        after = _undated(conn, UNDATED_WHERE)
    made = _index_definitions(catalog)["ix_assets_undated"]
    assert made.index("'not-ai'") < made.index("deadline IS NULL") < made.index("'quarantined'")
    # the same rows: the movable statuses, not the others
    assert before == after == sorted(str(s) for s in MOVABLE)


def test_v25_indexes_only_the_assets_that_set_a_column_only_some_set(catalog: Catalog) -> None:
    # a version 24 catalog: the content hash, deadline, risk and tool status of every file
    # were indexed, NULL or not
    with catalog.engine.begin() as conn:
        for column in SET_ONLY_COLUMNS:
            conn.execute(text(f"DROP INDEX IF EXISTS ix_assets_{column}"))
            conn.execute(text(f"CREATE INDEX ix_assets_{column} ON assets ({column})"))
        conn.execute(text("UPDATE provenance_meta SET value = '24'"))
    with catalog.engine.begin() as conn:
        assert migrate(conn) == LATEST
    made = _index_definitions(catalog)
    for column in SET_ONLY_COLUMNS:
        where = made[f"ix_assets_{column}"].split("WHERE", 1)[1]
        assert where.strip(" ()") == f"{column} IS NOT NULL", made[f"ix_assets_{column}"]


def test_a_new_catalog_indexes_only_the_assets_that_set_a_column_only_some_set(
    catalog: Catalog,
) -> None:
    made = _index_definitions(catalog)
    for column in SET_ONLY_COLUMNS:
        assert "IS NOT NULL" in made[f"ix_assets_{column}"], made[f"ix_assets_{column}"]


def _row(n: int, status: str, now: datetime) -> dict[str, object]:
    return {
        "uid": f"00000000-0000-7000-8000-{n:012d}",
        "path": f"/show/file_{n}.png",
        "root": "/show",
        "size": 1,
        "mtime_ns": 1,
        "inode": n,
        "device": 1,
        "media_type": "image/png",
        "ai_class": "none" if status == "not-ai" else "ai",
        "confidence": 1.0,
        "status": status,
        "first_seen": now,
        "last_seen": now,
        "present": True,
    }


def _undated(conn: Connection, where: str) -> list[str]:
    """The statuses of the rows the index of undated assets holds."""
    return sorted(conn.execute(text(f"SELECT status FROM assets WHERE {where}")).scalars())


def _index_definitions(catalog: Catalog) -> dict[str, str]:
    if catalog.engine.dialect.name == "sqlite":
        listed = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    else:
        listed = (
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE tablename = 'assets' AND schemaname = current_schema()"
        )
    with catalog.engine.connect() as conn:
        return {row[0]: row[1] for row in conn.execute(text(listed))}


def _indexes(conn: Connection, table: str) -> set[str]:
    """The names of ``table``'s indexes, those of an expression too (``ix_assets_kinds``),
    which SQLAlchemy does not reflect on SQLite."""
    if conn.dialect.name == "sqlite":
        listed = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :table"
    else:
        listed = (
            "SELECT indexname FROM pg_indexes"
            " WHERE tablename = :table AND schemaname = current_schema()"
        )
    return {row[0] for row in conn.execute(text(listed), {"table": table})}
