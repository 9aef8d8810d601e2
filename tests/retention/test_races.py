"""Races against a user who swaps folders for links while sweeps, restores and tags run.

Outside the root sits bait: files with the very names and bytes of the ones being swept,
so that only confinement (no link followed, every act relative to the folders opened from
the root) keeps them safe. After every trial the outside tree is exactly as it was: no
file touched, moved, deleted or created; and inside the root every file that was not
purged exists exactly once.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from provenance.catalog import Asset, Catalog
from provenance.config import Settings
from provenance.errors import PurgeError
from provenance.files.hashing import hash_file
from provenance.ingest.tags import tag_record
from provenance.retention.restore import restore
from provenance.retention.sweep import sweep
from provenance.tagging.sidecar import write_sidecar
from tests.retention.helpers import ACTOR, DAY, T0, MakeAsset, reload

#: Trials per backend in the test run (tests/benchmarks/bench_races.py runs more).
TRIALS = 40
QUARANTINE = ".provenance-quarantine"


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every entry under ``folder`` (links not followed): inode, mtime and bytes."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
            found[str(path.relative_to(folder))] = (info.st_ino, info.st_mtime_ns, data)
    return found


def contents_under(root: Path) -> list[bytes]:
    """The bytes of every regular file under ``root`` (links not followed)."""
    found = []
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                found.append(path.read_bytes())
    return found


class Swapper:
    """A thread that swaps folders for links to ``targets`` in a tight loop, and back."""

    def __init__(self, folders: list[Path], targets: list[Path]) -> None:
        self.folders, self.targets = folders, targets
        self.swaps = 0
        #: Held by the swapper through each swap; the test takes it to write its fixtures.
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="swapper", daemon=True)

    def _run(self) -> None:
        turn = 0
        while not self._stop.is_set():
            folder = self.folders[turn % len(self.folders)]
            target = self.targets[(turn // len(self.folders)) % len(self.targets)]
            turn += 1
            with self.lock:
                self._swap(folder, target)

    def _swap(self, folder: Path, target: Path) -> None:
        aside = folder.with_name(folder.name + ".real")
        try:
            os.rename(folder, aside)
        except OSError:
            return
        try:
            folder.symlink_to(target, target_is_directory=True)
            self.swaps += 1
            os.sched_yield()
            folder.unlink()
        except OSError:
            pass
        # a restore may have made the folder again meanwhile: then it stays aside
        with contextlib.suppress(OSError):
            os.rename(aside, folder)

    @contextmanager
    def running(self) -> Iterator[Swapper]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


def bait(outside: Path, relative: str, content: bytes) -> None:
    for place in (outside / relative, outside / "quarantine" / relative):
        place.parent.mkdir(parents=True, exist_ok=True)
        place.write_bytes(content)


def make_flagged(make_asset: MakeAsset, outside: Path, trial: int, count: int) -> list[Asset]:
    assets = []
    for n in range(count):
        name = f"t{trial}_{n}.png"
        content = f"bytes of {name}".encode()
        assets.append(
            make_asset(f"shots/{name}", status="flagged", flagged_at=T0 + 30 * DAY, sidecar=True)
        )
        if not (outside / name).exists():
            bait(outside, name, content)
    return assets


def bait_all(outside: Path, trials: int, count: int) -> None:
    """Write the bait of every trial before the outside tree is snapshotted."""
    for trial in range(trials):
        for n in range(count):
            name = f"t{trial}_{n}.png"
            bait(outside, name, f"bytes of {name}".encode())
            (outside / f"{name}.xmp").write_bytes(b"<x:xmpmeta/>")


def force_purge_due(catalog: Catalog, assets: list[Asset]) -> None:
    with catalog.write() as tx:
        for asset in assets:
            row = tx.asset_by_id(asset.id)  # type: ignore[arg-type]
            if row is not None and row.status == "quarantined":
                row.quarantined_at = T0


def run_trials(
    catalog: Catalog,
    settings: Settings,
    make_asset: MakeAsset,
    root: Path,
    outside: Path,
    trials: int,
    before_act: Callable[[str], None] | None = None,
    pause: contextlib.AbstractContextManager[object] | None = None,
) -> dict[str, int]:
    """Sweep (quarantine), restore, write sidecars and sweep (purge), ``trials`` times."""
    counts = {"sweeps": 0, "restores": 0, "sidecars": 0, "done": 0, "refused": 0}
    make_asset("keep/young.png", first_seen=T0 + 100_000 * DAY)
    make_asset("keep/young2.png", first_seen=T0 + 100_000 * DAY)
    now = T0 + 40 * DAY
    for trial in range(trials):
        with pause or contextlib.nullcontext():
            (root / "shots").mkdir(exist_ok=True)
            assets = make_flagged(make_asset, outside, trial, 3)
        kind = trial % 4
        if kind == 0 or kind == 1:
            report = sweep(catalog, settings, ACTOR, now, force=True, before_act=before_act)
            counts["sweeps"] += 1
        if kind == 1:
            force_purge_due(catalog, assets)
            report = sweep(catalog, settings, ACTOR, now + DAY, force=True, before_act=before_act)
            counts["sweeps"] += 1
        if kind == 2:
            sweep(catalog, settings, ACTOR, now, force=True)
            for asset in assets:
                try:
                    restore(catalog, settings, asset.id or 0, ACTOR, now, before_act=before_act)
                    counts["done"] += 1
                except PurgeError:
                    counts["refused"] += 1
                counts["restores"] += 1
            continue
        if kind == 3:
            for asset in assets:
                try:
                    write_sidecar(Path(asset.path), tag_record(asset), root=root)
                    counts["done"] += 1
                except Exception:
                    counts["refused"] += 1
                counts["sidecars"] += 1
            continue
        for result in report.results:
            counts["done" if result.done else "refused"] += 1
    return counts


def assert_each_file_once(catalog: Catalog, root: Path, trials_assets: list[int]) -> None:
    """Every asset's bytes exist exactly once in the root, or nowhere when purged."""
    found = contents_under(root)
    for asset_id in trials_assets:
        asset = reload(catalog, asset_id)
        expected = f"bytes of {Path(asset.path).name}".encode()
        copies = found.count(expected)
        assert copies == (0 if asset.status == "purged" else 1), (asset.path, asset.status)


def prepare(root: Path) -> None:
    """The root's folders that the races swap for links."""
    (root / "shots").mkdir(exist_ok=True)
    (root / "other").mkdir(exist_ok=True)
    (root / QUARANTINE / "shots").mkdir(parents=True, exist_ok=True)


@pytest.fixture
def outside(tmp_path: Path, root: Path) -> Path:
    """The bait's folder beside the root (the root's folders are made too)."""
    folder = tmp_path / "outside"
    (folder / "quarantine").mkdir(parents=True)
    prepare(root)
    return folder


def test_folders_swapped_for_links_in_a_tight_loop_never_lead_outside(
    catalog: Catalog,
    make_asset: MakeAsset,
    root: Path,
    outside: Path,
    settings_purge: Settings,
) -> None:
    bait_all(outside, TRIALS, 3)
    before = snapshot(outside)
    swapper = Swapper(
        [root / "shots", root / QUARANTINE / "shots", root / QUARANTINE],
        [outside, outside / "quarantine", root / "other"],
    )
    with swapper.running():
        counts = run_trials(
            catalog, settings_purge, make_asset, root, outside, TRIALS, pause=swapper.lock
        )
    assert snapshot(outside) == before
    assert swapper.swaps > 0
    assert counts["done"] > 0
    print(f"race trials: {TRIALS} rounds, {counts}, {swapper.swaps} swaps")  # noqa: T201


def test_a_folder_swapped_for_a_link_between_check_and_act_keeps_every_act_inside(
    catalog: Catalog,
    make_asset: MakeAsset,
    root: Path,
    outside: Path,
    settings_purge: Settings,
) -> None:
    swaps = 0

    def swap(path: str) -> None:
        nonlocal swaps
        folder = Path(path).parent
        aside = folder.with_name(folder.name + f".real{swaps}")
        os.rename(folder, aside)
        folder.symlink_to(outside if QUARANTINE not in path else outside / "quarantine")
        swaps += 1

    def restore_folders() -> None:
        for parent in (root, root / QUARANTINE):
            for link in parent.iterdir():
                if link.is_symlink():
                    link.unlink()

    trial_assets: list[int] = []
    bait_all(outside, 8, 2)
    before = snapshot(outside)
    for trial in range(8):
        assets = make_flagged(make_asset, outside, trial, 2)
        trial_assets += [a.id or 0 for a in assets]
        report = sweep(catalog, settings_purge, ACTOR, T0 + 40 * DAY, force=True, before_act=swap)
        assert all(r.done for r in report.results), report.results
        restore_folders()
        force_purge_due(catalog, assets)
        report = sweep(catalog, settings_purge, ACTOR, T0 + 41 * DAY, force=True, before_act=swap)
        assert all(r.done for r in report.results if r.step.action == "purge")
        restore_folders()
        assert snapshot(outside) == before
    assert swaps >= 8 * 4
    assert_each_file_once(catalog, root, trial_assets)


def test_a_file_replaced_between_check_and_act_is_not_touched(
    catalog: Catalog,
    make_asset: MakeAsset,
    root: Path,
    outside: Path,
    settings_purge: Settings,
) -> None:
    assets = make_flagged(make_asset, outside, 0, 2)

    def replace(path: str) -> None:
        fresh = Path(path).with_name("fresh")
        fresh.write_bytes(Path(path).read_bytes())  # same bytes, another file
        os.replace(fresh, path)

    report = sweep(catalog, settings_purge, ACTOR, T0 + 40 * DAY, force=True, before_act=replace)
    assert {r.reason for r in report.results} == {"replaced by another file since checked"}
    for asset in assets:
        assert Path(asset.path).read_bytes() == f"bytes of {Path(asset.path).name}".encode()
        assert reload(catalog, asset.id).status == "flagged"
        assert hash_file(Path(asset.path)) == asset.content_hash
