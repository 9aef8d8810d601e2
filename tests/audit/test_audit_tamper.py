"""The tamper matrix: someone who can write the catalog but cannot read the audit key edits,
inserts, deletes, forges or re-chains events, or edits a state table; `audit verify` says
so in one line and exits 1. Both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from provenance.audit import event_hash
from provenance.catalog import Catalog
from provenance.cli import cli
from provenance.config import RootSettings, Settings
from provenance.retention.hold import hold
from provenance.retention.sweep import sweep
from tests.media import write_a1111_png
from tests.retention.helpers import ACTOR, DAY, T0, MakeAsset, write_config
from tests.watch.conftest import Start


@pytest.fixture
def history(
    catalog: Catalog, make_asset: MakeAsset, settings_purge: Settings, root: Path
) -> Catalog:
    """Seven events: three indexed, one quarantined, one flagged, a hold placed, one held."""
    make_asset("a.png", status="flagged", flagged_at=T0 + 30 * DAY)
    make_asset("b.png")
    make_asset("young.png", first_seen=T0 + 500 * DAY)
    sweep(catalog, settings_purge, ACTOR, T0 + 40 * DAY)
    hold(catalog, [str(root / "young.png")], "matter 7", ACTOR, T0 + 41 * DAY)
    return catalog


def verify(runner: CliRunner, config: Path) -> Any:
    return runner.invoke(cli, ["--config", str(config), "audit", "verify"])


def sql(catalog: Catalog, statement: str, **values: Any) -> None:
    with catalog.engine.begin() as conn:
        conn.execute(text(statement), values)


def events(catalog: Catalog) -> list[dict[str, Any]]:
    with catalog.read() as tx:
        return [event.model_dump() for event in tx.all_events()]


def rechain(catalog: Catalog, rows: list[dict[str, Any]]) -> None:
    """Rewrite every event's prev_hash and hash with the public formula (no key needed)."""
    prev = "0" * 64
    for row in rows:
        digest = event_hash(prev, row)
        sql(
            catalog,
            "UPDATE events SET prev_hash = :p, hash = :h WHERE id = :i",
            p=prev,
            h=digest,
            i=row["id"],
        )
        prev = digest


def test_an_untouched_trail_verifies(
    history: Catalog, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    result = verify(runner, write_config(tmp_path, root, history))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("audit chain intact: 7 events (7 signed with key k")
    assert result.stdout.endswith("anchored heads match; state tables agree)\n")


def _edit(catalog: Catalog) -> None:
    sql(catalog, "UPDATE events SET reason = 'nothing to see' WHERE id = 2")


def _delete_middle(catalog: Catalog) -> None:
    sql(catalog, "DELETE FROM events WHERE id = 3")


def _delete_newest(catalog: Catalog) -> None:
    sql(catalog, "DELETE FROM events WHERE id = (SELECT MAX(id) FROM events)")


def _delete_newest_three(catalog: Catalog) -> None:
    sql(catalog, "DELETE FROM events WHERE id > 4")


def _delete_all(catalog: Catalog) -> None:
    sql(catalog, "DELETE FROM events")


def _forged_append(catalog: Catalog) -> None:
    last = events(catalog)[-1]
    forged = {**last, "id": last["id"] + 1, "action": "cleared", "reason": "forged", "seq": 8}
    digest = event_hash(last["hash"], forged)
    sql(
        catalog,
        'INSERT INTO events (id, asset_id, at, "user", host, action, path, reason, before, '
        "after, prev_hash, hash, seq, state, key_id, mac) SELECT :id, asset_id, at, "
        "\"user\", host, 'cleared', path, 'forged', before, after, hash, :hash, 8, state, "
        "key_id, :mac FROM events WHERE id = :last",
        id=last["id"] + 1,
        hash=digest,
        mac="0" * 64,
        last=last["id"],
    )


def _forged_append_unsigned(catalog: Catalog) -> None:
    _forged_append(catalog)
    sql(catalog, "UPDATE events SET mac = NULL, key_id = NULL WHERE reason = 'forged'")


def _rechain_after_edit(catalog: Catalog) -> None:
    rows = events(catalog)
    rows[1]["reason"] = "nothing to see"
    sql(catalog, "UPDATE events SET reason = 'nothing to see' WHERE id = :i", i=rows[1]["id"])
    rechain(catalog, rows)


def _rechain_after_delete(catalog: Catalog) -> None:
    rows = events(catalog)
    sql(catalog, "DELETE FROM events WHERE id = :i", i=rows[2]["id"])
    del rows[2]
    rechain(catalog, rows)


def _strip_every_mac(catalog: Catalog) -> None:
    sql(catalog, "UPDATE events SET mac = NULL, key_id = NULL, seq = NULL, state = NULL")


def _asset_status(catalog: Catalog) -> None:
    sql(catalog, "UPDATE assets SET status = 'cleared' WHERE path LIKE '%/b.png'")


def _asset_hash(catalog: Catalog) -> None:
    sql(catalog, "UPDATE assets SET content_hash = 'blake3:00' WHERE path LIKE '%/b.png'")


def _clearance_inserted(catalog: Catalog) -> None:
    sql(
        catalog,
        'INSERT INTO clearances (asset_id, content_hash, approval_ref, note, consent_refs, "user",'
        " host, cleared_at, risk, rules, labelled) SELECT id, content_hash, 'FAKE-1', '', '[]', "
        "'mallory', 'h', first_seen, 'low', '', false FROM assets WHERE path LIKE '%/b.png'",
    )


def _hold_released(catalog: Catalog) -> None:
    sql(catalog, "UPDATE holds SET released_at = created_at")


def _hold_inserted(catalog: Catalog) -> None:
    sql(
        catalog,
        "INSERT INTO holds (path, reason, \"user\", host, created_at) SELECT path, 'x', "
        "'mallory', 'h', first_seen FROM assets WHERE path LIKE '%/b.png'",
    )


MATRIX = [
    (_edit, "audit chain broken at event 2: its content does not match its hash (row edited)"),
    (
        _delete_middle,
        "audit chain broken at event 4: does not follow the event before it "
        "(row inserted or deleted)",
    ),
    (_delete_newest, "audit chain broken: events deleted: the head anchored at "),
    (_delete_newest_three, "audit chain broken: events deleted: the head anchored at "),
    (_delete_all, "audit chain broken: events deleted: the head anchored at "),
    (_forged_append, "its MAC does not match (edited, re-chained or forged without the key)"),
    (_forged_append_unsigned, "carries no MAC, but the key file says every event after"),
    (_rechain_after_edit, "audit chain broken at event 2: its MAC does not match"),
    (_rechain_after_delete, "audit chain broken at event 4: says it is event 4 of the chain, but"),
    (_strip_every_mac, "audit chain broken at event 1: carries no MAC"),
    (_asset_status, "audit state broken: asset 2 ("),
    (_asset_hash, "status, content hash or clearance differ from what event"),
    (_clearance_inserted, "status, content hash or clearance differ from what event"),
    (_hold_released, "audit state broken: hold on "),
    (_hold_inserted, "no audit event placed it (holds table edited)"),
]


@pytest.mark.parametrize(("tamper", "reason"), MATRIX, ids=[t.__name__[1:] for t, _ in MATRIX])
def test_tampering_is_detected_in_one_line(
    history: Catalog,
    root: Path,
    runner: CliRunner,
    tmp_path: Path,
    tamper: Any,
    reason: str,
) -> None:
    tamper(history)
    result = verify(runner, write_config(tmp_path, root, history))
    assert result.exit_code == 1, result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert reason in result.stderr


def test_the_newest_events_cannot_be_deleted_after_a_destructive_step(
    history: Catalog, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    """The hold is the newest step: its event was anchored the moment it was committed."""
    anchors = (tmp_path / "state" / "audit-anchors").read_text().splitlines()
    assert anchors[-1].split()[1:3] == ["events=7", f"head={events(history)[-1]['hash']}"]
    assert anchors[-1].endswith(" why=held,hold-placed")


def anchored(tmp_path: Path) -> list[str]:
    return (tmp_path / "state" / "audit-anchors").read_text().splitlines()


def test_events_written_since_the_last_anchor_are_anchored_when_the_catalog_closes(
    catalog: Catalog, make_asset: MakeAsset, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    make_asset("a.png")  # the process's first write: anchored at once
    make_asset("b.png")  # ingest within the hour: left for the next anchor
    assert " events=1 " in anchored(tmp_path)[-1]
    catalog.close()
    newest = events(catalog)[-1]
    assert anchored(tmp_path)[-1].split()[1:] == [
        "events=2",
        f"head={newest['hash']}",
        "why=closing",
    ]
    catalog.close()  # nothing new: no second anchor
    assert len(anchored(tmp_path)) == 2
    _delete_newest(catalog)
    result = verify(runner, write_config(tmp_path, root, catalog))
    assert result.exit_code == 1
    assert "events deleted: the head anchored at " in result.stderr


def test_a_daemon_anchors_at_its_stop_what_it_wrote_since_its_last_anchor(
    start_daemon: Start, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    write_a1111_png(root / "a.png")
    daemon = start_daemon(RootSettings(path=root, watch="native"))
    daemon.wait_asset(root / "a.png")  # the start-up scan: its first write, anchored
    write_a1111_png(root / "b.png", color="blue")
    daemon.wait_asset(root / "b.png")  # recorded within the hour: not anchored yet
    daemon.idle()
    with daemon.catalog.read() as tx:
        count, head = tx.chain_head()
    assert f" events={count} " not in anchored(tmp_path)[-1]
    daemon.stop()
    assert anchored(tmp_path)[-1].split()[1:] == [
        f"events={count}",
        f"head={head}",
        "why=daemon-stopped",
    ]
    _delete_newest(daemon.catalog)
    result = verify(runner, write_config(tmp_path, root, daemon.catalog))
    assert result.exit_code == 1
    assert "events deleted: the head anchored at " in result.stderr
