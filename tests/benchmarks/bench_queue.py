"""Benchmark: the web review queue's page on a SQLite catalog of 1,000,000 assets.

Run by hand (not part of the test run):

    python3 tests/benchmarks/bench_queue.py [--assets 1000000] [--keep FILE] [--rounds 20]

It makes the catalog as ``bench_report.py`` does (30% AI; about 290,000 uncleared AI
assets under four roots, reels of 5,000 files and shots of 50), starts the real web service
(Starlette on uvicorn, on a port of this machine) signed in through a trusted proxy header,
and times whole HTTP answers of the queue page (100 files, grouped root -> production ->
folder, each group's count and nearest deadline): the first page, a page in the middle
(``after=``), a page under one production (``under=``) and the last page. Target: < 300 ms
each. ``--sparse`` keeps one AI asset in 1,000: the pages must come from the index of
uncleared assets, not from a walk of every path. The peer, in the same run and on the same catalog, is a plain ``SELECT`` of the same
rows through Python's sqlite3 (the page's columns, the same conditions and order, LIMIT 101):
the ratio is what grouping, counting, rendering and HTTP add to reading the rows.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from provenance.lifecycle.states import UNCLEARED  # noqa: E402
from tests.benchmarks.bench_report import generate  # noqa: E402

PAGE = 100
STATUSES = ", ".join(f"'{status}'" for status in UNCLEARED)
PEER_SQL = (
    "SELECT id, path, root, status, ai_class, generator, model, policy, deadline, first_seen, "
    "present, content_hash, size, uid, risk, tool_status FROM assets "
    f"WHERE ai_class != 'none' AND status IN ({STATUSES}) AND path > ? "
    "AND NOT EXISTS (SELECT 1 FROM clearances c WHERE c.asset_id = assets.id "
    "AND c.voided_at IS NULL) ORDER BY path LIMIT 101"
)


def _serve(path: Path) -> tuple[object, object]:
    from provenance.catalog import Catalog, utcnow
    from provenance.config import RootSettings, Settings
    from provenance.config.web import WebSettings
    from provenance.web import WebServer

    settings = Settings(
        state_dir=path.parent / "state",
        catalog={"url": f"sqlite:///{path}"},
        roots=[
            RootSettings(path=Path(f"/prod/show_{i}"), name=f"show_{i}", owner=f"owner {i}")
            for i in range(4)
        ],
        web=WebSettings(
            enabled=True,
            port=0,
            auth="header",
            trusted_proxies=["127.0.0.1"],
            page_size=PAGE,
        ),
    )
    catalog = Catalog.open(settings.catalog_url)
    server = WebServer(settings, catalog, utcnow, None)
    server.start()
    return server, catalog


def _get(port: int, target: str, user: str) -> tuple[float, int, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    connection.request("GET", target, headers={"X-Remote-User": user})
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, response.status, body.count(b'href="/asset/')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the catalog at this path")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--sparse",
        action="store_true",
        help="keep one AI asset in 1,000 (the others made not AI): a page must not walk them",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    path = args.keep or folder / "catalog.sqlite"
    if not path.exists():
        generate(path, args.assets)
        if args.sparse:
            with sqlite3.connect(path) as writer:
                writer.execute(
                    "UPDATE assets SET ai_class = 'none', status = 'not-ai' "
                    "WHERE ai_class != 'none' AND id % 1000 != 1"
                )
                writer.execute("ANALYZE")
    from provenance.catalog import Catalog

    Catalog.open(f"sqlite:///{path}").close()  # the schema as this version has it
    print(f"catalog: {path.stat().st_size / 2**20:.0f} MB, {args.assets:,} assets")
    reader = sqlite3.connect(path)
    uncleared = reader.execute(
        f"SELECT count(*) FROM assets WHERE ai_class != 'none' AND status IN ({STATUSES})"
    ).fetchone()[0]
    if not uncleared:
        raise SystemExit("no uncleared AI asset in this catalog")
    middle = reader.execute(
        f"SELECT path FROM assets WHERE ai_class != 'none' AND status IN ({STATUSES}) "
        "ORDER BY path LIMIT 1 OFFSET ?",
        (uncleared // 2,),
    ).fetchone()[0]
    last = reader.execute(
        f"SELECT path FROM assets WHERE ai_class != 'none' AND status IN ({STATUSES}) "
        "ORDER BY path DESC LIMIT 1 OFFSET ?",
        (min(PAGE // 2, uncleared - 1),),
    ).fetchone()[0]
    print(f"uncleared AI assets: {uncleared:,}")
    cases = {
        "first page": ("/", ""),
        "a page in the middle": ("/?" + urlencode({"after": middle}), middle),
        "the last page": ("/?" + urlencode({"after": last}), last),
        "under one production": ("/?" + urlencode({"under": "/prod/show_2/reel_100"}), ""),
    }
    server, catalog = _serve(path)
    user = os.environ.get("USER") or "root"
    try:
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
        port = server.port  # type: ignore[attr-defined]
        print(f"{'queue page (HTTP, whole answer)':<34} {'median':>9} {'max':>9} {'files':>6}")
        worst = 0.0
        medians = {}
        for name, (target, _after) in cases.items():
            _get(port, target, user)  # warm: the first answer builds the templates
            times = []
            for _ in range(args.rounds):
                elapsed, status, files = _get(port, target, user)
                assert status == 200, (name, status)
                times.append(elapsed)
            medians[name] = statistics.median(times)
            worst = max(worst, max(times))
            print(f"{name:<34} {medians[name] * 1000:7.1f}ms {max(times) * 1000:7.1f}ms {files:>6}")
        print(f"{'plain SELECT of the same rows':<34} {'median':>9} {'max':>9} {'rows':>6}")
        peers = {}
        for name, (_target, after) in cases.items():
            if name == "under one production":
                continue
            times = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                rows = reader.execute(PEER_SQL, (after,)).fetchall()
                times.append(time.perf_counter() - started)
            peers[name] = statistics.median(times)
            print(
                f"{name:<34} {peers[name] * 1000:7.2f}ms {max(times) * 1000:7.2f}ms {len(rows):>6}"
            )
        for name, peer in peers.items():
            print(f"{name}: queue page / plain SELECT = {medians[name] / peer:.0f}x")
        print(f"slowest queue answer: {worst * 1000:.0f} ms (target < 300 ms)")
    finally:
        server.stop()  # type: ignore[attr-defined]
        catalog.close()  # type: ignore[attr-defined]
        reader.close()


if __name__ == "__main__":
    main()
