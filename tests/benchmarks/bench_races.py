"""Stress: many more race trials than the test run, and what confinement costs a quarantine.

Run by hand (not part of the test run):
``python3 tests/benchmarks/bench_races.py [--rounds 400] [--url URL]``.

1. The race harness of ``tests/retention/test_races.py`` for ``--rounds`` rounds: a thread
   swaps folders (the shots folder, the quarantine and its subfolder) for links to bait
   outside the root and inside it, in a tight loop, while sweeps (quarantine, purge),
   restores and sidecar writes run. Prints the trials run and checks that nothing outside
   the root was touched or created.
2. ``--files`` (500) quarantines, then purges, through the sweep (descriptors from the root,
   fstat checks, journal, audit) beside bare ``os.rename`` then ``os.unlink`` of the same
   files (what any quarantine and purge must do), as a ratio, with the load average
   (``--cost-only`` skips the stress).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from provenance.catalog import Catalog
from provenance.retention.sweep import sweep
from tests.retention.helpers import ACTOR, DAY, T0, asset_maker, retention_settings
from tests.retention.test_races import (
    QUARANTINE,
    Swapper,
    bait_all,
    prepare,
    run_trials,
    snapshot,
)


def stress(catalog: Catalog, work: Path, rounds: int) -> None:
    root, outside = work / "show_a", work / "outside"
    root.mkdir()
    (outside / "quarantine").mkdir(parents=True)
    prepare(root)
    settings = retention_settings(work, root)
    bait_all(outside, rounds, 3)
    before = snapshot(outside)
    swapper = Swapper(
        [root / "shots", root / QUARANTINE / "shots", root / QUARANTINE],
        [outside, outside / "quarantine", root / "other"],
    )
    started = time.perf_counter()
    with swapper.running():
        counts = run_trials(
            catalog, settings, asset_maker(catalog, root), root, outside, rounds, pause=swapper.lock
        )
    elapsed = time.perf_counter() - started
    trials = counts["sweeps"] + counts["restores"] + counts["sidecars"]
    untouched = snapshot(outside) == before
    print(
        f"race stress: {rounds} rounds, {trials} trials ({counts['sweeps']} sweeps, "
        f"{counts['restores']} restores, {counts['sidecars']} sidecar writes), "
        f"{counts['done']} files acted on, {counts['refused']} refused, {swapper.swaps} swaps, "
        f"{elapsed:.1f} s; outside the root untouched: {untouched}"
    )
    if not untouched:
        raise SystemExit("FAILED: a file outside the root was touched")


def cost(catalog: Catalog, work: Path, count: int = 500) -> None:
    """Sweep ``count`` real files into quarantine, then purge them, each beside the bare
    system calls on a copy of the same tree (``os.rename`` into the quarantine folder, then
    ``os.unlink``): what any quarantine and purge must do. Prints seconds and ratios."""
    root = work / "cost"
    settings = retention_settings(work, root, max_actions_per_run=count)
    make = asset_maker(catalog, root)
    names = [f"shots/{n // 100}/f{n}.png" for n in range(count)]
    for name in names:
        make(name, status="flagged", flagged_at=T0)
    started = time.perf_counter()
    report = sweep(catalog, settings, ACTOR, T0 + 90 * DAY, force=True)
    quarantine = time.perf_counter() - started
    assert sum(r.done and r.step.action == "quarantine" for r in report.results) == count
    started = time.perf_counter()
    report = sweep(catalog, settings, ACTOR, T0 + 200 * DAY, force=True)
    purge = time.perf_counter() - started
    assert sum(r.done and r.step.action == "purge" for r in report.results) == count
    peer_root = work / "peer"
    for name in names:
        path = peer_root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"bytes of {path.name}".encode())
    targets = [peer_root / QUARANTINE / name for name in names]
    started = time.perf_counter()
    for name, target in zip(names, targets, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(peer_root / name, target)
    rename = time.perf_counter() - started
    started = time.perf_counter()
    for target in targets:
        os.unlink(target)
    unlink = time.perf_counter() - started
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    print(
        f"{count} quarantines: sweep {quarantine:.2f} s (confined, checked, journaled, audited)"
        f" vs. bare os.rename {rename:.3f} s (ratio {quarantine / rename:.0f}x)\n"
        f"{count} purges: sweep {purge:.2f} s vs. bare os.unlink {unlink:.3f} s "
        f"(ratio {purge / unlink:.0f}x)\nload average: {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a SQLite file)")
    parser.add_argument("--files", type=int, default=500, help="files quarantined and purged")
    parser.add_argument(
        "--cost-only", action="store_true", help="skip the race stress; measure the cost only"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        catalog = Catalog.open(args.url or f"sqlite:///{work / 'catalog.sqlite'}")
        try:
            if not args.cost_only:
                stress(catalog, work, args.rounds)
            cost(catalog, work, args.files)
        finally:
            catalog.close()


if __name__ == "__main__":
    main()
