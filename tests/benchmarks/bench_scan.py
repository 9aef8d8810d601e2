"""Benchmark: full scan, re-scan and peak memory against b3sum and exiftool on the same tree.

Run by hand (not part of the test run):

    python3 tests/benchmarks/bench_scan.py [--files 20000] [--large 12] [--large-mb 200]
        [--ai-large 4] [--frames 0] [--hash identity|all] [--keep DIR] [--repeat 5]
        [--scale 200000] [--cold]

It generates a tree of small PNG/JPEG/WebP images (about 1 in 10 with AI marks) and a few
large media files (``--ai-large`` of them AI renders: about a third of the bytes by
default), or with ``--frames N`` a frame-sequence tree (N frames that are not AI, and AI
renders about 2% of the bytes), compiles provenance's bytecode if it is not (as
`pip install .` does), then times, in one run, each just after the whole tree is read once
more (warm cache):
  - `provenance scan` (a fresh catalog; subprocess, so start-up counts; ``--hash all``
    scans with ``[scan] hash = "all"`` from a config file),
  - `find ROOT -type f -print0 | xargs -0 b3sum` (peer: hashing alone, multi-threaded),
  - `find ROOT -type f -print0 | xargs -0 -n 64 -P2 b3sum` (peer: two b3sum at a time),
  - `exiftool -r -json -fast2 ROOT` (peer: metadata reading alone),
  - a re-scan of the unchanged tree,
and prints each time with the ratios the issue names, plus peak RSS of the scan's processes.
With ``--scale N`` it also scans a tree of N small files, first and again, and prints the
peak RSS of each (memory must stay flat whatever the tree size), beside `find|xargs b3sum`
of that tree (for the first scan) and `find ROOT -newer STAMP` (for the re-scan).
With ``--cold`` (root only) the page cache is emptied before each timed run instead, and the
programs (not the tree) run once to be in memory again: the tree comes from the disk, as a
first scan of storage far larger than memory reads it.
"""

from __future__ import annotations

import argparse
import compileall
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, PngImagePlugin

A1111 = "a castle, dawn\nNegative prompt: blur\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: {n}, Model: sdxl"


def _png(n: int, ai: bool) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters" if ai else "Comment", A1111.format(n=n) if ai else f"plate {n}")
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (n % 256, (n // 256) % 256, 90)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _jpeg(base: bytes, n: int) -> bytes:
    comment = f"frame {n}".encode()
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    return base[:2] + segment + base[2:]


def _ai_render(stream: io.BufferedWriter, n: int, size: int, rng_block: bytes) -> None:
    """Write an AI render of ``size`` bytes: an A1111 PNG, then bytes after its end."""
    head = _png(n, ai=True)
    stream.write(head)
    left = size - len(head)
    while left > 0:
        part = rng_block[: min(left, len(rng_block) - 8)] + n.to_bytes(8, "little")
        part = part[:left]
        stream.write(part)
        left -= len(part)


def dpx_header(n: int, size: int) -> bytes:
    """A DPX frame's headers (SMPTE 268M, big endian): image data at 8192, no user data, a
    creator and a project, as a compositing package writes them."""
    header = bytearray(8192)
    header[0:4] = b"SDPX"
    header[4:8] = (8192).to_bytes(4, "big")
    header[8:16] = b"V2.0\0\0\0\0"
    header[16:20] = size.to_bytes(4, "big")
    header[160:175] = b"Nuke 15.1v3 DPX"
    project = f"show_a seq frame {n}".encode()
    header[260 : 260 + len(project)] = project
    return bytes(header)


def generate_frames(root: Path, frames: int, frame_mb: float = 12.0) -> int:
    """Write a frame-sequence tree: ``frames`` frames that are not AI (the same size each, as
    DPX frames are: 12 MiB, a 2K 10-bit frame), 100 a shot, and AI renders about 2% of the
    bytes; return its size."""
    frame_size = int(frame_mb * 1024 * 1024)
    rng_block = os.urandom(4 * 1024 * 1024)
    total = 0
    for n in range(frames):
        folder = root / f"seq_{n // 100:03d}"
        if n % 100 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        offset = (n * 4099) % len(rng_block)  # each frame's bytes its own
        body = (rng_block[offset:] + rng_block * (frame_size // len(rng_block) + 1))[:frame_size]
        path = folder / f"frame_{n:07d}.dpx"
        header = dpx_header(n, frame_size)
        path.write_bytes(header + body[len(header) :])
        total += frame_size
    renders = root / "renders"
    renders.mkdir(exist_ok=True)
    ai_bytes, n = 0, 0
    while ai_bytes < total * 0.02:
        size = frame_size + 1000 + n  # not a frame's size: no frame is a possible copy
        with open(renders / f"render_{n:04d}.png", "wb") as stream:
            _ai_render(stream, n, size, rng_block)
        ai_bytes += size
        n += 1
    return total + ai_bytes


def generate(root: Path, files: int, large: int, large_mb: int, ai_large: int = 0) -> int:
    """Write the tree; return its size in bytes."""
    rng_block = os.urandom(1024 * 1024)
    jpeg_out = io.BytesIO()
    Image.effect_noise((512, 512), 40).convert("RGB").save(jpeg_out, "JPEG", quality=90)
    jpeg_base = jpeg_out.getvalue()
    webp_out = io.BytesIO()
    Image.effect_noise((256, 256), 40).convert("RGB").save(webp_out, "WEBP", quality=80)
    webp_base = webp_out.getvalue()
    total = 0
    for n in range(files - large):
        folder = root / f"reel_{n // 2000:02d}" / f"shot_{n // 10:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        kind = n % 3
        if kind == 0:
            path, data = folder / f"img_{n:06d}.png", _png(n, ai=n % 10 == 0)
        elif kind == 1:
            path, data = folder / f"img_{n:06d}.jpg", _jpeg(jpeg_base, n)
        else:
            # an unknown RIFF chunk appended keeps the WebP valid and the content unique
            body = webp_base[8:] + b"NOTE" + (8).to_bytes(4, "little") + n.to_bytes(8, "little")
            path, data = (
                folder / f"img_{n:06d}.webp",
                b"RIFF" + len(body).to_bytes(4, "little") + body,
            )
        path.write_bytes(data)
        total += len(data)
    media = root / "media"
    media.mkdir(exist_ok=True)
    for n in range(large):
        if n < ai_large:  # an AI render (an A1111 PNG of the same size)
            with open(media / f"render_{n:03d}.png", "wb") as stream:
                _ai_render(stream, n, large_mb * 1024 * 1024 + n, rng_block)
            total += (media / f"render_{n:03d}.png").stat().st_size
            continue
        with open(media / f"plate_{n:03d}.mov", "wb") as stream:
            stream.write(b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ")
            for block in range(large_mb):
                stream.write(
                    rng_block[: 1024 * 1024 - 8]
                    + block.to_bytes(4, "little")
                    + n.to_bytes(4, "little")
                )
        total += (media / f"plate_{n:03d}.mov").stat().st_size
    return total


def generate_many(root: Path, files: int) -> None:
    """Write ``files`` small JPEGs (100 a folder) for the memory figure: a big tree of small
    files is what makes a scan's bookkeeping grow."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(out, "JPEG")
    base = out.getvalue()
    for n in range(files):
        folder = root / f"reel_{n // 10000:03d}" / f"shot_{n // 100:05d}"
        if n % 100 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"frame_{n:07d}.jpg").write_bytes(_jpeg(base, n))


def peak_rss(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``command``; return its seconds and the peak RSS (MiB) of its largest process."""
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, "
        "stderr=subprocess.DEVNULL); "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *command], env=env, check=True, capture_output=True
    )
    seconds, kib = out.stdout.split()
    return float(seconds), int(kib) / 1024


def timed(
    command: str | list[str], env: dict[str, str] | None = None, tree: Path | None = None
) -> float:
    # the tree is read once just before (the "warm cache": some machines page out
    # page cache they think idle, see reclaim_note), and what the run before wrote (a fresh
    # tree, a scan's tags and catalog) goes to the disk, so that no run is timed beside
    # the writing back of another's files
    if tree is not None:
        if COLD is not None:
            COLD()
        else:
            warm(tree)
    os.sync()
    start = time.perf_counter()
    subprocess.run(
        command,
        shell=isinstance(command, str),
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


#: With ``--cold``: empties the page cache and warms the programs (not the tree) before each
#: timed run, so that the tree is read from the disk, as a first scan of storage far larger
#: than memory reads it.
COLD: Callable[[], None] | None = None


def cold(programs: list[list[str]], env: dict[str, str]) -> Callable[[], None]:
    """Return what empties the page cache (root only) and then runs ``programs`` once each,
    so that their own code is in memory again (a tool's start-up is not the storage's)."""

    def cool() -> None:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        for program in programs:
            subprocess.run(program, env=env, check=True, capture_output=True)

    return cool


def reclaim_note() -> str | None:
    """Say so when the kernel's DAMON pages out memory it sees as idle (some virtual
    machines run it to give memory back to their host): page cache filled by read() looks
    idle to it, so a file read a minute ago may be read from the disk again."""
    for kdamond in Path("/sys/kernel/mm/damon/admin/kdamonds").glob("*"):
        try:
            if (kdamond / "state").read_text().strip() != "on":
                continue
            actions = {a.read_text().strip() for a in kdamond.glob("contexts/*/schemes/*/action")}
        except OSError:
            continue
        if "pageout" in actions:
            return (
                f"note: DAMON ({kdamond}) pages out idle memory on this machine, page cache "
                "too: the tree is read again before each timed run, and runs still vary"
            )
    return None


def compile_bytecode() -> str:
    """Compile the bytecode of the provenance package this interpreter runs (the console
    script beside it runs the same), as ``pip install .`` does; up-to-date files are left.

    A scan's start-up is a third of its time on this tree, and an editable install run with
    PYTHONDONTWRITEBYTECODE set (as some sandboxes and containers do) compiles every module
    from source on every run: about 0.15 s more per scan than a user's installed package.
    """
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, provenance; print(os.path.dirname(provenance.__file__))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    compileall.compile_dir(where, quiet=1)
    return f"bytecode of {where} compiled, as `pip install .` does"


def warm(root: Path) -> None:
    subprocess.run(
        f"find {root} -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=12)
    parser.add_argument("--large-mb", type=int, default=200)
    parser.add_argument(
        "--ai-large", type=int, default=4, help="of the large files, how many are AI renders"
    )
    parser.add_argument(
        "--frames",
        type=int,
        default=0,
        help="a frame-sequence tree of this many 12 MiB frames (AI about 2%% of the bytes)",
    )
    parser.add_argument("--hash", choices=("identity", "all"), default="identity")
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each timing (median)")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="read the tree from the disk in every timed run (page cache emptied; root only)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        help="also measure peak memory on a tree of this many small files (e.g. 200000)",
    )
    args = parser.parse_args()
    for tool in ("b3sum", "exiftool"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (Debian: b3sum, libimage-exiftool-perl)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="provenance-bench-"))
    root = work / (f"frames_{args.frames}" if args.frames else "tree")
    if not root.exists():
        print(f"generating under {root} ...", flush=True)
        if args.frames:
            size = generate_frames(root, args.frames)
        else:
            size = generate(root, args.files, args.large, args.large_mb, args.ai_large)
    else:
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    count = sum(1 for p in root.rglob("*") if p.is_file() and p.suffix != ".xmp")
    print(
        f"tree: {count} files, {size / 2**30:.2f} GiB; cores: {os.cpu_count()}; "
        f"load average {os.getloadavg()[0]:.2f}; [scan] hash = {args.hash!r}"
    )
    warm(root)
    state = work / "state"
    env = {**os.environ, "PROVENANCE_STATE_DIR": str(state)}
    if args.hash == "all":
        config = work / "provenance.toml"
        config.write_text(f'state_dir = "{state}"\n[scan]\nhash = "all"\n')
        env["PROVENANCE_CONFIG"] = str(config)
    # the console script pip installed beside this interpreter, as a user runs it (not a
    # version manager's shim in front of it, which adds its own start-up), else python -m
    beside = Path(sys.executable).parent / "provenance"
    script = str(beside) if beside.is_file() else shutil.which("provenance")
    command = [script] if script else [sys.executable, "-m", "provenance"]
    scan = [*command, "scan", str(root)]
    print(compile_bytecode())
    note = reclaim_note()
    if note and not args.cold:
        print(note)
    if args.cold:
        global COLD
        empty = work / "empty"
        empty.mkdir(exist_ok=True)
        # a catalog of its own: the timed first scan still starts with none
        warmup_env = {k: v for k, v in env.items() if k != "PROVENANCE_CONFIG"}
        warmup_env["PROVENANCE_STATE_DIR"] = str(work / "state_warmup")
        COLD = cold(
            [
                [*command, "scan", str(empty)],
                ["b3sum", "--version"],
                ["find", "--version"],
                ["xargs", "--version"],
                ["exiftool", "-ver"],
            ],
            warmup_env,
        )
        print("cold: the page cache is emptied before each timed run (the programs warmed)")

    def first_scan() -> float:
        # a fresh catalog, and no sidecars left from the run before
        shutil.rmtree(state, ignore_errors=True)
        subprocess.run(f"find {root} -name '*.xmp' -delete", shell=True, check=True)
        return timed(scan, env, root)

    # scans and peers alternate, each run --repeat times; medians are compared
    scans, hashes, pairs, rescans = [], [], [], []
    usage = None
    for _ in range(args.repeat):
        scans.append(first_scan())
        if usage is None:
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # before any peer runs
        hashes.append(timed(f"find {root} -type f -print0 | xargs -0 b3sum", tree=root))
        pairs.append(timed(f"find {root} -type f -print0 | xargs -0 -n 64 -P2 b3sum", tree=root))
        rescans.append(timed(scan, env, root))
    t_scan, t_b3, t_p2, t_rescan = (statistics.median(v) for v in (scans, hashes, pairs, rescans))
    t_exif = timed(f"exiftool -r -json -fast2 {root}", tree=root)
    print(f"{' '.join(Path(c).name for c in command)} scan; medians of {args.repeat} runs")
    print(f"full scans          {' '.join(f'{t:.2f}' for t in scans)} s")
    print(f"b3sum runs          {' '.join(f'{t:.2f}' for t in hashes)} s")
    print(f"b3sum -P2 runs      {' '.join(f'{t:.2f}' for t in pairs)} s")
    print(
        f"scan / b3sum -P2 each run: {' '.join(f'{s / p:.2f}' for s, p in zip(scans, pairs, strict=True))}"
    )
    print(f"full scan           {t_scan:8.2f} s")
    print(
        f"b3sum (find|xargs)  {t_b3:8.2f} s   scan / b3sum    = {t_scan / t_b3:5.2f}x  (target <= 1.5x)"
    )
    target = "1.3x" if args.hash == "all" else ("0.25x" if args.frames else "1.0x")
    print(
        f"b3sum -P2           {t_p2:8.2f} s   scan / b3sum -P2 = {t_scan / t_p2:5.2f}x"
        f"  (target <= {target})"
    )
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(
        f"exiftool -fast2     {t_exif:8.2f} s   exiftool / scan = {t_exif / t_scan:5.2f}x  (target >= 10x)"
    )
    print(f"re-scan unchanged   {t_rescan:8.2f} s   (target < 1 s, includes interpreter start-up)")
    print(
        f"peak RSS of the largest scan process (main or worker): "
        f"{usage.ru_maxrss / 1024 if usage else 0:.0f} MiB (target < 200)"
    )
    if args.scale:
        big = work / f"small_{args.scale}"
        if not big.exists():
            print(f"generating {args.scale} small files under {big} ...", flush=True)
            generate_many(big, args.scale)
        warm(big)
        big_env = {**os.environ, "PROVENANCE_STATE_DIR": str(work / "state_small")}
        shutil.rmtree(work / "state_small", ignore_errors=True)
        first_s, first_mib = peak_rss([*command, "scan", str(big)], big_env)
        warm(big)
        again_s, again_mib = peak_rss([*command, "scan", str(big)], big_env)
        print(
            f"{args.scale} small files: first scan {first_s:.1f} s, peak RSS {first_mib:.0f} MiB;"
            f" re-scan {again_s:.1f} s, peak RSS {again_mib:.0f} MiB (target < 200 whatever the"
            " tree size)"
        )
        # the peers on the same tree: hashing it, and finding what changed since a moment ago
        big_b3 = timed(f"find {big} -type f -print0 | xargs -0 b3sum", tree=big)
        stamp = work / "stamp"
        stamp.touch()
        newer = timed(f"find {big} -newer {stamp}", tree=big)
        print(
            f"b3sum (find|xargs)  {big_b3:8.2f} s   first scan / b3sum = {first_s / big_b3:5.2f}x"
            "  (target <= 2x)"
        )
        print(
            f"find -newer         {newer:8.2f} s   re-scan / find -newer = {again_s / newer:5.2f}x"
            "  (target <= 2x)"
        )
    if args.keep is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
