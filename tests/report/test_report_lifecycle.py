"""The report over a real lifecycle: sweeps flag, quarantine and purge real files."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from provenance.catalog import Catalog
from provenance.report.build import build_report
from provenance.report.data import Period
from provenance.report.render_text import render_json
from provenance.retention.sweep import sweep
from tests.report.sample import items_of
from tests.retention.helpers import ACTOR, DAY, T0, MakeAsset, retention_settings


def test_report_follows_assets_through_quarantine_and_purge(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path
) -> None:
    settings = retention_settings(tmp_path, root, allow_purge_all=True)
    old = make_asset("concepts/old castle.png")
    soon = make_asset("concepts/soon.png", first_seen=T0 + 15 * DAY)
    for day in (31, 39):  # flagged at the deadline, quarantined after the 7-day grace
        sweep(catalog, settings, ACTOR, T0 + day * DAY)

    report = build_report(catalog, settings, Period(T0 + 40 * DAY), T0 + 40 * DAY)
    (quarantined,) = report.section("quarantined").items
    assert quarantined.path == old.path
    assert quarantined.when == T0 + 39 * DAY + 14 * DAY  # quarantine_for of policy purge30
    assert quarantined.days_left == 13
    assert ".provenance-quarantine" in quarantined.reference
    assert quarantined.commands == (f"provenance restore '{old.path}'",)
    (expiring,) = report.section("expiring").items
    assert (expiring.path, expiring.status, expiring.rule) == (soon.path, "expiring", "purge30")
    assert expiring.days_left == 5

    sweep(catalog, settings, ACTOR, T0 + 54 * DAY)  # the bytes go
    report = build_report(catalog, settings, Period(T0 + 55 * DAY), T0 + 55 * DAY)
    (purged,) = report.section("purged").items
    assert (purged.path, purged.rule, purged.size) == (old.path, "purge30", old.size)
    assert purged.content_hash == old.content_hash
    assert purged.who == "tester@host1"
    assert report.section("quarantined").items == ()
    record = json.loads(render_json(report))
    assert record["trend"][-1]["purged"] == 1
    assert record["totals"]["purged"] == 1


def test_report_calls_out_a_scanned_asset_from_an_unknown_tool(
    tmp_path: Path, catalog: Catalog
) -> None:
    from provenance.config import RootSettings, Settings
    from provenance.config.clearance import ToolSettings
    from provenance.ingest.scan import scan
    from tests.media import write_a1111_png

    root = tmp_path / "show"
    write_a1111_png(root / "concepts" / "castle.png")
    settings = Settings(state_dir=tmp_path / "state", roots=[RootSettings(path=root)])
    scan(settings, catalog, ACTOR, T0)
    report = build_report(catalog, settings, Period(as_of=T0, days=7), T0)
    # no tools registry: every tool is unknown, so that is one alert with a count, no rows
    data = json.loads(render_json(report))
    attention = next(s for s in data["sections"] if s["key"] == "attention")
    assert attention["groups"] == []
    assert [(a["kind"], a["count"]) for a in data["alerts"]] == [("no-tools-registry", 1)]
    # with a registry that does not know the tool, the asset is named, by its folder
    tools = [ToolSettings(name="Firefly", approved=True)]
    clearance = settings.clearance.model_copy(update={"tools": tools})
    settings = settings.model_copy(update={"clearance": clearance})
    data = json.loads(render_json(build_report(catalog, settings, Period(T0, 7), T0)))
    attention = next(s for s in data["sections"] if s["key"] == "attention")
    (group,) = attention["groups"]
    assert group["folder"] == "concepts" and group["count"] == 1
    assert [Path(item["path"]).name for item in group["items"]] == ["castle.png"]
    assert "unknown tool" in group["items"][0]["reason"]
    assert group["command"].startswith("provenance clear ")
    assert "no-tools-registry" not in {a["kind"] for a in data["alerts"]}


def test_report_lists_a_killed_quarantine_that_waits_for_its_offline_root(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path
) -> None:
    from tests.retention.helpers import write_config
    from tests.retention.test_crash import flagged_pair, run_cli

    assets = flagged_pair(make_asset)
    config = write_config(tmp_path, root, catalog)
    child = run_cli(config, "sweep", crash_at="after-journal")  # killed after journaling
    assert child.returncode == -signal.SIGKILL, child.stderr
    away = root.rename(root.with_name("unmounted"))  # the root goes offline meanwhile

    shown = run_cli(config, "report", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    waiting = next(s for s in record["sections"] if s["key"] == "waiting")
    assert sorted(item["path"] for item in items_of(waiting)) == sorted(a.path for a in assets)
    assert all(item["status"] == "quarantine" for item in items_of(waiting))
    assert all(item["reason"].startswith("root offline") for item in items_of(waiting))
    assert all(".provenance-quarantine" in item["reference"] for item in items_of(waiting))
    markdown = run_cli(config, "report", "--format", "md").stdout
    assert "## Interrupted steps waiting to finish (2)" in markdown

    away.rename(root)  # back: the next sweep settles the steps, and the report shows none
    assert run_cli(config, "sweep").returncode == 0
    record = json.loads(run_cli(config, "report", "--format", "json").stdout)
    assert next(s for s in record["sections"] if s["key"] == "waiting")["groups"] == []
