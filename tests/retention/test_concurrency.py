"""One sweep at a time per root, whoever starts it; crash trials with the root offline.

Real processes: the command line (``python -m provenance``) beside a sweep in this
process (as the daemon runs it), or two command lines with their own state directories
(two nodes of one PostgreSQL catalog). Crash trials kill a real sweep at a random point
of its quarantine or purge (SIGKILL, no clean-up), take the root offline (marker file
removed) before recovery, and check that every file exists exactly once, where the
catalog says, after the root is back.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.catalog import Asset, Catalog
from provenance.catalog.lifecycle import open_journal_entries
from provenance.catalog.locks import root_locks
from provenance.config import Settings
from provenance.errors import PurgeError
from provenance.retention.restore import restore
from provenance.retention.sweep import sweep
from tests.retention.helpers import (
    ACTOR,
    DAY,
    REPO,
    T0,
    MakeAsset,
    reload,
    retention_settings,
    start_cli,
    write_config,
)
from tests.watch.conftest import wait_for

MARKER = ".mounted"


def finish(child: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = child.communicate(timeout=120)
    return child.returncode, out, err


def flagged(make_asset: MakeAsset, count: int, prefix: str = "shots") -> list[Asset]:
    assets = [
        make_asset(f"{prefix}/f{n:03}.png", status="flagged", flagged_at=T0, sidecar=n % 2 == 0)
        for n in range(count)
    ]
    make_asset("young.png", first_seen=T0 + 100_000 * DAY)
    return assets


def quarantined_long_ago(catalog: Catalog, assets: list[Asset]) -> None:
    with catalog.write() as tx:
        for asset in assets:
            row = tx.asset_by_id(asset.id)  # type: ignore[arg-type]
            assert row is not None
            if row.status == "quarantined":
                row.quarantined_at = T0


def actions_of(catalog: Catalog, asset: Asset) -> list[str]:
    with catalog.read() as tx:
        return [e.action for e in tx.events_of(asset.id)]  # type: ignore[arg-type]


def assert_each_file_once(catalog: Catalog, assets: list[Asset]) -> None:
    """Every file exists exactly once, where its state says; no step left half done."""
    with catalog.read() as tx:
        assert open_journal_entries(tx) == []
    for asset in assets:
        now = reload(catalog, asset.id)
        original = Path(now.path)
        content = b"bytes of " + original.name.encode()
        quarantined = Path(now.quarantine_path) if now.quarantine_path else None
        if now.status == "quarantined":
            assert quarantined is not None and quarantined.read_bytes() == content
            assert not original.exists()
        elif now.status == "purged":
            assert not original.exists()
            assert quarantined is None or not quarantined.exists()
        else:
            assert original.read_bytes() == content, now.status
            assert quarantined is None
        for action in ("quarantined", "purged"):
            assert actions_of(catalog, asset).count(action) <= 1, (asset.path, action)


def test_a_cli_sweep_beside_the_daemons_never_double_acts(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path
) -> None:
    assets = flagged(make_asset, 40)
    config = write_config(tmp_path, root, catalog, max_actions_per_run=1000)
    settings = retention_settings(tmp_path, root, max_actions_per_run=1000)
    for step in ("quarantine", "purge"):
        if step == "purge":
            quarantined_long_ago(catalog, assets)
        child = start_cli(config, "sweep", "--force", "--json")
        report = sweep(catalog, settings, ACTOR, T0 + 9000 * DAY, force=True)  # the daemon's
        code, out, err = finish(child)
        assert code == 0, err
        theirs = json.loads(out)
        # neither settled ("recovered") the other's live steps
        assert theirs["recovered"] == [] and report.recoveries == []
        done = theirs["counts"].get(step, 0) + report.counts().get(step, 0)
        if done < 40:  # one found the root busy and left it: the next sweep finishes
            assert theirs["busy_roots"] or report.plan.busy
            sweep(catalog, settings, ACTOR, T0 + 9000 * DAY, force=True)
    assert_each_file_once(catalog, assets)
    assert {reload(catalog, a.id).status for a in assets} == {"purged"}


def test_two_nodes_never_double_act(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path
) -> None:
    """Two command lines with their own state directories: on PostgreSQL, two nodes."""
    assets = flagged(make_asset, 40)
    configs = [
        write_config(
            tmp_path,
            root,
            catalog,
            state=f"node{n}",
            name=f"node{n}.toml",
            max_actions_per_run=1000,
        )
        for n in (1, 2)
    ]
    for n in (1, 2):  # a fleet shares one audit key file (README, Audit trail)
        (tmp_path / f"node{n}").mkdir(mode=0o700, exist_ok=True)
        shutil.copy2(tmp_path / "state" / "audit.key", tmp_path / f"node{n}" / "audit.key")
    for step in ("quarantine", "purge"):
        if step == "purge":
            quarantined_long_ago(catalog, assets)
        children = [start_cli(config, "sweep", "--force", "--json") for config in configs]
        outcomes = [finish(child) for child in children]
        assert all(code == 0 for code, _, _ in outcomes), [err for _, _, err in outcomes]
        reports = [json.loads(out) for _, out, _ in outcomes]
        assert all(r["recovered"] == [] for r in reports)
        if sum(r["counts"].get(step, 0) for r in reports) < 40:
            assert any(r["busy_roots"] for r in reports)
            code, _, err = finish(start_cli(configs[0], "sweep", "--force"))
            assert code == 0, err
    assert_each_file_once(catalog, assets)
    assert {reload(catalog, a.id).status for a in assets} == {"purged"}


def test_a_node_whose_roots_differ_is_not_held_up(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path
) -> None:
    other = tmp_path / "show_b"
    other.mkdir()
    mine = make_asset("a.png", status="flagged", flagged_at=T0)
    make_asset("young.png", first_seen=T0 + 100_000 * DAY)
    settings = retention_settings(tmp_path, root)
    both = settings.model_copy(
        update={"roots": [*settings.roots, settings.roots[0].model_copy(update={"path": other})]}
    )
    with root_locks(catalog, [str(other)], settings.state_path) as held:
        assert held == [str(other)]
        report = sweep(catalog, both, ACTOR, T0 + 9000 * DAY, force=True)
    assert list(report.plan.busy) == [str(other)]
    assert reload(catalog, mine.id).status == "quarantined"
    with root_locks(catalog, [str(root)], settings.state_path) as held:
        report = sweep(catalog, both, ACTOR, T0 + 9000 * DAY, force=True)
        assert list(report.plan.busy) == [str(root)]
        with pytest.raises(PurgeError, match="a sweep is running under"):
            restore(catalog, settings, mine.id or 0, ACTOR, T0 + 9000 * DAY)
    assert reload(catalog, mine.id).status == "quarantined"


def settings_with_marker(tmp_path: Path, root: Path) -> Settings:
    settings = retention_settings(tmp_path, root, max_actions_per_run=1000)
    return settings.model_copy(
        update={"roots": [settings.roots[0].model_copy(update={"marker": MARKER})]}
    )


#: Crash trials per backend in the test run: kill points drawn at random.
CRASH_TRIALS = 4


@pytest.mark.parametrize("trial", range(CRASH_TRIALS))
def test_a_sweep_killed_at_random_recovers_only_once_its_root_is_back(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path, trial: int
) -> None:
    chance = random.Random(1000 + trial)
    (root / MARKER).write_text("")
    assets = flagged(make_asset, 12)
    config = write_config(tmp_path, root, catalog, marker=MARKER, max_actions_per_run=1000)
    purge = trial % 2 == 1
    if purge:
        code, _, err = finish(start_cli(config, "sweep", "--force"))
        assert code == 0, err
        quarantined_long_ago(catalog, assets)
    point = chance.choice(["after-journal", "after-unlink" if purge else "after-rename"])
    # the journal is written once a batch; the files are moved or deleted one by one
    crash_at = f"{point}#{1 if point == 'after-journal' else chance.randint(1, 12)}"
    code, _, err = finish(start_cli(config, "sweep", "--force", crash_at=crash_at))
    assert code == -signal.SIGKILL, (crash_at, err)
    with catalog.read() as tx:
        interrupted = len(open_journal_entries(tx))
    assert interrupted > 0
    (root / MARKER).unlink()  # the root goes offline before anything recovers
    code, out, err = finish(start_cli(config, "sweep", "--force"))
    assert code == 0, err
    assert out.count("waits: root offline") == interrupted, out
    code, out, _ = finish(start_cli(config, "status", "--json"))
    assert len(json.loads(out)["interrupted"]) == interrupted
    with catalog.read() as tx:
        assert len(open_journal_entries(tx)) == interrupted  # nothing settled while offline
    (root / MARKER).write_text("")  # back
    code, out, err = finish(start_cli(config, "sweep", "--force"))
    assert code == 0, err
    assert out.count("recovered interrupted") == interrupted
    assert_each_file_once(catalog, assets)


def test_daemon_start_up_settles_interrupted_steps_before_its_first_scan(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path
) -> None:
    assets = flagged(make_asset, 6)
    config = write_config(tmp_path, root, catalog, max_actions_per_run=1000)
    code, _, err = finish(start_cli(config, "sweep", "--force", crash_at="after-rename#3"))
    assert code == -signal.SIGKILL, err
    log = tmp_path / "daemon.log"
    with log.open("wb") as stream:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "provenance", "--config", str(config), "daemon"],
            cwd=REPO,
            env={**os.environ, "PROVENANCE_CONFIG": str(config)},
            stdout=subprocess.DEVNULL,
            stderr=stream,
        )
    try:
        wait_for(
            lambda: "reconciliation scan done" in log.read_text() or daemon.poll() is not None,
            60,
            "the daemon's start-up scan",
        )
        assert daemon.poll() is None, log.read_text()
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
    text = log.read_text()
    assert text.index("interrupted quarantine") < text.index("reconciliation scan done")
    assert_each_file_once(catalog, assets)
    for asset in assets:  # the start-up scan did not take moved files for missing ones
        assert "missing" not in actions_of(catalog, asset)
