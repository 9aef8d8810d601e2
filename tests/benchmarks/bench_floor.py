"""Benchmark: the least any scan written in Python can cost, beside the peers and our scan.

Run by hand (not part of the test run):

    python3 tests/benchmarks/bench_floor.py [--files 200000] [--keep DIR] [--repeat 3]

On a tree of small JPEGs (bench_scan's ``generate_many``), in one run, each just after the
tree is read once more (warm cache), it times:
  - the peers the issue names: `find ROOT -type f -print0 | xargs -0 b3sum` (a first scan's
    peer) and `find ROOT -newer STAMP` (a re-scan's);
  - three bare Python programs, each a fresh interpreter (so start-up counts, as it does for
    us): a walk of the tree with ``os.scandir`` and one ``os.lstat`` a file, nothing else
    (the least a re-scan in one process does: it must see every file's size and time); that
    walk split over two forked processes, each comparing its files' size, mtime and inode
    with the rows our first scan wrote, read from the catalog with ``sqlite3`` in path order
    (the least a re-scan on two cores does: no moves, sidecars or missing files); and the
    walk with every file opened, read, hashed with BLAKE3 and closed in two forked
    processes (the least a first scan does: no detection, no catalog, no tag);
  - `provenance scan` of the tree, first (a fresh catalog) and again (nothing changed), its
    bytecode compiled first as bench_scan's is.
It prints each time and the ratios: bare Python over the peer (the floor of a scan written
in Python), ours over the peer (what the issue measures) and ours over the floor (what is
left to take out of our own code).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_scan import compile_bytecode, generate_many, timed

#: A walk in path order, as a scan's: every file's path and lstat, no link followed.
_WALK = """
import os, sys
def walk(folder):
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            yield from walk(e.path)
        else:
            yield e.path, os.lstat(e.path)
"""

#: The least a re-scan in one process does: the walk.
BARE_WALK = _WALK + "print(sum(1 for _ in walk(sys.argv[1])))\n"

#: The least a re-scan on two cores does: the root's folders in two halves, each walked in a
#: forked process and merged, in path order, with the catalog's rows of that half; a file is
#: changed when it is new or its size, mtime or inode differs, and a row the walk passes is
#: gone. Prints the files seen and changed (0 on an unchanged tree).
BARE_RESCAN = (
    _WALK
    + """
import multiprocessing, sqlite3
def compare(folders, low, high, catalog):
    rows = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True).execute(
        "SELECT path, size, mtime_ns, inode FROM assets WHERE path >= ? AND path < ?"
        " ORDER BY path", (low, high))
    known, seen, changed = next(rows, None), 0, 0
    for folder in folders:
        for path, info in walk(folder):
            seen += 1
            while known is not None and known[0] < path:
                changed, known = changed + 1, next(rows, None)
            if known is not None and known[0] == path:
                changed += known[1:] != (info.st_size, info.st_mtime_ns, info.st_ino)
                known = next(rows, None)
            else:
                changed += 1
    gone = (known is not None) + sum(1 for _ in rows)  # rows after the last file walked
    return seen, changed + gone
if __name__ == "__main__":
    root, catalog = sys.argv[1], sys.argv[2]
    tops = sorted(entry.path for entry in os.scandir(root))  # the tree's reel folders
    half = len(tops) // 2
    parts = [(tops[:half], tops[0], tops[half], catalog),
             (tops[half:], tops[half], root + "0", catalog)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        counts = pool.starmap(compare, parts)
    print(sum(seen for seen, _ in counts), sum(changed for _, changed in counts))
"""
)

#: The least a first scan does: the walk, then every file read whole and hashed in two
#: forked processes, 128 files a task, the hashes sent back.
BARE_READ = (
    _WALK
    + """
import multiprocessing
from blake3 import blake3
def read(paths):
    out = []
    for path in paths:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            out.append(blake3(os.read(fd, os.fstat(fd).st_size + 1)).hexdigest())
        finally:
            os.close(fd)
    return out
if __name__ == "__main__":
    paths = [path for path, _ in walk(sys.argv[1])]
    chunks = [paths[i : i + 128] for i in range(0, len(paths), 128)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        print(sum(len(r) for r in pool.imap(read, chunks)))
"""
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing (median)")
    args = parser.parse_args()
    if shutil.which("b3sum") is None:
        sys.exit("error: b3sum is not installed (apt install b3sum)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_floor_"))
    tree = work / f"small_{args.files}"
    if not tree.exists():
        print(f"generating {args.files} small files under {tree} ...", flush=True)
        generate_many(tree, args.files)
    print(compile_bytecode())
    python = sys.executable
    ours = [python, "-m", "provenance", "scan", str(tree)]
    state = work / "state_floor"
    env = {**os.environ, "PROVENANCE_STATE_DIR": str(state)}
    stamp = work / "stamp"
    bare_rescan = [python, "-c", BARE_RESCAN, str(tree), str(state / "catalog.sqlite")]
    runs: dict[str, list[float]] = {}

    def add(name: str, seconds: float) -> None:
        runs.setdefault(name, []).append(seconds)

    for _ in range(args.repeat):  # interleaved, so that a slow spell of the machine hits all
        add("b3sum", timed(f"find {tree} -type f -print0 | xargs -0 b3sum", tree=tree))
        stamp.touch()
        add("find -newer", timed(["find", str(tree), "-newer", str(stamp)], tree=tree))
        add("bare walk", timed([python, "-c", BARE_WALK, str(tree)], tree=tree))
        add("bare read", timed([python, "-c", BARE_READ, str(tree)], tree=tree))
        shutil.rmtree(state, ignore_errors=True)
        subprocess.run(f"find {tree} -name '*.xmp' -delete", shell=True, check=True)
        add("first scan", timed(ours, env, tree))
        add("re-scan", timed(ours, env, tree))
        add("bare re-scan", timed(bare_rescan, tree=tree))
    # the bare re-scan compared what it had to: every file, and none changed
    said = subprocess.run(bare_rescan, check=True, capture_output=True, text=True).stdout.split()
    if said != [str(args.files), "0"]:
        sys.exit(f"error: the bare re-scan saw {' '.join(said)}, not {args.files} files unchanged")
    median = {name: statistics.median(times) for name, times in runs.items()}
    print(f"{args.files} small files; cores: {os.cpu_count()}; medians of {args.repeat} runs")
    for name, seconds in median.items():
        print(f"  {name:<12} {seconds:7.2f} s")
    for what, floor, peer in (
        ("first scan", "bare read", "b3sum"),
        ("re-scan", "bare walk", "find -newer"),
    ):
        print(
            f"{what}: bare Python / {peer} = {median[floor] / median[peer]:.2f}x;"
            f" ours / {peer} = {median[what] / median[peer]:.2f}x (target <= 2x);"
            f" ours / bare Python = {median[what] / median[floor]:.2f}x"
        )
    print(
        "re-scan on two cores: bare Python (walk and compare with the catalog) / find -newer"
        f" = {median['bare re-scan'] / median['find -newer']:.2f}x"
    )
    if args.keep is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
