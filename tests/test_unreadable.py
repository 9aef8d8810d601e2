"""A file the reader refuses is recorded with its reason and attempts, tried again by a
bounded number of scans, then left until it changes; `status`, `list --unreadable` show it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from provenance.catalog import Catalog, Unreadable
from provenance.catalog.unreadable import list_unreadable
from provenance.cli import cli
from provenance.files.readfile import CHANGED, VANISHED, Failure, FailureKind
from provenance.report.data import UNREADABLE_SHOWN
from tests.hostile import zlib_bomb
from tests.media import write_a1111_png, write_plain_png
from tests.report.sample import items_of
from tests.schemas import validate
from tests.test_daemon import DaemonProcess, daemons, start_ready
from tests.watch.conftest import wait_for

__all__ = ["daemons"]

pytestmark = pytest.mark.timeout(120)


def _config(tmp_path: Path, root: Path, catalog: Catalog, memory_mb: int = 8) -> Path:
    # 8 MiB: the zlib bomb's text, capped per file, still needs more; a plain PNG far less
    path = tmp_path / "provenance.toml"
    path.write_text(
        f"[catalog]\nurl = {json.dumps(catalog.url)}\n"
        f'[[roots]]\npath = "{root}"\n'
        f"[scan]\nworkers = 2\nread_seconds = 10.0\nread_memory_mb = {memory_mb}\n"
        "retry_unreadable = 2\n"
    )
    return path


def _cli(runner: CliRunner, config: Path, *args: str) -> Any:
    result = runner.invoke(cli, ["--config", str(config), *args])
    assert result.exit_code in (0, 3), result.output  # status: 3 when no daemon runs
    return json.loads(result.stdout) if "--json" in args else result.output


def _rows(catalog: Catalog) -> dict[str, Unreadable]:
    with catalog.read() as tx:
        return {row.path: row for row in list_unreadable(tx)}


def test_a_refused_file_is_recorded_retried_then_left_until_it_changes(
    tmp_path: Path, runner: CliRunner, catalog: Catalog
) -> None:
    root = tmp_path / "production"
    good = write_plain_png(root / "plate.png")
    bomb = zlib_bomb(root / "bombs")
    config = _config(tmp_path, root, catalog)

    first = _cli(runner, config, "scan", "--json")
    assert first["skipped"] == 1 and first["problems"][0]["path"] == str(bomb)
    row = _rows(catalog)[str(bomb)]
    assert "memory budget" in row.reason
    assert (row.root, row.attempts, row.size) == (str(root), 1, bomb.stat().st_size)
    assert row.first_failed == row.last_failed
    with catalog.read() as tx:
        assert tx.asset_by_path(str(good)) is not None  # the good file beside it is recorded
        assert tx.asset_by_path(str(bomb)) is None

    # tried again by the next two scans (retry_unreadable = 2), then no more
    for attempts in (2, 3):
        summary = _cli(runner, config, "scan", "--json")
        assert (summary["skipped"], summary["not_retried"]) == (1, 0)
        assert _rows(catalog)[str(bomb)].attempts == attempts
    for _ in range(2):
        summary = _cli(runner, config, "scan", "--json")
        assert (summary["skipped"], summary["not_retried"]) == (0, 1)
        assert _rows(catalog)[str(bomb)].attempts == 3
    assert "unreadable and unchanged, not read again: 1" in _cli(runner, config, "scan")

    status = _cli(runner, config, "status", "--json")
    assert status["unreadable"] == {"files": 1, "not_retried": 1}
    assert "files that could not be read: 1; 1 not read again" in _cli(runner, config, "status")
    (listed,) = _cli(runner, config, "list", "--unreadable", "--json")
    assert (listed["path"], listed["attempts"], listed["retried"]) == (str(bomb), 3, False)
    assert "memory budget" in listed["reason"]
    text = _cli(runner, config, "list", "--unreadable", "--under", str(root / "bombs"))
    assert str(bomb) in text and "retry when changed" in text

    # the file changes: a new version, tried again from its first attempt
    stat = bomb.stat()
    os.utime(bomb, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert _cli(runner, config, "scan", "--json")["skipped"] == 1
    assert _rows(catalog)[str(bomb)].attempts == 1

    # with a budget it fits in, it is read and recorded; its row goes
    roomy = _config(tmp_path, root, catalog, memory_mb=512)
    assert _cli(runner, roomy, "scan", "--json")["skipped"] == 0
    assert _rows(catalog) == {}
    with catalog.read() as tx:
        assert tx.asset_by_path(str(bomb)) is not None


def test_an_unreadable_file_that_is_gone_leaves_the_list(
    tmp_path: Path, runner: CliRunner, catalog: Catalog
) -> None:
    root = tmp_path / "production"
    write_plain_png(root / "plate.png")
    bomb = zlib_bomb(root / "bombs")
    config = _config(tmp_path, root, catalog)
    _cli(runner, config, "scan", "--json")
    assert set(_rows(catalog)) == {str(bomb)}
    dry = _cli(runner, config, "scan", "--dry-run", "--json")
    assert dry["skipped"] == 1 and _rows(catalog)[str(bomb)].attempts == 1  # nothing recorded
    bomb.unlink()
    _cli(runner, config, "scan", "--json")
    assert _rows(catalog) == {}
    assert (
        "no unreadable files"
        in runner.invoke(cli, ["--config", str(config), "list", "--unreadable"]).output
    )


def test_list_unreadable_takes_no_asset_filters(
    tmp_path: Path, runner: CliRunner, sqlite_catalog: Catalog
) -> None:
    config = _config(tmp_path, tmp_path, sqlite_catalog)
    result = runner.invoke(cli, ["--config", str(config), "list", "--unreadable", "--ai"])
    assert result.exit_code == 1
    assert result.output.startswith("error: --unreadable lists files, not assets")


def test_a_file_gone_or_being_written_is_not_unreadable() -> None:
    assert Failure("/x", VANISHED, FailureKind.VANISHED).transient
    assert Failure("/x", CHANGED, FailureKind.CHANGED).transient
    budget = "needs more than its memory budget (8 MiB)"
    assert not Failure("/x", budget, FailureKind.OVER_BUDGET).transient


def test_the_report_names_unreadable_files_and_anchors_the_audit_trail(
    tmp_path: Path, runner: CliRunner, catalog: Catalog
) -> None:
    root = tmp_path / "production"
    write_a1111_png(root / "castle.png")  # an AI asset: events in the audit chain
    bombs = [zlib_bomb(root / f"bombs{n}") for n in range(UNREADABLE_SHOWN + 2)]
    config = _config(tmp_path, root, catalog)
    _cli(runner, config, "scan", "--json")

    record = json.loads(_cli(runner, config, "report", "--format", "json"))
    validate(record, "report.schema.json")
    section = next(s for s in record["sections"] if s["key"] == "unreadable")
    assert section["total"] == len(bombs)
    assert [item["path"] for item in items_of(section)] == sorted(map(str, bombs))[
        :UNREADABLE_SHOWN
    ]
    assert "memory budget" in items_of(section)[0]["reason"]
    assert "`provenance list --unreadable` lists them all" in section["note"]
    assert record["roots"][0]["by_section"]["unreadable"] == len(bombs)
    markdown = _cli(runner, config, "report", "--format", "md")
    assert f"## Files that could not be read ({len(bombs)})" in markdown

    # the head the report prints is the head `audit anchor` writes and `audit verify` checks
    anchored = _cli(runner, config, "audit", "anchor")
    audit = record["audit"]
    assert f"anchored: {audit['events']} events, head {audit['head']}" in anchored
    assert audit["events"] >= 1 and audit["key_id"] and len(audit["mac"]) == 64
    assert "audit chain intact" in _cli(runner, config, "audit", "verify")
    with catalog.read() as tx:
        assert tx.newest_key_id() == audit["key_id"]


def test_the_daemon_records_a_file_it_cannot_read(
    tmp_path: Path, runner: CliRunner, catalog: Catalog, daemons: list[DaemonProcess]
) -> None:
    root = tmp_path / "production"
    root.mkdir()
    config = _config(tmp_path, root, catalog)
    with config.open("a") as stream:
        stream.write("[daemon]\nquiet_period = 0.2\npoll_interval = 0.1\n")
    daemon = start_ready(daemons, tmp_path, "--config", str(config), "daemon")
    bomb = zlib_bomb(root / "incoming")
    good = write_plain_png(root / "incoming" / "plate.png")

    def recorded() -> bool:
        with catalog.read() as tx:
            return tx.asset_by_path(str(good)) is not None and str(bomb) in _rows(catalog)

    wait_for(recorded, 60, "the good file recorded and the bomb recorded as unreadable")
    row = _rows(catalog)[str(bomb)]
    assert "memory budget" in row.reason and row.attempts == 1
    status = _cli(runner, config, "status", "--json")
    assert status["running"] and status["unreadable"]["files"] == 1
    bomb.unlink()  # gone: its row goes with it
    wait_for(lambda: _rows(catalog) == {}, 30, "the bomb's row to go")
    assert daemon.process.poll() is None, daemon.text()


def test_no_retries_waits_for_a_change_and_a_rebuild_reads_it_again(
    tmp_path: Path, runner: CliRunner, sqlite_catalog: Catalog
) -> None:
    root = tmp_path / "production"
    write_plain_png(root / "plate.png")
    bomb = zlib_bomb(root / "bombs")
    config = _config(tmp_path, root, sqlite_catalog)
    config.write_text(config.read_text().replace("retry_unreadable = 2", "retry_unreadable = 0"))
    assert _cli(runner, config, "scan", "--json")["skipped"] == 1
    assert _cli(runner, config, "scan", "--json")["not_retried"] == 1
    rebuilt = _cli(runner, config, "scan", "--rebuild", "--json")
    assert (rebuilt["skipped"], rebuilt["not_retried"]) == (1, 0)
    assert _rows(sqlite_catalog)[str(bomb)].attempts == 2
