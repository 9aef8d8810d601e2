"""Fixity: a cleared final whose bytes change is caught and loses its clearance."""

from __future__ import annotations

import json
import os
from pathlib import Path

from provenance.audit import Actor
from provenance.catalog import Catalog, utcnow
from provenance.catalog.clearance import active_clearance
from provenance.clearance.fixity import run_fixity
from provenance.config import load_settings
from provenance.daemon.scheduler import Scheduler, register_fixity
from tests.clearance.helpers import asset_at, run, write_config


def _cleared(tmp_path: Path, root: Path, catalog: Catalog) -> tuple[Path, Path]:
    config = write_config(tmp_path, root, catalog)
    assert run(config, "scan", str(root)).exit_code == 0
    poster = root / "finals" / "poster.png"
    assert run(config, "clear", str(poster), "--approval", "LEGAL-1").exit_code == 0
    return config, poster


def test_fixity_of_unchanged_finals_records_one_ok_summary(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config, _poster = _cleared(tmp_path, root, catalog)
    result = run(config, "fixity", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["checked"] == 1 and report["ok"] == 1 and report["failed"] == []
    with catalog.read() as tx:
        last = list(tx.all_events())[-1]
    assert last.action == "fixity-ok" and last.after["checked"] == 1


def test_fixity_summary_event_records_its_counts_as_fields_and_the_command_says_them(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config, poster = _cleared(tmp_path, root, catalog)
    poster.write_bytes(b"other bytes after the clearance")
    result = run(config, "fixity")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == (
        "fixity: 1 cleared files checked, 0 unchanged, 1 changed (clearance voided), 0 not checked"
    )
    with catalog.read() as tx:
        last = list(tx.all_events())[-1]
    assert last.action == "fixity-failed" and last.asset_id is None
    # the same keys as older events, so both read alike; the numbers are not in the reason
    assert last.after == {"checked": 1, "ok": 0, "failed": 1, "not_checked": 0}
    assert not any(character.isdigit() for character in last.reason or "")
    history = run(config, "log", "--limit", "1")
    assert "checked 1, ok 0, failed 1, not_checked 0; cleared files changed" in history.stdout
    assert run(config, "audit", "verify").exit_code == 0


def test_fixity_catches_a_changed_final_even_with_its_mtime_kept(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config, poster = _cleared(tmp_path, root, catalog)
    info = poster.stat()
    data = bytearray(poster.read_bytes())
    data[-20] ^= 0xFF  # silent corruption: same size, same mtime, so a scan would not look
    poster.write_bytes(bytes(data))
    os.utime(poster, ns=(info.st_atime_ns, info.st_mtime_ns))
    result = run(config, "fixity")
    assert result.exit_code == 1
    assert f"changed: {poster} (clearance voided)" in result.stdout
    asset = asset_at(catalog, poster)
    assert asset.status == "temporary" and asset.deadline is not None
    with catalog.read() as tx:
        assert active_clearance(tx, asset.id or 0) is None
        actions = [e.action for e in tx.events_of(asset.id or 0)]
    assert actions[-2:] == ["fixity-failed", "clearance-voided"]
    again = run(config, "fixity", "--json")  # nothing cleared is left to check
    assert again.exit_code == 0 and json.loads(again.stdout)["checked"] == 0


def test_run_fixity_reports_a_missing_file_without_voiding(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config, poster = _cleared(tmp_path, root, catalog)
    poster.unlink()
    report = run_fixity(load_settings(config), catalog, Actor.current(), utcnow())
    assert report.checked == 0 and report.unreadable[0]["path"] == str(poster)
    assert asset_at(catalog, poster).status == "cleared"


def test_fixity_is_registered_on_its_schedule(tmp_path: Path, root: Path, catalog: Catalog) -> None:
    settings = load_settings(write_config(tmp_path, root, catalog))
    assert settings.schedule.fixity == "0 3 * * sun"
    scheduler = Scheduler(tmp_path / "state", "UTC")
    register_fixity(scheduler, settings, catalog)
    scheduler.start(paused=True)
    try:
        next_run = scheduler.next_run("fixity")
        assert next_run is not None and next_run.weekday() == 6 and next_run.hour == 3
    finally:
        scheduler.shutdown()


def test_fixity_reassesses_risk_when_the_tools_registry_changes(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config = write_config(tmp_path, root, catalog, tools=[])
    assert run(config, "scan", str(root)).exit_code == 0
    poster = root / "finals" / "poster.png"
    assert asset_at(catalog, poster).tool_status == "unknown"
    config = write_config(tmp_path, root, catalog)  # the tool is now registered and approved
    assert run(config, "fixity").exit_code == 0
    asset = asset_at(catalog, poster)
    # the tool's rules no longer fire; what remains is a final deliverable's (one risk)
    assert asset.tool_status == "approved" and asset.risk == "high"
    assert asset.risk_rules == "NFX-INTRO,NFX-FINAL1"


def test_fixity_never_follows_a_link_out_of_the_root(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config, poster = _cleared(tmp_path, root, catalog)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / poster.name).write_bytes(poster.read_bytes())  # an exact copy, outside
    poster.parent.rename(root / "finals.real")
    poster.parent.symlink_to(outside)
    result = run(config, "fixity", "--json")
    report = json.loads(result.stdout)
    assert report["checked"] == 0 and report["ok"] == 0
    assert report["unreadable"] == [
        {"path": str(poster), "reason": "folder is a symbolic link (never followed)"}
    ]
