"""`provenance audit verify` catches a tampered trail on both backends; `provenance log`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from provenance.catalog import Catalog
from provenance.cli import cli
from provenance.config import Settings
from provenance.retention.sweep import sweep
from tests.retention.helpers import ACTOR, DAY, T0, MakeAsset, write_config


@pytest.fixture
def history(catalog: Catalog, make_asset: MakeAsset, settings_purge: Settings) -> Catalog:
    """Five events: three indexed, one flagged, one quarantined."""
    make_asset("a.png", status="flagged", flagged_at=T0 + 30 * DAY)
    make_asset("b.png")
    make_asset("young.png", first_seen=T0 + 500 * DAY)
    sweep(catalog, settings_purge, ACTOR, T0 + 40 * DAY)
    return catalog


def verify(runner: CliRunner, config: Path):  # type: ignore[no-untyped-def]
    return runner.invoke(cli, ["--config", str(config), "audit", "verify"])


def tamper(catalog: Catalog, sql: str) -> None:
    with catalog.engine.begin() as conn:
        conn.execute(text(sql))


def test_intact_chain_verifies(
    history: Catalog, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    result = verify(runner, write_config(tmp_path, root, history))
    assert result.exit_code == 0
    assert result.stdout.startswith("audit chain intact: 5 events (5 signed with key k")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "UPDATE events SET reason = 'nothing to see' WHERE id = 2",
            "audit chain broken at event 2: its content does not match its hash (row edited)",
        ),
        (
            "DELETE FROM events WHERE id = 3",
            "audit chain broken at event 4: does not follow the event before it "
            "(row inserted or deleted)",
        ),
        (
            'INSERT INTO events (id, asset_id, at, "user", host, action, path, reason, before, '
            "after, prev_hash, hash) SELECT 99, NULL, at, 'mallory', 'h', 'purged', NULL, "
            "'forged', '{}', '{}', hash, 'f0rged' FROM events WHERE id = 5",
            "audit chain broken at event 99: its content does not match its hash (row edited)",
        ),
    ],
    ids=["update", "delete", "insert"],
)
def test_tampering_is_caught(
    history: Catalog, root: Path, runner: CliRunner, tmp_path: Path, sql: str, message: str
) -> None:
    tamper(history, sql)
    result = verify(runner, write_config(tmp_path, root, history))
    assert (result.exit_code, result.stderr) == (1, f"error: {message}\n")


def test_log_shows_one_assets_history_and_recent_events(
    history: Catalog, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    config = write_config(tmp_path, root, history)
    result = runner.invoke(cli, ["--config", str(config), "log", str(root / "a.png"), "--json"])
    assert result.exit_code == 0
    events = json.loads(result.stdout)
    assert [e["action"] for e in events] == ["indexed", "quarantined"]
    assert events[1]["after"]["quarantine_path"] == str(root / ".provenance-quarantine" / "a.png")
    # for people: one readable line per event (what changed, not Python dict text)
    text = runner.invoke(cli, ["--config", str(config), "log", str(root / "a.png")]).stdout
    indexed, quarantined = text.splitlines()
    assert "indexed" in indexed and indexed.endswith("  test fixture")
    assert "{" not in text and "'" not in text
    assert (
        "quarantined" in quarantined
        and "status " in quarantined
        and " → quarantined" in quarantined
    )
    quarantine = root / ".provenance-quarantine" / "a.png"
    assert f"quarantine_path {quarantine}" in quarantined
    result = runner.invoke(cli, ["--config", str(config), "log", "--limit", "2"])
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert "flagged" in lines[0] and "tester@host1" in lines[0]
    assert "quarantined" in lines[1]
    result = runner.invoke(cli, ["--config", str(config), "log", str(root / "nope.png")])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
