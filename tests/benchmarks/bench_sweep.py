"""Benchmark: plan a sweep over 1,000,000 assets (10,000 due), quarantine 500 real files, clear 100.

Run by hand (not part of the test run): ``python3 tests/benchmarks/bench_sweep.py [--url URL]``.
With ``--url postgresql+psycopg://...`` the catalog is that (empty) PostgreSQL database, loaded
with ``COPY``; without, a new SQLite file.
Targets: planning < 5 s, acting on 500 quarantines < 5 s. Each figure is printed next to a
peer measured in the same run on the same data, for a ratio:

- planning vs. a bare indexed ``SELECT`` of the same due rows (what any plan must read);
- acting vs. bare ``os.rename`` of the same 500 files (what any quarantine must do);
- ``clear`` of 100 temporary assets with real files, in one call, vs. hashing those files
  (what any clearance bound to the content must do).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from provenance.audit import Actor
from provenance.catalog import Catalog
from provenance.catalog.lifecycle import set_meta
from provenance.clearance.clear import ClearRequest, clear
from provenance.config import settings_from_mapping
from provenance.files.hashing import hash_file
from provenance.retention.policy import fingerprint, milestones_for, rules_from_settings
from provenance.retention.sweep import FINGERPRINT_KEY, apply_sweep, plan_sweep

TOTAL = 1_000_000
DUE = 10_000
QUARANTINE = 500
CLEARS = 100
NOW = datetime(2026, 6, 1, tzinfo=UTC)
COLUMNS = (
    "uid",
    "path",
    "root",
    "size",
    "mtime_ns",
    "inode",
    "device",
    "content_hash",
    "media_type",
    "ai_class",
    "generator",
    "family",
    "confidence",
    "status",
    "deadline",
    "policy",
    "first_seen",
    "last_seen",
    "present",
    "flagged_at",
)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def rows(root: Path, files: list[tuple[Path, str, int]]):  # type: ignore[no-untyped-def]
    """The assets: ``files`` are the real files of the first QUARANTINE (due for quarantine)
    and, right after the DUE rows, of CLEARS young temporary ones (to be cleared)."""
    old, young = NOW - timedelta(days=60), NOW - timedelta(days=1)
    real = {QUARANTINE + DUE + n: files[QUARANTINE + n] for n in range(CLEARS)}
    for i in range(TOTAL):
        if i < QUARANTINE:  # flagged long ago, real files: the sweep quarantines them
            path, digest, size = files[i]
            yield (
                str(uuid.uuid4()),
                str(path),
                str(root),
                size,
                0,
                i,
                0,
                digest,
                "image/png",
                "ai",
                "ComfyUI",
                "comfyui",
                1.0,
                "flagged",
                stamp(old + timedelta(days=30)),
                "purge30",
                stamp(old),
                stamp(old),
                1,
                stamp(old + timedelta(days=30)),
            )
            continue
        due = i < DUE + QUARANTINE  # past their deadline: the sweep flags them
        first = old if due else young
        path, digest, size = real.get(
            i, (f"{root}/shots/{i // 1000:04d}/{i:07d}.png", f"blake3:{i:064x}", 1000)
        )
        yield (
            str(uuid.uuid4()),
            str(path),
            str(root),
            size,
            0,
            i,
            0,
            digest,
            "image/png",
            "ai",
            "ComfyUI",
            "comfyui",
            1.0,
            "temporary",
            stamp(first + timedelta(days=30)),
            "purge30",
            stamp(first),
            stamp(first),
            1,
            None,
        )


def _load(url: str, database: Path, root: Path, files: list[tuple[Path, str, int]]) -> None:
    """Insert the generated rows straight into the catalog's database, as fast as it takes."""
    if url.startswith("sqlite"):
        with sqlite3.connect(database) as conn:
            conn.execute("PRAGMA synchronous=OFF")
            conn.executemany(
                f"INSERT INTO assets ({', '.join(COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(COLUMNS))})",
                rows(root, files),
            )
        return
    import psycopg

    with (
        psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn,
        conn.cursor() as cursor,
        cursor.copy(f"COPY assets ({', '.join(COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows(root, files):
            copy.write_row(
                [bool(v) if c == "present" else v for c, v in zip(COLUMNS, row, strict=True)]
            )


def _due_rows(url: str, database: Path) -> tuple[int, float]:
    """The peer: a bare indexed SELECT of the due rows; (how many, seconds)."""
    query = (
        "SELECT id, path, status, deadline FROM assets WHERE status IN "
        "('temporary', 'expiring', 'flagged') AND deadline <= {mark}"
    )
    limit = stamp(NOW + timedelta(days=7))
    if url.startswith("sqlite"):
        with sqlite3.connect(database) as conn:
            started = time.perf_counter()
            found = conn.execute(query.format(mark="?"), (limit,)).fetchall()
            return len(found), time.perf_counter() - started
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        started = time.perf_counter()
        found = conn.execute(query.format(mark="%s"), (limit,)).fetchall()
        return len(found), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a new SQLite file)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    root = work / "show"
    files = []
    for i in range(QUARANTINE + CLEARS):
        path = root / ("due" if i < QUARANTINE else "approved") / f"{i:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(2048))
        files.append((path, hash_file(path), 2048))
    database = work / "catalog.sqlite"
    url = args.url or f"sqlite:///{database}"
    catalog = Catalog.open(url)
    settings = settings_from_mapping(
        {
            "state_dir": str(work / "state"),
            "roots": [{"path": str(root)}],
            "clearance": {"approvers": [getpass.getuser()]},
            "retention": {
                "policies": [{"name": "purge30", "action": "purge"}],
                "max_actions_per_run": QUARANTINE,
            },
        }
    )
    started = time.perf_counter()
    _load(url, database, root, files)
    rules = rules_from_settings(settings)
    with catalog.write() as tx:
        set_meta(
            tx,
            FINGERPRINT_KEY,
            fingerprint(rules, {str(root): milestones_for(settings, settings.roots[0])}),
        )
    print(
        f"generated {TOTAL:,} assets ({DUE + QUARANTINE:,} due) in "
        f"{time.perf_counter() - started:.1f}s"
    )

    due_rows, select_seconds = _due_rows(url, database)
    started = time.perf_counter()
    plan = plan_sweep(catalog, settings, NOW)
    plan_seconds = time.perf_counter() - started
    actions = {a: sum(1 for s in plan.steps if s.action == a) for a in ("flag", "quarantine")}
    assert actions == {"flag": DUE, "quarantine": QUARANTINE}, actions
    assert plan.refused is None, plan.refused
    print(
        f"plan: {plan_seconds:.2f}s for {len(plan.steps):,} steps (target < 5s); "
        f"peer bare indexed SELECT of the {due_rows:,} due rows: {select_seconds:.3f}s "
        f"(ratio {plan_seconds / select_seconds:.0f}x)"
    )

    quarantines = replace(plan, steps=[s for s in plan.steps if s.action == "quarantine"])
    started = time.perf_counter()
    results = apply_sweep(catalog, settings, quarantines, Actor("bench", "bench"), NOW)
    act_seconds = time.perf_counter() - started
    assert all(r.done for r in results) and len(results) == QUARANTINE
    peer_root = work / "peer"
    for i in range(QUARANTINE):
        path = peer_root / "src" / f"{i:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(2048))
    (peer_root / "dst").mkdir()
    started = time.perf_counter()
    for i in range(QUARANTINE):
        os.rename(peer_root / "src" / f"{i:04d}.png", peer_root / "dst" / f"{i:04d}.png")
    rename_seconds = time.perf_counter() - started
    print(
        f"act: {act_seconds:.2f}s for {QUARANTINE} quarantines of real files, each re-checked, "
        f"hashed, journaled and audited (target < 5s); peer bare os.rename of {QUARANTINE} "
        f"files: {rename_seconds:.3f}s (ratio {act_seconds / rename_seconds:.0f}x)"
    )

    flags = replace(plan, steps=[s for s in plan.steps if s.action == "flag"], reschedule=[])
    started = time.perf_counter()
    apply_sweep(catalog, settings, flags, Actor("bench", "bench"), NOW)
    print(f"act: {time.perf_counter() - started:.2f}s for {DUE:,} flags (catalog only, audited)")

    approved = [str(path) for path, _, _ in files[QUARANTINE:]]
    request = ClearRequest("APPROVAL-1", escalation_ref="ESCALATION-1")
    started = time.perf_counter()
    approver = Actor(getpass.getuser(), "bench")
    outcomes = clear(settings, catalog, approver, NOW, approved, request)
    clear_seconds = time.perf_counter() - started
    assert all(o.clearance_id for o in outcomes) and len(outcomes) == CLEARS, outcomes[:1]
    started = time.perf_counter()
    for path in approved:
        hash_file(Path(path))
    hash_seconds = time.perf_counter() - started
    print(
        f"clear: {clear_seconds:.2f}s for {CLEARS} assets in one call, each re-hashed, assessed, "
        f"audited and tagged; peer hashing the {CLEARS} files: {hash_seconds:.3f}s "
        f"(ratio {clear_seconds / hash_seconds:.0f}x)"
    )
    catalog.close()


if __name__ == "__main__":
    main()
