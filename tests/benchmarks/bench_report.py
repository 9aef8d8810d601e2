"""Benchmark: the weekly report on a SQLite catalog of 1,000,000 assets, in every format.

Run by hand (not part of the test run):

    python3 tests/benchmarks/bench_report.py [--assets 1000000] [--keep FILE]

It creates a catalog with the real schema, bulk-inserts generated assets (30% AI; 1% of all
assets due in the coming week, so 10,000 rows in the main table; a few thousand flagged,
quarantined, purged, cleared, held and of unknown tool; 1 in 2,000 a mark there but
unreadable, class suspect), one `indexed` event per asset spread over a year, plus purge and
clearance events, and the marks found: a text-chunk signal per AI asset and a C2PA one for a
third of them (1 in 1,000 of those untrusted), an unreadable C2PA one per suspect asset.
Then, for each format, a fresh process builds and renders the report (as `provenance
report` would) and prints its time and peak RSS. Targets: < 2 s and < 300 MB each. The peer figure, from the same catalog and run, is the
`sqlite3` command-line shell running the report's two heaviest aggregates (AI assets by root
and status; events per week) and a plain `SELECT count(*) ... GROUP BY status`.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from provenance.report.formats import FORMATS

ROOT = Path(__file__).resolve().parents[2]
AS_OF = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)

_RUN_ONE = """
import resource, sys, time
from datetime import datetime
from pathlib import Path
from provenance.catalog import Catalog
from provenance.config import RootSettings, Settings
from provenance.report.build import build_report
from provenance.report.data import Period
from provenance.report.deliver import render
url, fmt, out, as_of = sys.argv[1:5]
when = datetime.fromisoformat(as_of)
settings = Settings(roots=[RootSettings(path=Path(f"/prod/show_{i}"), name=f"show_{i}",
                                        owner=f"owner {i}") for i in range(4)])
start = time.perf_counter()
catalog = Catalog.open(url)
report = build_report(catalog, settings, Period(when, 7), when)
text = render(report, fmt)
Path(out).write_text(text, encoding="utf-8")
elapsed = time.perf_counter() - start
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
rows = sum(len(s.items) for s in report.sections)
print(f"{elapsed:.3f} {rss_mb:.0f} {rows} {len(text)}")
"""


def _ts(value: datetime) -> str:
    """The catalog's SQLite storage of a UTC datetime (naive, microseconds)."""
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(path: Path, assets: int, seed: int = 7) -> None:
    """Create the catalog schema at ``path`` and bulk-insert the generated rows."""
    sys.path.insert(0, str(ROOT))
    from provenance.catalog import Catalog

    Catalog.open(f"sqlite:///{path}").close()
    rng = random.Random(seed)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    due_every = 100  # 1% of all assets are due in the coming week
    special = (
        ["flagged"] * 20 + ["quarantined"] * 10 + ["purged"] * 20 + ["cleared"] * 50 + ["held"] * 10
    )

    def asset_rows() -> object:
        for n in range(assets):
            root = f"/prod/show_{n % 4}"
            path_ = f"{root}/reel_{n // 5000:03d}/shot_{n // 50:05d}/frame_{n:07d}.png"
            first_seen = AS_OF - timedelta(seconds=rng.randrange(365 * 86400))
            if n % due_every == 0:
                ai, status = "ai", "temporary" if n % 3 else "expiring"
                deadline = AS_OF + timedelta(seconds=rng.randrange(7 * 86400))
            elif n % 10 < 3:
                # 1 in 2,000 a mark there but unreadable (suspect), named by the attention section
                ai = "suspect" if n % 2000 == 501 else "ai"
                status = special[n % 1000] if n % 1000 < len(special) else "temporary"
                offset = rng.randrange(8 * 86400, 120 * 86400)
                deadline = (
                    AS_OF + timedelta(seconds=offset)
                    if status == "temporary"
                    else AS_OF - timedelta(seconds=offset)
                )
            else:
                ai, status, deadline = "none", "not-ai", None
            generator = None if ai == "ai" and n % 997 == 0 else ("ComfyUI" if ai == "ai" else None)
            yield (
                f"{n:08x}-0000-0000-0000-000000000000",
                path_,
                root,
                1000 + n % 50000,
                n,
                n,
                1,
                f"blake3:{n:064x}",
                "image/png",
                ai,
                generator,
                "comfyui" if generator else None,
                "sdxl" if ai == "ai" else None,
                None,
                0.99 if ai == "ai" else 0.0,
                status,
                _ts(deadline) if deadline else None,
                "concepts-30d" if ai == "ai" else None,
                _ts(first_seen),
                _ts(AS_OF),
                None,
                None,
                1,
                None,
            )

    started = time.perf_counter()
    with connection:
        connection.executemany(
            "INSERT INTO assets (uid, path, root, size, mtime_ns, inode, device, content_hash, "
            "media_type, ai_class, generator, family, model, prompt, confidence, status, deadline, "
            "policy, first_seen, last_seen, created_at, source_asset_id, present, missing_since) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            asset_rows(),
        )
    print(f"inserted {assets:,} assets in {time.perf_counter() - started:.1f}s", flush=True)

    reader = sqlite3.connect(path)  # reads assets while ``connection`` writes events (WAL)

    def event_rows() -> object:
        statuses = dict(
            reader.execute("SELECT id, status FROM assets WHERE status IN ('purged', 'cleared')")
        )
        rows = reader.execute("SELECT id, path, ai_class, first_seen FROM assets ORDER BY id")
        for asset_id, path_, ai, first_seen in rows:
            after = json.dumps(
                {
                    "status": "temporary" if ai == "ai" else "not-ai",
                    "ai_class": ai,
                    "content_hash": "x",
                }
            )
            yield (asset_id, first_seen, "bench", "host", "indexed", path_, "new file", "{}", after)
            status = statuses.get(asset_id)
            if status:
                at = _ts(AS_OF - timedelta(seconds=rng.randrange(56 * 86400)))
                after = {
                    "status": status,
                    "path": path_,
                    "content_hash": f"blake3:{asset_id:064x}",
                    "size": 1234,
                    "rule": "concepts-30d",
                    "approval": "LEGAL-1",
                }
                yield (
                    asset_id,
                    at,
                    "bench",
                    "host",
                    status,
                    path_,
                    "bench",
                    "{}",
                    json.dumps(after),
                )

    started = time.perf_counter()
    with connection:
        # each event's place in the chain (``seq``), as the catalog writes it: the report
        # reads the chain's length from the newest event, not by counting them all
        connection.executemany(
            "INSERT INTO events (asset_id, at, user, host, action, path, reason, before, after, "
            "seq, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?, '', lower(hex(randomblob(32))))",
            ((*row, seq) for seq, row in enumerate(event_rows(), 1)),  # type: ignore[call-overload]
        )
    count = connection.execute("SELECT count(*) FROM events").fetchone()[0]
    print(f"inserted {count:,} events in {time.perf_counter() - started:.1f}s", flush=True)

    # the marks found: a text chunk of each AI asset, and a C2PA manifest of a third of
    # them (1 in 1,000 of those signed by a certificate nobody trusts)
    chunk = json.dumps({"steps": 30, "sampler": "euler_a", "cfg": 7.0, "workflow": "x" * 400})
    trusted = json.dumps({"trust": "trusted", "signer": "Adobe Inc."})
    untrusted = json.dumps({"trust": "untrusted", "signer": "Unknown Corp"})
    found = _ts(AS_OF)

    def signal_rows() -> object:
        rows = reader.execute("SELECT id FROM assets WHERE ai_class = 'ai' ORDER BY id")
        for index, (asset_id,) in enumerate(rows):
            yield (asset_id, "png-text", "ComfyUI", "a castle at dawn " * 12, chunk, "{}", found)
            if index % 3 == 0:
                detail = untrusted if index % 3000 == 0 else trusted
                yield (asset_id, "c2pa", "Adobe Firefly", None, "{}", detail, found)

    unreadable = json.dumps({"unreadable": "C2PA: skipped malformed data (ValueError: bad box)"})

    def unread_rows() -> object:
        rows = reader.execute("SELECT id FROM assets WHERE ai_class = 'suspect' ORDER BY id")
        for (asset_id,) in rows:
            yield (asset_id, unreadable, found)

    started = time.perf_counter()
    with connection:
        connection.executemany(
            "INSERT INTO signals (asset_id, kind, ai_class, generator, prompt, parameters, "
            "confidence, source, detail, found_at) VALUES (?, ?, 'ai', ?, ?, ?, 0.99, 'bench', "
            "?, ?)",
            signal_rows(),  # type: ignore[arg-type]
        )
        connection.executemany(
            "INSERT INTO signals (asset_id, kind, ai_class, parameters, confidence, source, "
            "detail, found_at) VALUES (?, 'c2pa', 'suspect', '{}', 0.5, 'PNG caBX', ?, ?)",
            unread_rows(),  # type: ignore[arg-type]
        )
    count = connection.execute("SELECT count(*) FROM signals").fetchone()[0]
    print(f"inserted {count:,} signals in {time.perf_counter() - started:.1f}s", flush=True)
    connection.execute("ANALYZE")
    connection.close()
    reader.close()


def peer(path: Path) -> list[tuple[str, float]]:
    """Time the sqlite3 shell on the report's heaviest aggregates and a plain GROUP BY."""
    sqlite = shutil.which("sqlite3")
    start, end = _ts(AS_OF - timedelta(weeks=8)), _ts(AS_OF)
    queries = {
        "sqlite3: count(*) GROUP BY status": "SELECT status, count(*) FROM assets GROUP BY status;",
        "sqlite3: AI assets by root, status": (
            "SELECT status, root, count(*) FROM assets WHERE status IN ('temporary', 'expiring', "
            "'flagged', 'quarantined', 'held', 'purged', 'cleared') AND ai_class != 'none' "
            "GROUP BY status, root;"
        ),
        "sqlite3: events per week (8 weeks)": (
            f"SELECT CAST((julianday(at) - julianday('{start}')) / 7 AS INTEGER) AS week, action, "
            f"count(DISTINCT asset_id) FROM events WHERE at >= '{start}' AND at < '{end}' AND "
            "(action IN ('cleared', 'purged') OR (action IN ('indexed', 'copied', 'tagged') AND "
            "json_extract(after, '$.ai_class') != 'none')) GROUP BY week, action;"
        ),
    }
    results = []
    for name, sql in queries.items():
        if sqlite is None:
            results.append((name + " (sqlite3 not installed)", float("nan")))
            continue
        started = time.perf_counter()
        subprocess.run([sqlite, str(path), sql], check=True, capture_output=True)
        results.append((name, time.perf_counter() - started))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the catalog at this path")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-report-"))
    path = args.keep or folder / "catalog.sqlite"
    try:
        if not path.exists():
            generate(path, args.assets)
        url = f"sqlite:///{path}"
        print(f"catalog: {path.stat().st_size / 2**20:.0f} MB")
        for name, seconds in peer(path):
            print(f"{name:<42} {seconds:6.3f} s")
        print(
            f"{'format':<8} {'in-process':>10} {'wall':>7} {'peak RSS':>9} {'rows':>7} {'bytes':>11}"
        )
        worst = 0.0
        for fmt in FORMATS:
            out = folder / f"report.{fmt}"
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", _RUN_ONE, url, fmt, str(out), AS_OF.isoformat()],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            wall = time.perf_counter() - started
            elapsed, rss, rows, size = done.stdout.split()
            worst = max(worst, float(elapsed))
            print(
                f"{fmt:<8} {float(elapsed):9.3f}s {wall:6.3f}s {rss:>6} MB {rows:>7} {int(size):>11,}"
            )
        peers = peer(path)
        aggregates = peers[1][1] + peers[2][1]
        print(f"slowest format / sqlite3 count(*) GROUP BY status: {worst / peers[0][1]:.1f}x")
        print(
            f"slowest format / sqlite3 running the report's two aggregates: {worst / aggregates:.1f}x"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
