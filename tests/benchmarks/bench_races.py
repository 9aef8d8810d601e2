"""Stress: many more race trials than the test run, and what confinement costs a quarantine.

Run by hand (not part of the test run):
``python3 tests/benchmarks/bench_races.py [--rounds 400] [--url URL]``.

1. The race harness of ``tests/retention/test_races.py`` for ``--rounds`` rounds: a thread
   swaps folders (the shots folder, the quarantine and its subfolder) for links to bait
   outside the root and inside it, in a tight loop, while sweeps (quarantine, purge),
   restores and sidecar writes run. Prints the trials run and checks that nothing outside
   the root was touched or created.
2. 500 quarantines through the sweep (descriptors from the root, fstat checks, journal)
   beside bare ``os.rename`` of the same 500 files (what any quarantine must do).
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
    root = work / "cost"
    settings = retention_settings(work, root, max_actions_per_run=count)
    make = asset_maker(catalog, root)
    for n in range(count):
        make(f"shots/{n // 100}/f{n}.png", status="flagged", flagged_at=T0)
    started = time.perf_counter()
    report = sweep(catalog, settings, ACTOR, T0 + 90 * DAY, force=True)
    ours = time.perf_counter() - started
    assert sum(r.done for r in report.results) == count
    peer_root = work / "peer"
    for n in range(count):
        path = peer_root / f"shots/{n // 100}/f{n}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    started = time.perf_counter()
    for n in range(count):
        target = peer_root / QUARANTINE / f"shots/{n // 100}/f{n}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(peer_root / f"shots/{n // 100}/f{n}.png", target)
    peer = time.perf_counter() - started
    print(
        f"{count} quarantines: sweep {ours:.2f} s (confined, checked, journaled) vs. bare "
        f"os.rename {peer:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        catalog = Catalog.open(args.url or f"sqlite:///{work / 'catalog.sqlite'}")
        try:
            stress(catalog, work, args.rounds)
            cost(catalog, work)
        finally:
            catalog.close()


if __name__ == "__main__":
    main()
