"""Benchmark: a PostgreSQL catalog of 10,000,000 assets stays interactive.

Run by hand (not part of the test run):

    python3 tests/benchmarks/bench_fleet.py [--server URL] [--assets 10000000] [--keep]

It creates a database of its own on the server (``fleet_bench``; dropped at the end unless
``--keep``, reused when kept), the catalog's schema in it, and loads generated assets with
``COPY`` (the secondary indexes are dropped for the load and built again after it, as a
restore would). The tree resembles a studio's storage: 4 roots, 25 productions each,
40 sequences a production, 50 shots a sequence, 50 files a shot; a third of the shots are
AI renders (1 in 2,000 of their files a mark there but unreadable, class suspect). AI
assets' statuses are spread (most temporary with deadlines over half a year,
about 2% due in the coming week, some expiring, flagged, quarantined, held, cleared,
purged); every AI asset has its ``indexed`` event, cleared and purged ones their event.

Then, each the median of ``--repeat`` runs, beside a peer measured in the same run:

- the weekly report, built and rendered as HTML (target < 5 s), against a plain
  ``SELECT status, count(*) ... GROUP BY status`` and a plain ``SELECT`` of the rows due;
- ``uncleared --under`` one production, its first page (target < 0.5 s), against a plain
  ``SELECT ... ORDER BY path LIMIT`` of the same page;
- ``list --under`` one production, its first page, against the same plain ``SELECT``;
- sweep planning (a dry run, ``plan_sweep``) with the rules unchanged (target < 5 s), and
  after a rules change (every asset in the lifecycle decided again), against a plain
  ``SELECT`` of the due rows.
"""

from __future__ import annotations

import argparse
import io
import itertools
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg

from provenance.catalog import Catalog
from provenance.catalog.lifecycle import set_meta
from provenance.clearance.policy import clearance_policy
from provenance.config import settings_from_mapping
from provenance.report.build import build_report
from provenance.report.data import Period
from provenance.report.deliver import render
from provenance.retention.policy import fingerprint, milestones_for, rules_from_settings
from provenance.retention.sweep import FINGERPRINT_KEY, plan_sweep
from provenance.service.assets import UNCLEARED_PAGE, _uncleared

AS_OF = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
ROOTS, PRODUCTIONS, SEQUENCES, SHOTS, FILES = 4, 25, 40, 50, 50
POLICY = "renders-180d"
DAY = 86400
PAGE = UNCLEARED_PAGE

ASSET_COLUMNS = (
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
    "quarantined_at",
    "quarantine_path",
    "purged_at",
    "risk",
    "tool_status",
    "tool_name",
)
EVENT_COLUMNS = (
    "asset_id",
    "at",
    "user",
    "host",
    "action",
    "path",
    "reason",
    "before",
    "after",
    "prev_hash",
    "hash",
    "seq",
)


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def place(n: int, work: Path) -> tuple[str, str, bool]:
    """Return (path, root, whether its shot is an AI render) of asset number ``n``."""
    shot = n // FILES
    root = f"{work}/show_{shot % ROOTS}"
    rest = shot // ROOTS
    h, s, p = rest % SHOTS, (rest // SHOTS) % SEQUENCES, rest // (SHOTS * SEQUENCES)
    ai = shot % 3 == 0
    name = f"v{n:08d}.png" if ai else f"plate.{n:08d}.exr"
    return f"{root}/prod_{p:02d}/seq_{s:03d}/shot_{h:03d}/{name}", root, ai


def asset_lines(assets: int, work: Path, seed: int = 23) -> Iterator[tuple[str, str | None]]:
    """Yield (the COPY line of each asset, its status when AI) in id order (ids from 1)."""
    rng = random.Random(seed)
    null = "\\N"
    for n in range(assets):
        path, root, ai = place(n, work)
        first_seen = AS_OF - timedelta(seconds=rng.randrange(400 * DAY))
        flagged = quarantined = qpath = purged = null
        present = "t"
        if not ai:
            status, deadline, policy, generator, family = "not-ai", null, null, null, null
            ai_class, risk, tool, tool_name, chash = "none", null, null, null, null
            media = "image/x-exr"
        else:
            ai_class, media, policy = "ai", "image/png", POLICY
            generator, family = ("ComfyUI", "comfyui") if n % 211 else (null, null)
            if n % 2003 == 0:  # a mark there but unreadable: no tool named
                ai_class, generator, family = "suspect", null, null
            risk = "blocked" if n % 5003 == 0 else "review"
            tool = "approved" if generator != null else "unknown"
            tool_name = "ComfyUI" if generator != null else null
            chash = f"blake3:{n:064x}"
            roll = rng.random()
            if roll < 0.02:  # due in the coming week
                status = "expiring"
                due = AS_OF + timedelta(seconds=rng.randrange(7 * DAY))
            elif roll < 0.05:  # warned, due in one to two weeks
                status = "expiring"
                due = AS_OF + timedelta(seconds=rng.randrange(7 * DAY, 14 * DAY))
            elif roll < 0.07:
                status = "flagged"
                due = AS_OF - timedelta(seconds=rng.randrange(1, 10 * DAY))
                flagged = _ts(due)
            elif roll < 0.08:
                status = "quarantined"
                due = AS_OF - timedelta(seconds=rng.randrange(7 * DAY, 30 * DAY))
                at = AS_OF - timedelta(seconds=rng.randrange(14 * DAY))
                flagged, quarantined = _ts(due), _ts(at)
                qpath = f"{root}/.provenance-quarantine/{n:08d}.png"
            elif roll < 0.09:
                status, due = "held", None
            elif roll < 0.17:
                status, due = "cleared", None
            elif roll < 0.22:
                status, due = "purged", None
                purged, present = _ts(AS_OF - timedelta(seconds=rng.randrange(90 * DAY))), "f"
            else:
                status = "temporary"
                due = AS_OF + timedelta(seconds=rng.randrange(14 * DAY, 180 * DAY))
            deadline = _ts(due) if due is not None else null
            if due is not None:  # the deadline the rule gives (a sweep reschedules none)
                first_seen = due - timedelta(days=180)
        fields = (
            f"{n:08x}-0000-4000-8000-000000000000",
            path,
            root,
            str(1000 + n % 50000),
            str(n),
            str(n),
            "1",
            chash,
            media,
            ai_class,
            generator,
            family,
            "0.99" if ai else "0",
            status,
            deadline,
            policy,
            _ts(first_seen),
            _ts(AS_OF),
            present,
            flagged,
            quarantined,
            qpath,
            purged,
            risk,
            tool,
            tool_name,
        )
        yield "\t".join(fields) + "\n", status if ai else None


def _copy(conn: psycopg.Connection[Any], table: str, columns: tuple[str, ...], lines: Any) -> int:
    count = 0
    with conn.cursor() as cursor:
        names = ", ".join(f'"{c}"' for c in columns)
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            buffer = io.StringIO()
            for line in lines:
                buffer.write(line)
                count += 1
                if count % 20000 == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
    return count


def load(url: str, assets: int, work: Path) -> None:
    """Load the generated assets and events with COPY, secondary indexes built after."""
    statuses: list[tuple[int, str]] = []
    with psycopg.connect(_plain(url)) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        indexes = conn.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname IN ('assets', 'events') "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)"
        ).fetchall()
        for name, _definition in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.commit()
        started = time.perf_counter()

        def lines() -> Iterator[str]:
            for number, (line, status) in enumerate(asset_lines(assets, work), start=1):
                if status is not None:
                    statuses.append((number, status))
                yield line

        count = _copy(conn, "assets", ASSET_COLUMNS, lines())
        conn.commit()
        print(f"COPY {count:,} assets: {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        count = _copy(conn, "events", EVENT_COLUMNS, _event_lines(conn, statuses))
        conn.commit()
        print(f"COPY {count:,} events: {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        for _name, definition in indexes:
            conn.execute(definition)
            conn.commit()
        conn.commit()
        conn.autocommit = True  # a catalog in use is vacuumed: index-only scans see it so
        conn.execute("VACUUM (ANALYZE) assets")
        conn.execute("VACUUM (ANALYZE) events")
        print(
            f"{len(indexes)} indexes built, vacuumed: {time.perf_counter() - started:.0f} s",
            flush=True,
        )


def _event_lines(conn: psycopg.Connection[Any], statuses: list[tuple[int, str]]) -> Iterator[str]:
    """Each AI asset's ``indexed`` event (at its first sighting), and a ``cleared`` or
    ``purged`` one in the past eight weeks for those cleared or purged."""
    rng = random.Random(5)
    seq = 0
    for asset_id, status in statuses:
        seq += 1
        at = AS_OF - timedelta(seconds=rng.randrange(400 * DAY))
        yield (
            f"{asset_id}\t{_ts(at)}\tbench\thost\tindexed\t\\N\tnew file\t{{}}\t"
            f'{{"ai_class": "ai", "status": "temporary"}}\t\t{seq:064x}\t{seq}\n'
        )
        if status in ("cleared", "purged"):
            seq += 1
            at = AS_OF - timedelta(seconds=rng.randrange(56 * DAY))
            yield (
                f"{asset_id}\t{_ts(at)}\tbench\thost\t{status}\t\\N\tbench\t{{}}\t"
                f'{{"status": "{status}", "approval": "LEGAL-1"}}\t\t{seq:064x}\t{seq}\n'
            )


def timed(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Return the median seconds of ``repeat`` calls and the last call's result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def peer(url: str, sql: str, *args: Any) -> Callable[[], int]:
    def run() -> int:
        with psycopg.connect(_plain(url)) as conn:
            return len(conn.execute(sql, args).fetchall())

    return run


def line(what: str, ours: float, peer_name: str, theirs: float, target: str = "") -> None:
    print(
        f"{what}: {ours:.3f} s{f' (target {target})' if target else ''}; "
        f"peer {peer_name}: {theirs:.3f} s; ratio {ours / theirs:.1f}x",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--database", default="fleet_bench")
    parser.add_argument("--assets", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse it)")
    parser.add_argument(
        "--stale", action="store_true", help="also plan a sweep after a rules change (slow)"
    )
    args = parser.parse_args()
    work = Path(tempfile.gettempdir()) / f"{args.database}-roots"
    url = args.server.rsplit("/", 1)[0] + f"/{args.database}"
    with psycopg.connect(_plain(args.server), autocommit=True) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (args.database,)
        ).fetchone()
        if exists and not args.keep:
            admin.execute(f'DROP DATABASE "{args.database}"')
        if not exists or not args.keep:
            admin.execute(f'CREATE DATABASE "{args.database}"')
    try:
        for r in range(ROOTS):
            (work / f"show_{r}").mkdir(parents=True, exist_ok=True)
        settings = settings_from_mapping(
            {
                "state_dir": str(work / "state"),
                "roots": [
                    {"path": str(work / f"show_{r}"), "name": f"show_{r}", "owner": f"owner {r}"}
                    for r in range(ROOTS)
                ],
                "retention": {
                    "policies": [
                        {"name": POLICY, "action": "purge", "expire_after": "180d"},
                    ],
                },
            }
        )
        started = time.perf_counter()
        catalog = Catalog.open(url)  # creates the schema, or upgrades a kept one
        print(f"catalog opened: {time.perf_counter() - started:.1f} s", flush=True)
        with psycopg.connect(_plain(url)) as conn:
            have = conn.execute("SELECT count(*) FROM assets").fetchone()[0]  # type: ignore[index]
        if have == 0:
            load(url, args.assets, work)
        else:
            print(f"reusing the catalog of {have:,} assets")
        rules = rules_from_settings(settings)
        steady = fingerprint(
            rules, {str(root.path): milestones_for(settings, root) for root in settings.roots}
        )
        shots = args.assets // FILES // ROOTS
        last = max((shots - 1) // (SHOTS * SEQUENCES), 0)
        production = f"{work}/show_1/prod_{min(3, last):02d}"
        prefix = production + "/"
        bound = production + "0"
        report(url, catalog, settings, args.repeat)
        first_pages(url, catalog, settings, production, prefix, bound, args.repeat)
        sweeps(url, catalog, settings, steady, args.repeat, args.stale)
        catalog.close()
    finally:
        if not args.keep:
            with psycopg.connect(_plain(args.server), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            shutil.rmtree(work, ignore_errors=True)


def report(url: str, catalog: Catalog, settings: Any, repeat: int) -> None:
    period = Period(AS_OF, 7)

    def build() -> tuple[int, int]:
        made = build_report(catalog, settings, period, AS_OF)
        return len(render(made, "html")), sum(len(s.items) for s in made.sections)

    seconds, (size, items) = timed(build, repeat)
    print(f"report: {items:,} files listed, {size:,} bytes of HTML")
    group_by, _ = timed(peer(url, "SELECT status, count(*) FROM assets GROUP BY status"), repeat)
    due, rows = timed(
        peer(
            url,
            "SELECT id, path, root, size, status, deadline FROM assets WHERE status IN "
            "('temporary', 'expiring') AND deadline >= %s AND deadline < %s",
            _ts(AS_OF),
            _ts(AS_OF + timedelta(days=7)),
        ),
        repeat,
    )
    line(
        "weekly report (build + HTML)",
        seconds,
        "SELECT count(*) GROUP BY status",
        group_by,
        "< 5 s",
    )
    line("weekly report (build + HTML)", seconds, f"plain SELECT of the {rows:,} due rows", due)


def first_pages(
    url: str, catalog: Catalog, settings: Any, folder: str, prefix: str, bound: str, repeat: int
) -> None:
    policy = clearance_policy(settings)

    def uncleared() -> int:
        with catalog.read() as tx:
            return len(list(itertools.islice(_uncleared(tx, folder, policy), PAGE)))

    def listed() -> int:
        with catalog.read() as tx:
            return len(list(itertools.islice(tx.list_assets(under=folder), PAGE)))

    plain = "SELECT * FROM assets WHERE path >= %s AND path < %s {extra} ORDER BY path LIMIT %s"
    seconds, got = timed(uncleared, repeat)
    theirs, _ = timed(
        peer(
            url,
            plain.format(
                extra="AND ai_class != 'none' AND status IN "
                "('temporary', 'expiring', 'flagged', 'quarantined', 'held')"
            ),
            prefix,
            bound,
            PAGE,
        ),
        repeat,
    )
    line(
        f"uncleared --under a production, first {got} rows",
        seconds,
        "plain SELECT ... LIMIT",
        theirs,
        "< 0.5 s",
    )
    seconds, got = timed(listed, repeat)
    theirs, _ = timed(peer(url, plain.format(extra=""), prefix, bound, PAGE), repeat)
    line(f"list --under a production, first {got} rows", seconds, "plain SELECT ... LIMIT", theirs)


def sweeps(
    url: str, catalog: Catalog, settings: Any, steady: str, repeat: int, stale: bool
) -> None:
    with catalog.write() as tx:
        set_meta(tx, FINGERPRINT_KEY, steady)
    seconds, plan = timed(lambda: plan_sweep(catalog, settings, AS_OF), repeat)
    theirs, rows = timed(
        peer(
            url,
            "SELECT id, path, status, deadline FROM assets WHERE status IN "
            "('temporary', 'expiring', 'flagged') AND deadline <= %s",
            _ts(AS_OF + timedelta(days=7)),
        ),
        repeat,
    )
    print(f"sweep plan: {len(plan.steps):,} steps, {len(plan.reschedule):,} rescheduled")
    line(
        "sweep planning (rules unchanged)",
        seconds,
        f"plain SELECT of the {rows:,} due rows",
        theirs,
        "< 5 s",
    )
    if not stale:
        return
    with catalog.write() as tx:
        set_meta(tx, FINGERPRINT_KEY, "changed")
    seconds, plan = timed(lambda: plan_sweep(catalog, settings, AS_OF), 1)
    line(
        "sweep planning (rules changed: every asset decided again)",
        seconds,
        "plain SELECT of the due rows",
        theirs,
    )


if __name__ == "__main__":
    main()
