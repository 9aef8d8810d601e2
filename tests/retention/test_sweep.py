"""Sweeps on real files and both catalog backends: transitions, re-checks, caps, dry runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provenance.catalog import Catalog
from provenance.catalog.lifecycle import get_meta
from provenance.config import Settings
from provenance.errors import PurgeError
from provenance.retention.sweep import FINGERPRINT_KEY, plan_sweep, sweep
from tests.needs import unavailable
from tests.retention.helpers import (
    ACTOR,
    DAY,
    T0,
    MakeAsset,
    reload,
    retention_settings,
    status_of,
)


def run(catalog: Catalog, settings: Settings, days: float, **options: object):  # type: ignore[no-untyped-def]
    return sweep(catalog, settings, ACTOR, T0 + days * DAY, **options)  # type: ignore[arg-type]


def test_default_policy_flags_and_never_moves_a_byte(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path
) -> None:
    settings = retention_settings(tmp_path, root, policies=[])
    asset = make_asset("concepts/castle.png")
    keep = make_asset("concepts/kept.png", first_seen=T0 + 100 * DAY)
    run(catalog, settings, 23)
    assert status_of(catalog, asset.id) == "expiring"
    run(catalog, settings, 30)
    flagged = reload(catalog, asset.id)
    assert (flagged.status, flagged.policy, flagged.deadline) == (
        "flagged",
        "default",
        T0 + 30 * DAY,
    )
    assert status_of(catalog, keep.id) == "temporary"
    report = run(catalog, settings, 400)
    assert [(s.path, s.action) for s in report.plan.steps] == [(keep.path, "flag")]
    assert (root / "concepts" / "castle.png").is_file()
    assert (root / "concepts" / "kept.png").is_file()


def test_full_lifecycle_quarantines_then_purges_and_keeps_the_record(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings
) -> None:
    asset = make_asset("concepts/castle.png", sidecar=True)
    make_asset("concepts/young.png", first_seen=T0 + 200 * DAY)
    run(catalog, settings_purge, 30)
    assert status_of(catalog, asset.id) == "flagged"
    run(catalog, settings_purge, 36)
    assert status_of(catalog, asset.id) == "flagged"
    run(catalog, settings_purge, 37)
    quarantined = reload(catalog, asset.id)
    target = root / ".provenance-quarantine" / "concepts" / "castle.png"
    assert quarantined.status == "quarantined"
    assert quarantined.path == str(root / "concepts" / "castle.png")
    assert quarantined.quarantine_path == str(target)
    assert target.is_file() and target.with_name("castle.png.xmp").is_file()
    assert not (root / "concepts" / "castle.png").exists()
    assert not (root / "concepts" / "castle.png.xmp").exists()
    run(catalog, settings_purge, 50)
    assert target.is_file()
    run(catalog, settings_purge, 51)
    purged = reload(catalog, asset.id)
    assert (purged.status, purged.purged_at) == ("purged", T0 + 51 * DAY)
    assert not target.exists() and not target.with_name("castle.png.xmp").exists()
    with catalog.read() as tx:
        events = tx.events_of(asset.id)  # type: ignore[arg-type]
    assert [e.action for e in events] == ["indexed", "flagged", "quarantined", "purged"]
    receipt = events[-1].after["receipt"]
    assert receipt["path"] == str(root / "concepts" / "castle.png")
    assert receipt["content_hash"] == asset.content_hash
    assert (receipt["size"], receipt["rule"], receipt["by"]) == (
        asset.size,
        "purge30",
        "tester@host1",
    )


@pytest.mark.parametrize("status", ["cleared", "held"])
def test_cleared_and_held_assets_are_never_touched(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings, status: str
) -> None:
    asset = make_asset("a.png", status=status)
    make_asset("b.png", first_seen=T0 + 500 * DAY)
    for days in (30, 40, 60, 90):
        run(catalog, settings_purge, days)
    assert status_of(catalog, asset.id) == status
    assert (root / "a.png").is_file()


def test_file_changed_since_planned_is_skipped(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings
) -> None:
    asset = make_asset("a.png", status="flagged", flagged_at=T0 + 30 * DAY)
    make_asset("b.png", first_seen=T0 + 500 * DAY)
    (root / "a.png").write_bytes(b"edited by an artist after the scan")
    report = run(catalog, settings_purge, 40)
    (result,) = report.results
    assert (result.done, result.reason) == (False, "changed since planned; re-scan")
    assert status_of(catalog, asset.id) == "flagged"
    assert (root / "a.png").read_bytes() == b"edited by an artist after the scan"


def test_cleared_between_plan_and_act_is_not_moved(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings
) -> None:
    from provenance.retention.sweep import apply_sweep

    asset = make_asset("a.png", status="flagged", flagged_at=T0 + 30 * DAY)
    make_asset("b.png", first_seen=T0 + 500 * DAY)
    plan = plan_sweep(catalog, settings_purge, T0 + 40 * DAY)
    with catalog.write() as tx:
        row = tx.asset_by_id(asset.id)  # type: ignore[arg-type]
        row.status = "cleared"  # type: ignore[union-attr]
    (result,) = apply_sweep(catalog, settings_purge, plan, ACTOR, T0 + 40 * DAY)
    assert (result.done, result.reason) == (False, "now cleared (was flagged when planned)")
    assert (root / "a.png").is_file()


def test_symlink_out_of_the_root_is_never_followed(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    asset = make_asset("linked/a.png", status="flagged", flagged_at=T0 + 30 * DAY)
    make_asset("b.png", first_seen=T0 + 500 * DAY)
    os.rename(root / "linked" / "a.png", outside / "a.png")
    (root / "linked").rmdir()
    (root / "linked").symlink_to(outside)
    report = run(catalog, settings_purge, 40)
    (result,) = report.results
    assert result.reason == "folder is a symbolic link (never followed)"
    assert (outside / "a.png").is_file()
    assert status_of(catalog, asset.id) == "flagged"


def test_offline_root_is_left_alone(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path
) -> None:
    settings = retention_settings(tmp_path, root)
    settings = settings.model_copy(
        update={"roots": [settings.roots[0].model_copy(update={"marker": ".mounted"})]}
    )
    asset = make_asset("a.png")
    report = run(catalog, settings, 100)
    assert report.plan.steps == []
    assert str(root) in report.plan.offline
    assert status_of(catalog, asset.id) == "temporary"


def test_missing_file_is_not_acted_on(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings
) -> None:
    asset = make_asset("a.png", present=False)
    make_asset("b.png", first_seen=T0 + 500 * DAY)
    run(catalog, settings_purge, 100)
    assert status_of(catalog, asset.id) == "temporary"


def test_more_than_max_actions_is_refused_unless_forced(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path
) -> None:
    settings = retention_settings(tmp_path, root, max_actions_per_run=2)
    assets = [make_asset(f"f{i}.png", status="flagged", flagged_at=T0 + 30 * DAY) for i in range(3)]
    make_asset("young.png", first_seen=T0 + 500 * DAY)
    with pytest.raises(
        PurgeError,
        match=r"would quarantine or purge 3 files, more than "
        r"retention.max_actions_per_run \(2\); nothing was done",
    ):
        run(catalog, settings, 40)
    assert {status_of(catalog, a.id) for a in assets} == {"flagged"}
    run(catalog, settings, 40, force=True)
    assert {status_of(catalog, a.id) for a in assets} == {"quarantined"}


def test_quarantining_every_ai_asset_of_a_root_is_refused(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path
) -> None:
    for name in ("a.png", "b.png"):
        make_asset(name, status="flagged", flagged_at=T0 + 30 * DAY)
    make_asset("plate.exr", ai_class="none")
    with pytest.raises(PurgeError, match=r"every AI asset under .*show_a \(2 of 2\)"):
        run(catalog, retention_settings(tmp_path, root), 40)
    report = run(catalog, retention_settings(tmp_path, root, allow_purge_all=True), 40)
    assert [r.done for r in report.results] == [True, True]


def test_dry_run_lists_every_file_and_changes_nothing(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings
) -> None:
    flagged = make_asset("a.png", status="flagged", flagged_at=T0 + 30 * DAY)
    due = make_asset("b.png")
    make_asset("c.png", first_seen=T0 + 500 * DAY)
    report = run(catalog, settings_purge, 40, dry_run=True)
    assert [(s.path, s.action, s.rule) for s in report.plan.steps] == [
        (str(root / "a.png"), "quarantine", "purge30"),
        (str(root / "b.png"), "flag", "purge30"),
    ]
    assert report.results == []
    assert (status_of(catalog, flagged.id), status_of(catalog, due.id)) == ("flagged", "temporary")
    with catalog.read() as tx:
        assert get_meta(tx, FINGERPRINT_KEY) is None


def test_as_of_forecasts_every_step_and_implies_dry_run(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings
) -> None:
    asset = make_asset("a.png")
    make_asset("c.png", first_seen=T0 + 500 * DAY)
    report = sweep(catalog, settings_purge, ACTOR, T0, as_of=T0 + 60 * DAY)
    assert report.dry_run
    assert [(s.action, s.due) for s in report.plan.steps] == [
        ("flag", T0 + 30 * DAY),
        ("quarantine", T0 + 37 * DAY),
        ("purge", T0 + 51 * DAY),
    ]
    assert status_of(catalog, asset.id) == "temporary"


def test_changed_policy_reschedules_stored_deadlines(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path
) -> None:
    asset = make_asset("a.png")
    run(catalog, retention_settings(tmp_path, root, policies=[]), 1)
    assert reload(catalog, asset.id).deadline == T0 + 30 * DAY
    shorter = retention_settings(tmp_path, root, policies=[{"name": "week", "expire_after": "7d"}])
    run(catalog, shorter, 8)
    stored = reload(catalog, asset.id)
    assert (stored.status, stored.deadline, stored.policy) == ("flagged", T0 + 7 * DAY, "week")


def test_held_folder_holds_files_that_arrive_later(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings
) -> None:
    from provenance.retention.hold import hold

    (root / "legal").mkdir()  # an empty folder: a hold on a path that does not exist is refused
    hold(catalog, [str(root / "legal")], "litigation 42", ACTOR, T0)
    later = make_asset("legal/new.png")
    make_asset("other.png", first_seen=T0 + 500 * DAY)
    run(catalog, settings_purge, 45)
    assert status_of(catalog, later.id) == "held"


def test_scan_gives_new_ai_assets_a_deadline_and_sweep_retires_them(
    catalog: Catalog, root: Path, tmp_path: Path
) -> None:
    """End to end on real images: scan -> deadline at ingest -> flag -> quarantine -> purge."""
    from provenance.ingest.scan import scan
    from tests.media import write_a1111_png, write_plain_png

    write_a1111_png(root / "concepts" / "castle.png")
    write_a1111_png(root / "concepts" / "keep" / "tower.png", color="blue")
    write_plain_png(root / "plates" / "plate.png")
    settings = retention_settings(
        tmp_path,
        root,
        policies=[
            {
                "name": "concepts",
                "paths": ["concepts/*.png"],
                "action": "purge",
                "expire_after": "10d",
            },
        ],
    )
    scan(settings, catalog, ACTOR, T0)
    with catalog.read() as tx:
        castle = tx.asset_by_path(str(root / "concepts" / "castle.png"))
        tower = tx.asset_by_path(str(root / "concepts" / "keep" / "tower.png"))
        plate = tx.asset_by_path(str(root / "plates" / "plate.png"))
    assert castle is not None and tower is not None and plate is not None
    assert (castle.status, castle.deadline, castle.policy) == (
        "temporary",
        T0 + 10 * DAY,
        "concepts",
    )
    assert (tower.deadline, plate.status) == (None, "not-ai")
    for days in (10, 17):
        run(catalog, settings, days)
    scan(settings, catalog, ACTOR, T0 + 18 * DAY)  # the quarantined file is not "missing"
    assert status_of(catalog, castle.id) == "quarantined"
    run(catalog, settings, 31)
    assert status_of(catalog, castle.id) == "purged"
    assert not (root / "concepts" / "castle.png").exists()
    assert not (root / "concepts" / "castle.png.xmp").exists()
    assert (root / "concepts" / "keep" / "tower.png").is_file()
    assert status_of(catalog, tower.id) == "temporary"
    # a re-scan does not resurrect or re-index what was purged, nor walk the quarantine folder
    result = scan(settings, catalog, ACTOR, T0 + 32 * DAY)
    assert result.counts.indexed == 0
    assert status_of(catalog, castle.id) == "purged"


@pytest.fixture
def mounted(root: Path):  # type: ignore[no-untyped-def]
    """A folder inside the root that is another filesystem (a tmpfs mounted there)."""
    import shutil
    import subprocess

    folder = root / "scratch"
    folder.mkdir()
    mount = shutil.which("mount")
    if mount is None or os.geteuid() != 0:
        unavailable("mounting a tmpfs needs root and mount(8)")
    done = subprocess.run([mount, "-t", "tmpfs", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        unavailable(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_file_on_another_filesystem_than_its_root_is_not_quarantined(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings, mounted: Path
) -> None:
    # a rename across filesystems would be a copy and a delete: refused, the file stays
    asset = make_asset("scratch/castle.png", status="flagged", flagged_at=T0 + 30 * DAY)
    make_asset("b.png", first_seen=T0 + 500 * DAY)
    assert os.stat(mounted).st_dev != os.stat(root).st_dev
    report = run(catalog, settings_purge, 40)
    (result,) = report.results
    assert result.done is False
    assert result.reason == "on another filesystem than its root; a move would be a copy"
    assert status_of(catalog, asset.id) == "flagged"
    assert (mounted / "castle.png").is_file()
