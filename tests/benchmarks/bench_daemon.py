"""Benchmark: the daemon under a burst of new files, and idle on a big tree, against a bare
watchdog observer on the same folders.

Run by hand (not part of the test run):

    python3 tests/benchmarks/bench_daemon.py [--rate 1000] [--seconds 10] [--idle-files 20000]
                                             [--idle-folders 2000] [--idle-seconds 60]

1. Burst: a daemon (``python3 -m provenance daemon``, SQLite, quiet period 0.2 s) watches an
   empty root; ``--rate`` small PNG files a second (1 in 10 with AI marks) are written into
   it for ``--seconds``. The catalog is polled every 10 ms; each file's latency is the time
   from the end of its write (close) to its row being visible. Prints p50/p99/max latency and
   throughput. Peer: the same load with a bare watchdog observer (no-op handler, inotify) in
   its own process; its latency is write-close to the handler's close event.
2. Idle: the daemon watches ``--idle-files`` files in ``--idle-folders`` folders (after its
   start-up scan); RSS and CPU are measured over ``--idle-seconds``, beside a bare watchdog
   observer on the same tree over the same minute.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from PIL import Image, PngImagePlugin

REPO = Path(__file__).resolve().parents[2]
TICK = os.sysconf("SC_CLK_TCK")

PEER = textwrap.dedent(
    """
    import sys, time, json
    from watchdog import events as e
    from watchdog.events import FileSystemEventHandler, FileClosedEvent
    from watchdog.observers import Observer

    # the events the daemon asks for (with watchdog's default, every open and close-nowrite
    # too, its own re-walk after a queue overflow overflows the queue again on a big tree)
    FILTER = [e.FileCreatedEvent, e.FileModifiedEvent, e.FileAttribEvent, e.FileClosedEvent,
              e.FileDeletedEvent, e.FileMovedEvent, e.DirCreatedEvent, e.DirDeletedEvent,
              e.DirMovedEvent]

    log = open(sys.argv[2], "w") if sys.argv[2] else None

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event):
            if log is not None and isinstance(event, FileClosedEvent):
                log.write(json.dumps([event.src_path, time.time()]) + "\\n")

    observer = Observer()
    observer.schedule(Handler(), sys.argv[1], recursive=True, event_filter=FILTER)
    observer.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        observer.stop()
        observer.join()
        if log is not None:
            log.close()
    """
)


def png(n: int) -> bytes:
    info = PngImagePlugin.PngInfo()
    if n % 10 == 0:
        info.add_text(
            "parameters", f"a castle\nSteps: 20, Sampler: Euler a, Seed: {n}, Model: sdxl"
        )
    else:
        info.add_text("Comment", f"plate {n}")
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (n % 256, (n // 256) % 256, 90)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def start_daemon(root: Path, state: Path, config: Path) -> subprocess.Popen[bytes]:
    config.write_text(f'[[roots]]\npath = "{root}"\n[daemon]\nquiet_period = 0.2\n')
    env = {**os.environ, "PYTHONPATH": str(REPO), "PROVENANCE_STATE_DIR": str(state)}
    log = open(state.parent / "daemon.log", "wb")  # noqa: SIM115 - lives as long as the daemon
    process = subprocess.Popen(
        [sys.executable, "-m", "provenance", "--config", str(config), "daemon"],
        env=env,
        stderr=log,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while b"reconciliation scan done" not in (state.parent / "daemon.log").read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("daemon did not start: " + (state.parent / "daemon.log").read_text())
        time.sleep(0.1)
    return process


def start_peer(root: Path, log: Path | None) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", PEER, str(root), str(log or "")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def write_load(root: Path, rate: int, seconds: float) -> dict[str, float]:
    """Write ``rate`` files a second for ``seconds``; return path -> time its close returned."""
    blobs = [png(n) for n in range(int(rate * seconds))]
    folders = [root / f"shot_{i:02d}" for i in range(10)]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    time.sleep(1.0)  # let the watchers see the new folders first
    written: dict[str, float] = {}
    began = time.monotonic()
    for n, blob in enumerate(blobs):
        due = began + n / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        path = folders[n % 10] / f"frame_{n:06d}.png"
        with open(path, "wb") as stream:
            stream.write(blob)
        written[str(path)] = time.time()
    late = time.monotonic() - began - seconds
    print(
        f"  wrote {len(blobs)} files in {seconds + late:.2f}s ({len(blobs) / (seconds + late):.0f}/s)"
    )
    return written


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_burst(work: Path, rate: int, seconds: float) -> None:
    print(f"burst: {rate} files/s for {seconds:.0f}s, quiet period 0.2 s, SQLite")
    root, state = work / "burst", work / "state"
    root.mkdir()
    state.mkdir()
    daemon = start_daemon(root, state, work / "burst.toml")
    seen: dict[str, float] = {}
    db = sqlite3.connect(f"file:{state / 'catalog.sqlite'}?mode=ro", uri=True, timeout=30)
    try:
        import threading

        done = threading.Event()
        written: dict[str, float] = {}

        def writer() -> None:
            written.update(write_load(root, rate, seconds))
            done.set()

        thread = threading.Thread(target=writer)
        thread.start()
        last_id = 0
        total = int(rate * seconds)
        deadline = time.monotonic() + seconds + 120
        while len(seen) < total and time.monotonic() < deadline:
            rows = db.execute(
                "SELECT id, path FROM assets WHERE id > ? ORDER BY id", (last_id,)
            ).fetchall()
            now = time.time()
            for row_id, path in rows:
                seen[path] = now
                last_id = max(last_id, row_id)
            time.sleep(0.01)
        thread.join()
    finally:
        db.close()
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
    latencies = [seen[p] - t for p, t in written.items() if p in seen]
    first = min(written.values())
    slow = sorted(t - first for p, t in written.items() if p in seen and seen[p] - t > 0.1)
    if slow:
        print(f"  files over 100 ms: {len(slow)}, written at {slow[0]:.2f}s .. {slow[-1]:.2f}s")
    missing = len(written) - len(latencies)
    span = max(seen.values()) - min(written.values())
    print(
        f"  daemon: {len(latencies)}/{len(written)} in the catalog ({missing} missing); "
        f"latency p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms; "
        f"throughput {len(latencies) / span:.0f} files/s"
    )
    # peer: the same load seen by a bare watchdog observer
    peer_root = work / "burst_peer"
    peer_root.mkdir()
    peer = start_peer(peer_root, log=work / "peer.log")
    written = write_load(peer_root, rate, seconds)
    time.sleep(1.0)
    peer.send_signal(signal.SIGINT)
    peer.wait(30)
    events: dict[str, float] = {}
    for line in (work / "peer.log").read_text().splitlines():
        path, at = json.loads(line)
        events.setdefault(path, at)
    peer_latencies = [events[p] - t for p, t in written.items() if p in events]
    print(
        f"  peer (bare watchdog observer, no-op handler): {len(peer_latencies)}/{len(written)} close "
        f"events; latency p50 {statistics.median(peer_latencies) * 1000:.1f} ms, "
        f"p99 {percentile(peer_latencies, 0.99) * 1000:.1f} ms"
    )
    print(
        f"  ratio p99 daemon/peer: {percentile(latencies, 0.99) / percentile(peer_latencies, 0.99):.0f}x "
        f"(the daemon also waits for the close, reads, hashes, detects and writes the catalog)"
    )


def pss(pid: int) -> int:
    """Return the proportional set size (shared pages split between their users), in bytes."""
    text = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    return next(int(line.split()[1]) * 1024 for line in text if line.startswith("Pss:"))


def usage(pid: int) -> tuple[float, int]:
    """Return (CPU seconds, RSS bytes) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    rss = next(
        int(line.split()[1]) * 1024
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return cpu, rss


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(c) for c in text]
    return found + [g for c in found for g in children(c)]


def bench_idle(work: Path, files: int, folders: int, seconds: float) -> None:
    print(f"idle: {files} files in {folders} folders, {seconds:.0f}s")
    root, state = work / "idle", work / "idle_state"
    state.mkdir()
    for n in range(files):
        shot = n * folders // files  # files spread evenly over the folders, 10 reels
        folder = root / f"reel_{shot * 10 // folders:02d}" / f"shot_{shot:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"frame_{n:06d}.png").write_bytes(png(n))
    began = time.monotonic()
    daemon = start_daemon(root, state, work / "idle.toml")
    print(f"  daemon start-up scan of {files} files: {time.monotonic() - began:.1f}s")
    peer = start_peer(root, log=None)
    time.sleep(2)
    try:
        pids = {
            "daemon": [daemon.pid],
            "daemon+children": [daemon.pid, *children(daemon.pid)],
            "peer": [peer.pid],
        }
        before = {k: sum(usage(p)[0] for p in v) for k, v in pids.items()}
        time.sleep(seconds)
        after = {k: [usage(p) for p in v] for k, v in pids.items()}
        shares = {k: sum(pss(p) for p in v) for k, v in pids.items()}
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
        peer.send_signal(signal.SIGINT)
        peer.wait(30)
    for name in pids:
        cpu = sum(c for c, _ in after[name]) - before[name]
        rss = sum(r for _, r in after[name])
        print(
            f"  {name}: RSS {rss / 2**20:.1f} MB (PSS {shares[name] / 2**20:.1f} MB), "
            f"CPU {100 * cpu / seconds:.2f}% of one core "
            f"({len(pids[name])} process{'es' if len(pids[name]) > 1 else ''})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--idle-files", type=int, default=20000)
    parser.add_argument("--idle-folders", type=int, default=2000)
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--skip-burst", action="store_true")
    parser.add_argument("--skip-idle", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-daemon-") as temp:
        work = Path(temp)
        if not args.skip_burst:
            bench_burst(work, args.rate, args.seconds)
        if not args.skip_idle:
            bench_idle(work, args.idle_files, args.idle_folders, args.idle_seconds)


if __name__ == "__main__":
    main()
