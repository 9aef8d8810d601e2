"""The catalog on both backends: round trips, queries, the audit chain."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provenance.audit import Actor, verify_chain
from provenance.catalog import Asset, Catalog, SignalRow, engine
from provenance.catalog.lifecycle import get_meta, set_meta
from provenance.errors import CatalogError

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACTOR = Actor("tester", "host1")


def make_asset(path: str, **fields: object) -> Asset:
    values: dict[str, object] = {
        "uid": f"uid-{abs(hash(path)) % 10**12:012d}",
        "path": path,
        "root": "/prod",
        "size": 10,
        "mtime_ns": 1,
        "inode": 2,
        "device": 3,
        "content_hash": "blake3:" + "a" * 64,
        "first_seen": NOW,
        "last_seen": NOW,
        **fields,
    }
    return Asset(**values)  # type: ignore[arg-type]


def test_asset_round_trip_keeps_values_and_utc(catalog: Catalog) -> None:
    deadline = NOW + timedelta(days=30)
    with catalog.write() as tx:
        tx.add(
            make_asset(
                "/prod/a.png",
                ai_class="ai",
                status="temporary",
                deadline=deadline,
                generator="ComfyUI",
                size=5 * 2**40,
                prompt="a cat, <b>",
            )
        )
    with catalog.read() as tx:
        asset = tx.asset_by_path("/prod/a.png")
    assert asset is not None
    assert asset.deadline == deadline
    assert asset.deadline.tzinfo is not None
    assert asset.size == 5 * 2**40
    assert (asset.ai_class, asset.status, asset.generator, asset.prompt) == (
        "ai",
        "temporary",
        "ComfyUI",
        "a cat, <b>",
    )


def test_signals_keep_json_and_manual_signals_survive_replacement(catalog: Catalog) -> None:
    with catalog.write() as tx:
        asset = make_asset("/prod/b.png")
        tx.add(asset)
        tx.flush()
        assert asset.id is not None
        tx.add(
            SignalRow(
                asset_id=asset.id,
                kind="manual",
                ai_class="ai",
                generator="Midjourney",
                found_at=NOW,
            )
        )
        tx.replace_signals(
            asset.id,
            [
                SignalRow(
                    asset_id=0,
                    kind="sd-text",
                    ai_class="ai",
                    parameters={"seed": 42, "steps": [1, 2]},
                    found_at=NOW,
                )
            ],
        )
    with catalog.read() as tx:
        found = tx.asset_by_path("/prod/b.png")
        assert found is not None and found.id is not None
        rows = tx.signals_of(found.id)
    assert sorted(r.kind for r in rows) == ["manual", "sd-text"]
    assert next(r for r in rows if r.kind == "sd-text").parameters == {"seed": 42, "steps": [1, 2]}


def test_list_filters_and_prefix_match_is_by_folder_not_string(catalog: Catalog) -> None:
    with catalog.write() as tx:
        tx.add(make_asset("/prod/show/a.png", ai_class="ai", status="temporary"))
        tx.add(make_asset("/prod/show2/b.png", ai_class="ai", status="flagged"))
        tx.add(make_asset("/prod/show/c.jpg"))
    with catalog.read() as tx:
        under = [a.path for a in tx.list_assets(under="/prod/show")]
        ai = [a.path for a in tx.list_assets(ai_only=True)]
        flagged = [a.path for a in tx.list_assets(statuses=["flagged"])]
        counts = tx.count_by_status()
    assert under == ["/prod/show/a.png", "/prod/show/c.jpg"]
    assert ai == ["/prod/show/a.png", "/prod/show2/b.png"]
    assert flagged == ["/prod/show2/b.png"]
    assert counts == {"temporary": 1, "flagged": 1, "not-ai": 1}


def test_under_a_folder_reads_its_range_and_leaves_out_siblings_it_takes_in(
    catalog: Catalog,
) -> None:
    # the range of the path index ("/prod/show" up to "/prod/show0") also holds these
    # siblings: names whose next byte sorts before "0" ("." "-" " " "!") and the folder's
    # own name as a file
    paths = [
        "/prod/show",
        "/prod/show/a/b.png",
        "/prod/show/z.png",
        "/prod/show.old/x.png",
        "/prod/show-2/x.png",
        "/prod/show 3/x.png",
        "/prod/show!/x.png",
        "/prod/show0/x.png",
        "/prod/shox/x.png",
        "/prod/sho/x.png",
    ]
    with catalog.write() as tx:
        for path in paths:
            tx.add(make_asset(path, ai_class="ai", status="temporary"))
    with catalog.read() as tx:
        listed = [a.path for a in tx.list_assets(under="/prod/show")]
        with_slash = [a.path for a in tx.list_assets(under="/prod/show/")]
        first = [a.path for a in tx.list_assets(under="/prod/show", limit=2)]
        folder = [a.path for a in tx.assets_under("/prod/show")]
    assert listed == folder == ["/prod/show", "/prod/show/a/b.png", "/prod/show/z.png"]
    assert with_slash == ["/prod/show/a/b.png", "/prod/show/z.png"]
    assert first == ["/prod/show", "/prod/show/a/b.png"]


def test_audit_chain_links_every_event(catalog: Catalog) -> None:
    with catalog.write() as tx:
        asset = make_asset("/prod/c.png")
        tx.add(asset)
        for number in range(5):
            tx.record(
                ACTOR,
                "indexed",
                NOW + timedelta(seconds=number),
                asset=asset,
                reason=f"n{number}",
                before={"n": number},
                after={"n": number + 1},
            )
    with catalog.read() as tx:
        events = [e.model_dump() for e in tx.all_events()]
    assert len(events) == 5
    assert verify_chain(events) is None
    assert events[1]["prev_hash"] == events[0]["hash"]


def test_audit_chain_catches_an_edited_event(catalog: Catalog) -> None:
    with catalog.write() as tx:
        for number in range(3):
            tx.record(ACTOR, "indexed", NOW, path=f"/prod/{number}", reason="ok")
    with catalog.read() as tx:
        events = [e.model_dump() for e in tx.all_events()]
    events[1]["reason"] = "tampered"
    broken = verify_chain(events)
    assert broken is not None
    assert broken.event_id == events[1]["id"]
    del events[1]
    assert verify_chain(events) is not None


def test_known_files_come_in_the_walks_order_a_page_at_a_time(catalog: Catalog) -> None:
    # code point order whatever the database's collation (PostgreSQL's may ignore case and
    # punctuation), only the root's files (not a sibling root's, nor one nested in it)
    names = ["a.png", "a/b.png", "a-b.png", "a0.png", "B.png", "b.png", "é.png", "Z/y.png"]
    with catalog.write() as tx:
        for n, name in enumerate(names):
            tx.add(make_asset(f"/prod/{name}", size=n, mtime_ns=8, inode=9))
        tx.add(make_asset("/prod/deep/x.png", root="/prod/deep"))
        tx.add(make_asset("/prod0/x.png", root="/prod0"))
        tx.add(make_asset("/pro/x.png", root="/pro"))
    with catalog.read() as tx:
        every = list(tx.known_files_in_order("/prod"))
        first = list(tx.known_files_in_order("/prod", limit=3))
        rest = list(tx.known_files_in_order("/prod", after=first[-1][0]))
    assert [path for path, _ in every] == sorted(f"/prod/{name}" for name in names)
    assert first + rest == every
    facts = dict(every)["/prod/a0.png"]
    assert (facts.size, facts.mtime_ns, facts.inode, facts.present) == (3, 8, 9, True)


def test_bulk_inserted_rows_read_back_like_orm_rows(catalog: Catalog) -> None:
    from provenance.audit import verify_chain
    from provenance.catalog import EventSpec

    row = make_asset("/prod/bulk.png", ai_class="ai", status="temporary").model_dump(exclude={"id"})
    row["deadline"] = NOW + timedelta(days=3, microseconds=7)
    with catalog.write() as tx:
        tx.insert_assets([row])
        tx.insert_signals(
            [
                {
                    "asset_id": row["id"],
                    "kind": "sd-text",
                    "ai_class": "ai",
                    "generator": "A1111",
                    "family": "a1111",
                    "model": None,
                    "prompt": None,
                    "parameters": {"seed": 1},
                    "confidence": 1.0,
                    "source": "PNG tEXt",
                    "detail": {},
                    "found_at": NOW,
                }
            ]
        )
        tx.record_many(
            ACTOR, NOW, [EventSpec("indexed", row["id"], row["path"], "bulk", {}, {"a": [1]})]
        )
        tx.record(ACTOR, "modified", NOW + timedelta(seconds=1), path="/prod/bulk.png")
    with catalog.read() as tx:
        asset = tx.asset_by_path("/prod/bulk.png")
        assert asset is not None and asset.id == row["id"]
        signals = tx.signals_of(asset.id)
        events = [e.model_dump() for e in tx.all_events()]
    assert asset.deadline == row["deadline"] and asset.first_seen == NOW
    assert asset.present is True
    assert signals[0].parameters == {"seed": 1}
    assert events[0]["after"] == {"a": [1]}
    assert verify_chain(events) is None


@pytest.mark.postgres
def test_postgresql_plans_each_probe_for_its_own_values(postgres_catalog: Catalog) -> None:
    # A statement psycopg prepared after five runs could keep a generic plan made while the
    # table was small (a sequential scan): an ingest's per-batch "which of these hashes do
    # you have?" then slowed with the table, and a first scan of 200,000 files took 20
    # minutes instead of one. Nothing is prepared on the server.
    with postgres_catalog.write() as tx:
        tx.add(make_asset("/prod/a.png"))
    with postgres_catalog.read() as tx:
        for _ in range(10):
            tx.assets_by_hashes(["blake3:" + "a" * 64, "blake3:" + "b" * 64])
        prepared = tx.session.connection().exec_driver_sql(
            "SELECT count(*) FROM pg_prepared_statements"
        )
        assert prepared.scalar() == 0


def test_long_lists_are_asked_for_in_slices_of_in_chunk() -> None:
    from provenance.catalog.chunks import IN_CHUNK, in_chunks

    values = list(range(2 * IN_CHUNK + 201))
    slices = list(in_chunks(values))
    assert [len(s) for s in slices] == [IN_CHUNK, IN_CHUNK, 201]
    assert [v for s in slices for v in s] == values
    assert list(in_chunks([])) == []


def test_bulk_rows_of_different_shapes_keep_their_values_and_order(catalog: Catalog) -> None:
    # rows that leave different columns unset (None) go in as separate inserts on SQLite;
    # what is read back, and the order of rows the table numbers itself, stay the same
    rows = []
    for n in range(6):
        ai = n % 2 == 0
        row = make_asset(f"/prod/shape{n}.png").model_dump(exclude={"id"})
        row.update(
            ai_class="ai" if ai else "none",
            status="temporary" if ai else "not-ai",
            generator="ComfyUI" if ai else None,
            deadline=NOW + timedelta(days=n) if ai else None,
            uid=f"uid-shape-{n}",
        )
        rows.append(row)
    signals = [
        {
            "asset_id": 0,
            "kind": "sd-text",
            "ai_class": "ai",
            "generator": "ComfyUI",
            "family": "comfyui",
            "model": f"model {n}" if n % 3 == 0 else None,
            "prompt": None,
            "parameters": {},
            "confidence": 1.0,
            "source": f"signal {n}",
            "detail": {},
            "found_at": NOW,
        }
        for n in range(7)
    ]
    with catalog.write() as tx:
        tx.insert_assets(rows)
        for signal in signals:
            signal["asset_id"] = rows[0]["id"]
        tx.insert_signals(signals)
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)
    with catalog.read() as tx:
        for row in rows:
            asset = tx.asset_by_path(row["path"])
            assert asset is not None
            assert (asset.id, asset.uid, asset.generator, asset.deadline) == (
                row["id"],
                row["uid"],
                row["generator"],
                row["deadline"],
            )
        read = tx.signals_of(rows[0]["id"])
    assert [(s.source, s.model) for s in sorted(read, key=lambda s: s.id or 0)] == [
        (s["source"], s["model"]) for s in signals
    ]


def test_bulk_none_in_a_not_null_column_is_refused(catalog: Catalog) -> None:
    row = make_asset("/prod/no-kind.png").model_dump(exclude={"id"})
    with catalog.write() as tx:
        tx.insert_assets([row])
    signal = {
        "asset_id": row["id"],
        "kind": None,
        "ai_class": "ai",
        "parameters": {},
        "confidence": 1.0,
        "source": "x",
        "detail": {},
        "found_at": NOW,
    }
    with pytest.raises(CatalogError, match=r"(?i)null"), catalog.write() as tx:
        tx.insert_signals([signal])


def test_write_while_another_writer_holds_the_catalog_fails_with_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the busy catalog is told apart by SQLite's error code, not by its message
    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "catalog.sqlite"
    catalog = Catalog.open(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        busy = pytest.raises(CatalogError, match=r"catalog write failed: .*another process")
        with busy, catalog.write() as tx:
            tx.add(make_asset("/prod/a.png"))
        other.rollback()
        with catalog.write() as tx:
            tx.add(make_asset("/prod/a.png"))
        with catalog.read() as tx:
            assert tx.asset_by_path("/prod/a.png") is not None
    finally:
        other.close()
        catalog.close()


def test_any_database_error_in_a_transaction_is_a_catalog_error(catalog: Catalog) -> None:
    # SQLAlchemy's own errors too (here: no row where one was required), not only the driver's
    from sqlalchemy import select

    with pytest.raises(CatalogError, match=r"catalog read failed"), catalog.read() as tx:
        tx.session.execute(select(Asset)).one()

    def add_then_fail() -> None:
        with catalog.write() as tx:
            tx.add(make_asset("/prod/a.png"))
            tx.session.execute(select(Asset).where(Asset.path == "/prod/b.png")).one()

    with pytest.raises(CatalogError, match=r"catalog write failed"):
        add_then_fail()
    with catalog.read() as tx:  # and the write was rolled back
        assert tx.asset_by_path("/prod/a.png") is None


def test_two_writers_store_one_new_meta_key(catalog: Catalog) -> None:
    """Two nodes storing a key neither has yet both succeed (a sweep's fingerprint, say):
    the second waits for the first and overwrites it, never fails on the primary key."""
    started = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            started.wait(5)
            with catalog.write() as tx:
                set_meta(tx, "race", "second")
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    thread = threading.Thread(target=second)
    with catalog.write() as tx:
        set_meta(tx, "race", "first")
        thread.start()
        started.set()
        time.sleep(0.3)  # the second writer is now waiting on this transaction
    thread.join(10)
    assert not errors
    with catalog.read() as tx:
        assert get_meta(tx, "race") == "second"
