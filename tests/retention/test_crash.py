"""Crash safety: a real sweep or restore killed (SIGKILL) mid-step loses nothing.

The child process is the real command line with ``PROVENANCE_TEST_CRASH_AT`` set, which
makes it kill itself at that point (see ``provenance.retention.files.crash_point``). After
``reconcile_journal`` every file exists exactly once, where the catalog says it is.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from provenance.audit import verify_chain
from provenance.catalog import Asset, Catalog
from provenance.catalog.lifecycle import open_journal_entries
from provenance.retention import reconcile_journal
from tests.retention.helpers import (
    ACTOR,
    DAY,
    T0,
    MakeAsset,
    reload,
    retention_settings,
    start_cli,
    write_config,
)


def run_cli(
    config: Path, *args: str, crash_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The command line run to its end, or to the point where it kills itself."""
    child = start_cli(config, *args, crash_at=crash_at)
    out, err = child.communicate(timeout=60)
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def assert_consistent(catalog: Catalog, assets: list[Asset]) -> None:
    """Every file exists exactly once, where its state says; nothing left half done."""
    with catalog.read() as tx:
        assert open_journal_entries(tx) == []
        assert verify_chain(e.model_dump() for e in tx.all_events()) is None
    for asset in assets:
        now = reload(catalog, asset.id)
        original, quarantined = Path(now.path), now.quarantine_path
        if now.status == "quarantined":
            assert (
                quarantined
                and Path(quarantined).read_bytes() == b"bytes of " + original.name.encode()
            )
            assert not original.exists()
        elif now.status == "purged":
            assert (
                not original.exists() and not Path(now.quarantine_path or "/nonexistent").exists()
            )
        else:
            assert original.read_bytes() == b"bytes of " + original.name.encode()
            assert quarantined is None


def flagged_pair(make_asset: MakeAsset) -> list[Asset]:
    assets = [
        make_asset(f"shots/{n}.png", status="flagged", flagged_at=T0 + 30 * DAY, sidecar=True)
        for n in ("a", "b")
    ]
    make_asset("young.png", first_seen=T0 + 10_000 * DAY)
    return assets


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ("after-journal", ["flagged", "flagged"]),
        ("after-rename", ["quarantined", "flagged"]),
    ],
)
def test_quarantine_killed_midway_is_reconciled(
    catalog: Catalog,
    make_asset: MakeAsset,
    root: Path,
    tmp_path: Path,
    point: str,
    expected: list[str],
) -> None:
    assets = flagged_pair(make_asset)
    config = write_config(tmp_path, root, catalog)
    child = run_cli(config, "sweep", crash_at=point)
    assert child.returncode == -signal.SIGKILL, child.stderr
    with catalog.read() as tx:
        assert len(open_journal_entries(tx)) == 2
    settings = retention_settings(tmp_path, root)
    recoveries, _ = reconcile_journal(catalog, settings, ACTOR, T0 + 9000 * DAY)
    assert len(recoveries) == 2
    assert [reload(catalog, a.id).status for a in assets] == expected
    assert_consistent(catalog, assets)
    if point == "after-rename":
        sidecar = root / ".provenance-quarantine" / "shots" / "a.png.xmp"
        assert sidecar.is_file()
    # and the next sweep finishes the job
    finished = run_cli(config, "sweep")
    assert finished.returncode == 0, finished.stderr
    assert_consistent(catalog, assets)


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ("after-journal", "quarantined"),
        ("after-unlink", "purged"),
    ],
)
def test_purge_killed_midway_is_reconciled(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path, point: str, expected: str
) -> None:
    assets = flagged_pair(make_asset)
    config = write_config(tmp_path, root, catalog)
    assert run_cli(config, "sweep").returncode == 0
    assert {reload(catalog, a.id).status for a in assets} == {"quarantined"}
    with catalog.write() as tx:  # quarantined long ago: purge is due now
        for asset in assets:
            row = tx.asset_by_id(asset.id)  # type: ignore[arg-type]
            row.quarantined_at = T0  # type: ignore[union-attr]
    child = run_cli(config, "sweep", crash_at=point)
    assert child.returncode == -signal.SIGKILL, child.stderr
    reconcile_journal(catalog, retention_settings(tmp_path, root), ACTOR, T0 + 9000 * DAY)
    assert reload(catalog, assets[0].id).status == expected
    assert_consistent(catalog, assets)
    if expected == "purged":
        with catalog.read() as tx:
            last = tx.events_of(assets[0].id)[-1]  # type: ignore[arg-type]
        assert last.action == "purged"
        assert last.after["receipt"]["content_hash"] == assets[0].content_hash
        assert "interrupted" in last.reason


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ("after-journal", "quarantined"),
        ("after-rename", "flagged"),
    ],
)
def test_restore_killed_midway_is_reconciled(
    catalog: Catalog, make_asset: MakeAsset, root: Path, tmp_path: Path, point: str, expected: str
) -> None:
    assets = flagged_pair(make_asset)
    config = write_config(tmp_path, root, catalog)
    assert run_cli(config, "sweep").returncode == 0
    child = run_cli(config, "restore", assets[0].path, crash_at=point)
    assert child.returncode == -signal.SIGKILL, child.stderr
    reconcile_journal(catalog, retention_settings(tmp_path, root), ACTOR, T0 + 9000 * DAY)
    assert reload(catalog, assets[0].id).status == expected
    assert_consistent(catalog, assets)
