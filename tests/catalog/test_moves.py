"""Renames in the catalog on both backends: the record keeps its id, one event per asset."""

from __future__ import annotations

from provenance.audit import verify_chain
from provenance.catalog import Catalog
from tests.catalog.test_store import ACTOR, NOW, make_asset


def _seed(catalog: Catalog, *paths: str) -> None:
    with catalog.write() as tx:
        for path in paths:
            tx.add(make_asset(path, content_hash=f"blake3:{abs(hash(path)):064d}"[:71]))


def test_move_paths_keeps_the_record_and_records_the_move(catalog: Catalog) -> None:
    _seed(catalog, "/prod/seq/a.png", "/prod/seq/b.png")
    with catalog.read() as tx:
        before = tx.asset_by_path("/prod/seq/a.png")
    moves = [("/prod/seq/a.png", "/other/seq2/a.png"), ("/prod/seq/b.png", "/other/seq2/b.png")]
    with catalog.write() as tx:
        moved = tx.move_paths(moves, "/other", ACTOR, NOW, "folder renamed")
    assert [a.path for a in moved] == ["/other/seq2/a.png", "/other/seq2/b.png"]
    with catalog.read() as tx:
        after = tx.asset_by_path("/other/seq2/a.png")
        assert tx.asset_by_path("/prod/seq/a.png") is None
        assert after is not None and before is not None
        assert (after.id, after.uid, after.root) == (before.id, before.uid, "/other")
        [event] = tx.events_of(after.id)  # type: ignore[arg-type]
        assert (event.action, event.before, event.after, event.reason) == (
            "moved",
            {"path": "/prod/seq/a.png"},
            {"path": "/other/seq2/a.png"},
            "folder renamed",
        )
        events = [e.model_dump() for e in tx.all_events()]
    assert verify_chain(events) is None


def test_move_onto_a_taken_path_or_from_an_unknown_one_is_skipped(catalog: Catalog) -> None:
    _seed(catalog, "/prod/a.png", "/prod/b.png")
    moves = [("/prod/a.png", "/prod/b.png"), ("/prod/nope.png", "/prod/c.png")]
    with catalog.write() as tx:
        assert tx.move_paths(moves, "/prod", ACTOR, NOW, "renamed") == []
    with catalog.read() as tx:
        assert tx.asset_by_path("/prod/a.png") is not None
        assert tx.asset_by_path("/prod/c.png") is None


def test_known_paths_returns_stat_facts_of_known_paths_only(catalog: Catalog) -> None:
    _seed(catalog, "/prod/a.png")
    with catalog.read() as tx:
        known = tx.known_paths(["/prod/a.png", "/prod/unknown.png"])
    assert list(known) == ["/prod/a.png"]
    assert (known["/prod/a.png"].size, known["/prod/a.png"].present) == (10, True)
