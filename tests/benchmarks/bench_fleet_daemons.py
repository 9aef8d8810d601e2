"""Benchmark: several daemons write one PostgreSQL catalog at once, each fed new files.

Run by hand (not part of the test run):

    python3 tests/benchmarks/bench_fleet_daemons.py --url postgresql+psycopg://.../fleet_bench
        [--nodes 4] [--rate 250] [--seconds 60]

``--url`` is a catalog (a big one: ``bench_fleet.py --keep`` leaves its 10,000,000 assets).
Each node is a real daemon (``python3 -m provenance --config NODE.toml daemon``) with a root
and a state folder of its own, on the one catalog. Once all have started, one writer
process per node writes ``--rate`` small PNG files a second into its root for
``--seconds`` (1 in 10 an AI render: a ``parameters`` text chunk as a diffusion UI writes
it), each write's close time logged. A poller reads new asset rows every 20 ms (the last 5,000 ids again: a batch may commit
after one with higher ids); each file's
latency is from its close to its row being visible to another connection. Then every file
must be in the catalog exactly once (rows by path, no more, no fewer), each AI file with one
``indexed`` event (``copied`` when an earlier run left the same bytes).

Peer in the same run: the same load on the same roots seen by bare watchdog observers (one
process a root, no-op handler): their latency is close to the observer's close event.
Targets: every file recorded once; p99 close-to-catalog latency < 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_daemon import PEER, percentile

# each close event written at once: a peer under load is killed, not asked to stop
FLUSHED_PEER = PEER.replace('open(sys.argv[2], "w")', 'open(sys.argv[2], "w", buffering=1)')
assert FLUSHED_PEER != PEER

REPO = Path(__file__).resolve().parents[2]
#: Asset ids read again by each poll (more than the files of the batches in flight).
MARGIN = 5000

WRITER = textwrap.dedent(
    """
    import io, json, sys, time
    from pathlib import Path
    from PIL import Image, PngImagePlugin

    root, rate, seconds, log, node = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])

    def png(n):
        info = PngImagePlugin.PngInfo()
        if n % 10 == 0:
            info.add_text("parameters", f"a castle\\nSteps: 20, Sampler: Euler a, Seed: {n}, Model: sdxl")
        else:
            info.add_text("Comment", f"plate {node} {n}")
        out = io.BytesIO()
        Image.new("RGB", (32, 32), (n % 256, (n // 256) % 256, node * 40)).save(out, "PNG", pnginfo=info)
        return out.getvalue()

    total = int(rate * seconds)
    blobs = [png(n) for n in range(total)]
    folders = [root / f"shot_{i:02d}" for i in range(10)]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    print("ready", flush=True)
    sys.stdin.readline()
    written = {}
    began = time.monotonic()
    for n, blob in enumerate(blobs):
        delay = began + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        path = folders[n % 10] / f"frame_{n:06d}.png"
        with open(path, "wb") as stream:
            stream.write(blob)
        written[str(path)] = time.time()
    took = time.monotonic() - began
    Path(log).write_text(json.dumps(written))
    print(f"{total} {took:.2f}", flush=True)
    """
)


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def configure(url: str, root: Path, state: Path, config: Path) -> Path:
    config.write_text(
        f'state_dir = "{state}"\n[catalog]\nurl = "{url}"\n'
        f'[[roots]]\npath = "{root}"\n[daemon]\nquiet_period = 0.2\n'
    )
    return config


def start_daemon(url: str, root: Path, state: Path, config: Path) -> subprocess.Popen[bytes]:
    configure(url, root, state, config)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    log = open(state.parent / f"{state.name}.log", "wb")  # noqa: SIM115 - lives with the daemon
    return subprocess.Popen(
        [sys.executable, "-m", "provenance", "--config", str(config), "daemon"],
        env=env,
        stderr=log,
        stdout=subprocess.DEVNULL,
    )


def wait_started(process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 600
    while b"reconciliation scan done" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("daemon did not start: " + log.read_text()[-3000:])
        time.sleep(0.1)


def start_writers(
    roots: list[Path], rate: int, seconds: float, work: Path
) -> list[subprocess.Popen[str]]:
    writers = []
    for node, root in enumerate(roots):
        writer = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(root),
                str(rate),
                str(seconds),
                str(work / f"written_{node}.json"),
                str(node),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        writers.append(writer)
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    return writers


def written_by(work: Path, nodes: int) -> dict[str, float]:
    written: dict[str, float] = {}
    for node in range(nodes):
        written.update(json.loads((work / f"written_{node}.json").read_text()))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-fleet-daemons-"))
    try:
        bench(args.url, work, args.nodes, args.rate, args.seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench(url: str, work: Path, nodes: int, rate: int, seconds: float) -> None:
    roots = [work / f"node_{n}" for n in range(nodes)]
    for n, root in enumerate(roots):
        root.mkdir()
        (work / f"state_{n}").mkdir(mode=0o700)
    # a fleet shares one audit key: the first node makes it, the others get a copy
    first = configure(url, roots[0], work / "state_0", work / "node_0.toml")
    # (made with the first event written: a hold on the empty root, released at once; on a
    # catalog an earlier run signed, whose key went with it, a new key as for a lost one)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "provenance", "--config", str(first)]
    held = subprocess.run(
        [*command, "hold", str(roots[0]), "--reason", "bench: the fleet's audit key"],
        env=env,
        capture_output=True,
    )
    if held.returncode != 0:
        subprocess.run([*command, "audit", "new-key", "--lost"], env=env, check=True)
    else:
        subprocess.run([*command, "release", str(roots[0])], env=env, check=True)
    for n in range(1, nodes):
        shutil.copy2(work / "state_0" / "audit.key", work / f"state_{n}" / "audit.key")
    daemons = [
        start_daemon(url, root, work / f"state_{n}", work / f"node_{n}.toml")
        for n, root in enumerate(roots)
    ]
    seen: dict[str, float] = {}
    try:
        for n, daemon in enumerate(daemons):
            wait_started(daemon, work / f"state_{n}.log")
        with psycopg.connect(_plain(url), autocommit=True) as conn:
            have = conn.execute("SELECT count(*) FROM assets").fetchone()[0]  # type: ignore[index]
            last_id = conn.execute("SELECT coalesce(max(id), 0) FROM assets").fetchone()[0]  # type: ignore[index]
            print(
                f"{nodes} daemons started on one catalog of {have:,} assets; "
                f"each fed {rate} files/s for {seconds:.0f} s",
                flush=True,
            )
            writers = start_writers(roots, rate, seconds, work)
            for writer in writers:
                assert writer.stdin is not None
                writer.stdin.write("go\n")
                writer.stdin.flush()
            total = int(rate * seconds) * nodes
            deadline = time.monotonic() + seconds + 180
            prefix = str(work) + "/"
            start_id = last_id
            while len(seen) < total and time.monotonic() < deadline:
                # ids are taken at insert, visible at commit: a node's batch may commit after
                # another's with higher ids, so the last MARGIN ids are read again
                rows = conn.execute(
                    "SELECT id, path FROM assets WHERE id > %s ORDER BY id",
                    (max(start_id, last_id - MARGIN),),
                ).fetchall()
                now = time.time()
                for row_id, path in rows:
                    if path.startswith(prefix):
                        seen.setdefault(path, now)
                    last_id = max(last_id, row_id)
                time.sleep(0.02)
            for writer in writers:
                assert writer.stdout is not None
                print(f"  writer: {writer.stdout.readline().strip()} (files, seconds)")
                writer.wait(60)
            time.sleep(2.0)  # anything recorded twice would show by now
            rows, paths = conn.execute(
                "SELECT count(*), count(DISTINCT path) FROM assets WHERE root = ANY(%s)",
                ([str(root) for root in roots],),
            ).fetchone()  # type: ignore[misc]
            indexed = conn.execute(
                "SELECT count(*), count(DISTINCT e.asset_id) FROM events e JOIN assets a "
                "ON a.id = e.asset_id WHERE a.root = ANY(%s) AND e.action IN ('indexed', 'copied')",
                ([str(root) for root in roots],),
            ).fetchone()
            ai = conn.execute(
                "SELECT count(*) FROM assets WHERE root = ANY(%s) AND ai_class != 'none'",
                ([str(root) for root in roots],),
            ).fetchone()[0]  # type: ignore[index]
    finally:
        for daemon in daemons:
            daemon.send_signal(signal.SIGTERM)
        for daemon in daemons:
            daemon.wait(60)
    written = written_by(work, nodes)
    latencies = [seen[p] - t for p, t in written.items() if p in seen]
    missing = len(written) - len(latencies)
    print(
        f"  catalog: {rows:,} rows for {len(written):,} files written ({paths:,} distinct paths, "
        f"{missing} never seen, {rows - paths} duplicates); {ai:,} AI, "
        f"indexed or copied events {indexed[0]:,} for {indexed[1]:,} assets"  # type: ignore[index]
    )
    print(
        f"  daemons: latency close -> catalog p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
        "(target p99 < 2 s)",
        flush=True,
    )
    if missing:
        by_root = {str(root): sum(1 for p in written if p.startswith(f"{root}/")) for root in roots}
        found = {str(root): sum(1 for p in seen if p.startswith(f"{root}/")) for root in roots}
        for n, root in enumerate(roots):
            print(f"  node {n}: {found[str(root)]}/{by_root[str(root)]} seen")
            if found[str(root)] < by_root[str(root)]:
                print(textwrap.indent((work / f"state_{n}.log").read_text()[-3000:], "    | "))
    daemon_p99 = percentile(latencies, 0.99)
    # peer: the same load on the same roots, bare watchdog observers
    peer_roots = [work / f"peer_{n}" for n in range(nodes)]
    peers = []
    for n, root in enumerate(peer_roots):
        root.mkdir()
        peers.append(
            subprocess.Popen(
                [sys.executable, "-c", FLUSHED_PEER, str(root), str(work / f"peer_{n}.log")],
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    for peer in peers:
        assert peer.stdout is not None and peer.stdout.readline().strip() == "ready"
    writers = start_writers(peer_roots, rate, seconds, work)
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    for writer in writers:
        assert writer.stdout is not None
        writer.stdout.readline()
        writer.wait(60)
    time.sleep(2.0)
    for peer in peers:
        peer.kill()
        peer.wait(60)
    events: dict[str, float] = {}
    for n in range(nodes):
        for line in (work / f"peer_{n}.log").read_text().splitlines():
            path, at = json.loads(line)
            events.setdefault(path, at)
    written = written_by(work, nodes)
    peer_latencies = [events[p] - t for p, t in written.items() if p in events]
    peer_p99 = percentile(peer_latencies, 0.99)
    print(
        f"  peer (bare watchdog observers, no-op handler): {len(peer_latencies):,}/{len(written):,} "
        f"close events; p50 {statistics.median(peer_latencies) * 1000:.1f} ms, "
        f"p99 {peer_p99 * 1000:.1f} ms; ratio p99 daemons/peer {daemon_p99 / peer_p99:.0f}x"
    )


if __name__ == "__main__":
    main()
