"""Drill: the catalog goes away while files arrive; how long after it is back is every file
recorded, and does the daemon live through it.

Run by hand, as root (not part of the test run):

    python3 tests/benchmarks/bench_faults.py [--outage 30] [--files 100]

1. PostgreSQL stopped: a PostgreSQL server of its own (``initdb`` in a temporary folder, its
   own port, run as ``postgres``: no other server is touched) is the daemon's catalog. It is
   stopped for ``--outage`` seconds while ``--files`` PNGs are written into the watched root
   at an even pace; then started again.
2. State disk full: the state directory (its SQLite catalog, the spool, the status file, the
   audit key, made with the first event) on a tmpfs of 16 MB. The tmpfs is filled to the
   last byte for ``--outage`` seconds while the files are written; then the filler is deleted.

Printed for each: files recorded during the outage, seconds from the end of the outage to
the last file recorded, and whether the daemon stayed up. Goal: all within 30 s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from provenance.catalog import Catalog  # noqa: E402
from tests.media import write_plain_png  # noqa: E402
from tests.watch.test_backlog import ThrowawayPostgres  # noqa: E402


def _recorded(url: str) -> set[str]:
    try:
        catalog = Catalog.open(url)
    except Exception:  # the catalog is out: nothing can be counted now
        return set()
    try:
        with catalog.read() as tx:
            return {asset.path for asset in tx.list_assets()}
    except Exception:
        return set()
    finally:
        catalog.close()


def _drill(
    name: str,
    url: str,
    folder: Path,
    files: int,
    outage: float,
    fault: Callable[[bool], None],
    state: Path | None = None,
) -> None:
    root = folder / "production"
    root.mkdir()
    state = state or folder / "state"
    config = folder / "daemon.toml"
    config.write_text(
        f'[catalog]\nurl = "{url}"\n[[roots]]\npath = "{root}"\nwatch = "polling"\n'
        "[scan]\nworkers = 1\n[daemon]\nquiet_period = 0.2\npoll_interval = 0.1\n"
    )
    log = open(folder / "daemon.log", "wb")  # noqa: SIM115
    daemon = subprocess.Popen(
        [sys.executable, "-m", "provenance", "--config", str(config), "daemon"],
        env={**os.environ, "PROVENANCE_STATE_DIR": str(state), "PYTHONPATH": str(REPO)},
        stderr=log,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while b"reconciliation scan done" not in (folder / "daemon.log").read_bytes():
            if time.monotonic() > deadline or daemon.poll() is not None:
                raise SystemExit(f"{name}: the daemon did not start")
            time.sleep(0.2)
        fault(True)
        began = time.monotonic()
        paths = []
        for n in range(files):
            paths.append(str(write_plain_png(root / f"f{n:04}.png", color=(n % 256, n // 256, 7))))
            time.sleep(max(0.0, began + (n + 1) * outage / files - time.monotonic()))
        during = len(set(paths) & _recorded(url))
        fault(False)
        back = time.monotonic()
        wanted = set(paths)
        while not wanted <= _recorded(url) and time.monotonic() - back < 120:
            time.sleep(0.2)
        took = time.monotonic() - back
        done = len(wanted & _recorded(url))
        alive = daemon.poll() is None
        print(
            f"{name:24} {files} files over {outage:.0f} s: {during} recorded during the outage, "
            f"{done}/{files} recorded {took:.1f} s after it ended; daemon alive: {alive}",
            flush=True,
        )
    finally:
        daemon.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.wait(10)
        daemon.kill()
        log.close()


def _postgres(files: int, outage: float) -> None:
    server = ThrowawayPostgres()
    folder = Path(tempfile.mkdtemp(prefix="provenance-drill-"))
    try:
        server.start()
        _drill(
            "PostgreSQL stopped",
            server.url,
            folder,
            files,
            outage,
            lambda down: server.stop() if down else server.start(),
        )
    finally:
        server.remove()
        shutil.rmtree(folder, ignore_errors=True)


def _full_disk(files: int, outage: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="provenance-drill-"))
    disk = folder / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], check=True)
    filler = disk / "filler"

    def fault(down: bool) -> None:
        if not down:
            filler.unlink()
            return
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for size in (65536, 4096, 1):  # to the last byte
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, b"\0" * size)
        finally:
            os.close(fd)

    try:
        state = disk / "state"
        url = f"sqlite:///{state}/catalog.sqlite"
        _drill("state disk full", url, folder, files, outage, fault, state)
    finally:
        subprocess.run(["umount", str(disk)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=30.0)
    parser.add_argument("--files", type=int, default=100)
    options = parser.parse_args()
    _postgres(options.files, options.outage)
    _full_disk(options.files, options.outage)


if __name__ == "__main__":
    main()
