"""`provenance sweep` acting on bytes: its output, dry runs, refusals, and purge re-checks."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from provenance.catalog import Catalog
from provenance.cli import cli
from provenance.config import Settings
from provenance.retention.restore import restore
from provenance.retention.sweep import sweep
from tests.retention.helpers import (
    ACTOR,
    DAY,
    T0,
    MakeAsset,
    reload,
    status_of,
    write_config,
    write_file,
)


def due_files(make_asset: MakeAsset) -> tuple[object, object]:
    flagged = make_asset("shots/a.png", status="flagged", flagged_at=T0 + 30 * DAY)
    due = make_asset("shots/b.png")
    make_asset("young.png", first_seen=T0 + 100_000 * DAY)
    return flagged, due


def edit_in_quarantine(catalog: Catalog, asset_id: int | None) -> Path:
    """Change the bytes of an asset's quarantined copy, as someone might; return the copy."""
    moved = Path(reload(catalog, asset_id).quarantine_path or "")
    moved.write_bytes(b"someone edited the quarantined copy")
    return moved


def test_sweep_dry_run_says_dry_run_on_every_line_and_changes_nothing(
    catalog: Catalog, make_asset: MakeAsset, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    flagged, due = due_files(make_asset)
    config = write_config(tmp_path, root, catalog)
    result = runner.invoke(cli, ["--config", str(config), "sweep", "--dry-run"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"dry run: would quarantine {root / 'shots/a.png'} (rule purge30: flagged "
        "and not cleared within 7d grace)"
    )
    assert lines[1].startswith(
        f"dry run: would flag {root / 'shots/b.png'} (rule purge30: deadline "
    )
    assert lines[2] == "dry run: sweep: 1 flag, 1 quarantine"
    assert all("dry run" in line for line in lines)
    assert (status_of(catalog, flagged.id), status_of(catalog, due.id)) == ("flagged", "temporary")  # type: ignore[attr-defined]
    assert (root / "shots" / "a.png").is_file()


def test_sweep_acts_and_reports_each_file(
    catalog: Catalog, make_asset: MakeAsset, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    flagged, _due = due_files(make_asset)
    config = write_config(tmp_path, root, catalog)
    result = runner.invoke(cli, ["--config", str(config), "sweep", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["counts"] == {"flag": 1, "quarantine": 1}
    assert [(s["action"], s["done"]) for s in report["steps"]] == [
        ("quarantine", True),
        ("flag", True),
    ]
    assert (root / ".provenance-quarantine" / "shots" / "a.png").is_file()
    assert status_of(catalog, flagged.id) == "quarantined"  # type: ignore[attr-defined]


def test_as_of_lists_future_steps_with_dates(
    catalog: Catalog, make_asset: MakeAsset, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    make_asset("a.png", first_seen=T0 + 100_000 * DAY)  # far future: nothing due by then
    config = write_config(tmp_path, root, catalog)
    result = runner.invoke(cli, ["--config", str(config), "sweep", "--as-of", "2026-12-31"])
    assert (result.exit_code, result.stdout) == (0, "dry run: sweep: nothing due\n")
    result = runner.invoke(cli, ["--config", str(config), "sweep", "--as-of", "2026-13-45"])
    assert result.exit_code == 2


def test_refused_sweep_prints_one_error_line_and_does_nothing(
    catalog: Catalog, make_asset: MakeAsset, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    flagged, _ = due_files(make_asset)
    config = write_config(tmp_path, root, catalog, max_actions_per_run=0 + 1)
    make_asset("shots/c.png", status="flagged", flagged_at=T0 + 30 * DAY)
    result = runner.invoke(cli, ["--config", str(config), "sweep"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "error: sweep would quarantine or purge 2 files, more than "
        "retention.max_actions_per_run (1); nothing was done"
    )
    assert status_of(catalog, flagged.id) == "flagged"  # type: ignore[attr-defined]
    result = runner.invoke(cli, ["--config", str(config), "sweep", "--force"])
    assert result.exit_code == 0


def test_quarantine_never_overwrites_a_file_already_in_quarantine(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings
) -> None:
    flagged, _ = due_files(make_asset)
    earlier = write_file(root / ".provenance-quarantine" / "shots" / "a.png", b"an older copy")
    report = sweep(catalog, settings_purge, ACTOR, T0 + 40 * DAY)
    skipped = [r for r in report.results if not r.done]
    assert [r.reason for r in skipped] == [f"{earlier} already exists in quarantine"]
    assert earlier.read_bytes() == b"an older copy"
    assert status_of(catalog, flagged.id) == "flagged"  # type: ignore[attr-defined]


def test_purge_skips_a_quarantined_file_that_changed(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings
) -> None:
    flagged, _ = due_files(make_asset)
    sweep(catalog, settings_purge, ACTOR, T0 + 40 * DAY)
    moved = edit_in_quarantine(catalog, flagged.id)  # type: ignore[attr-defined]
    report = sweep(catalog, settings_purge, ACTOR, T0 + 60 * DAY)
    (purge,) = [r for r in report.results if r.step.action == "purge"]
    assert (purge.done, purge.reason) == (
        False,
        f"its bytes changed in quarantine: restore it (provenance restore {flagged.path}) "  # type: ignore[attr-defined]
        "or purge it anyway (provenance sweep --changed)",
    )
    assert moved.is_file()
    assert status_of(catalog, flagged.id) == "quarantined"  # type: ignore[attr-defined]


def test_a_file_changed_in_quarantine_is_purged_with_changed_and_its_receipt_says_so(
    catalog: Catalog, make_asset: MakeAsset, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    flagged, _ = due_files(make_asset)
    config = write_config(tmp_path, root, catalog)
    assert runner.invoke(cli, ["--config", str(config), "sweep"]).exit_code == 0
    moved = edit_in_quarantine(catalog, flagged.id)  # type: ignore[attr-defined]
    with catalog.write() as tx:
        row = tx.asset_by_id(flagged.id)  # type: ignore[attr-defined]
        row.quarantined_at = T0  # type: ignore[union-attr]
    result = runner.invoke(cli, ["--config", str(config), "sweep"])
    assert "its bytes changed in quarantine" in result.stdout
    assert moved.is_file()
    result = runner.invoke(cli, ["--config", str(config), "sweep", "--changed"])
    assert result.exit_code == 0, result.stderr
    assert not moved.exists()
    with catalog.read() as tx:
        last = tx.events_of(flagged.id)[-1]  # type: ignore[attr-defined]
    assert last.action == "purged"
    assert last.after["receipt"]["found_hash"] != flagged.content_hash  # type: ignore[attr-defined]
    assert "changed in quarantine" in last.reason


def test_a_file_changed_in_quarantine_can_be_restored(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings
) -> None:
    flagged, _ = due_files(make_asset)
    sweep(catalog, settings_purge, ACTOR, T0 + 40 * DAY)
    edit_in_quarantine(catalog, flagged.id)  # type: ignore[attr-defined]
    restored = restore(catalog, settings_purge, flagged.id, ACTOR, T0 + 41 * DAY)  # type: ignore[attr-defined]
    assert restored.changed
    assert (root / "shots" / "a.png").read_bytes() == b"someone edited the quarantined copy"
    assert status_of(catalog, flagged.id) == "flagged"  # type: ignore[attr-defined]
    with catalog.read() as tx:
        last = tx.events_of(flagged.id)[-1]  # type: ignore[attr-defined]
    assert last.action == "restored" and last.after["changed_in_quarantine"] is True
    assert "its bytes changed in quarantine" in (last.reason or "")


def test_purge_receipt_says_when_other_hard_links_keep_the_bytes(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings
) -> None:
    flagged, _ = due_files(make_asset)
    os.link(root / "shots" / "a.png", root / "a-second-name.png")
    sweep(catalog, settings_purge, ACTOR, T0 + 40 * DAY)
    report = sweep(catalog, settings_purge, ACTOR, T0 + 60 * DAY)
    assert [r.done for r in report.results if r.step.action == "purge"] == [True]
    with catalog.read() as tx:
        last = tx.events_of(flagged.id)[-1]  # type: ignore[attr-defined]
    assert last.after["receipt"]["bytes_deleted"] is False
    assert last.after["receipt"]["other_links"] == 1
    assert "1 other hard link(s) keep the bytes" in last.reason
    assert (root / "a-second-name.png").is_file()
