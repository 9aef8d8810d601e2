"""Benchmark: pictures of the real-sample corpus, made in the reader workers, beside Pillow's
own ``thumbnail()`` in this process (the peer: no worker, no budget, no content check).

Run by hand (not part of the test run):

    python3 tests/benchmarks/bench_thumbnails.py [--rounds 3]

For each image and video of ``../shared/corpus`` (read in place): ours is
``Thumbnailer.pictures`` with an empty cache (the workers already started: their start is
timed apart), one file at a time, so each figure is one file's round trip: open from the root,
check the content hash, decode in draft mode, WebP; the peer opens the same file with
Pillow, ``thumbnail((128, 128))`` and saves WebP at the same quality. Then the time to
take all of them back from the cache. Prints ms per file for both, their ratio, and the
pictures' sizes.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from provenance.files.hashing import hash_file  # noqa: E402
from provenance.files.readfile import ReadOptions  # noqa: E402
from provenance.files.thumbnails import (  # noqa: E402
    IMAGE_FORMATS,
    MAX_SIDE,
    QUALITIES,
    Thumbnailer,
    Wanted,
    _sniff,
)
from tests.detect.corpus import CORPUS  # noqa: E402


def peer(path: Path) -> int:
    """Pillow alone, in this process: open, thumbnail, WebP."""
    with Image.open(path) as image:
        image.thumbnail((MAX_SIDE, MAX_SIDE))
        out = io.BytesIO()
        image.convert("RGBA" if "A" in image.mode else "RGB").save(
            out, "WEBP", quality=QUALITIES[0], method=4
        )
    return out.tell()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    files = sorted(p for p in CORPUS.iterdir() if p.is_file() and p.name != "MANIFEST.tsv")
    images, videos = [], []
    for path in files:
        kind = _sniff(path.read_bytes()[:64])
        if kind in IMAGE_FORMATS:
            images.append(path)
        elif kind.startswith("video/"):
            videos.append(path)
    wanted = {p: Wanted(str(CORPUS), str(p), hash_file(p)) for p in images + videos}
    ours: dict[Path, list[float]] = {p: [] for p in wanted}
    theirs: dict[Path, list[float]] = {p: [] for p in images}
    sizes: dict[Path, int] = {}
    for _ in range(args.rounds):
        with (
            tempfile.TemporaryDirectory() as state,
            Thumbnailer(Path(state), ReadOptions(), ffmpeg="ffmpeg", workers=1) as maker,
        ):
            started = time.perf_counter()
            maker.pictures([Wanted(str(CORPUS), str(images[0]), "blake3:" + "0" * 64)])
            start_ms = (time.perf_counter() - started) * 1000
            for path, asked in wanted.items():
                began = time.perf_counter()
                data = maker.picture(asked)
                ours[path].append((time.perf_counter() - began) * 1000)
                sizes[path] = len(data) if data else 0
            began = time.perf_counter()
            kept = maker.pictures(wanted.values())
            cached_ms = (time.perf_counter() - began) * 1000
        for path in images:
            began = time.perf_counter()
            peer(path)
            theirs[path].append((time.perf_counter() - began) * 1000)
    print(f"{'file':44} {'ours ms':>8} {'Pillow ms':>9} {'ratio':>6} {'bytes':>6}")
    for path in images + videos:
        mine = statistics.median(ours[path])
        if path in theirs:
            other = statistics.median(theirs[path])
            print(f"{path.name:44} {mine:8.1f} {other:9.1f} {mine / other:6.2f} {sizes[path]:6d}")
        else:
            print(f"{path.name:44} {mine:8.1f} {'(video)':>9} {'':6} {sizes[path]:6d}")
    mine_images = sum(statistics.median(ours[p]) for p in images) / len(images)
    other_images = sum(statistics.median(theirs[p]) for p in images) / len(images)
    made = [sizes[p] for p in wanted if sizes[p]]
    print(
        f"\nimages: {len(images)}, ours {mine_images:.1f} ms a file in the worker, Pillow "
        f"in-process {other_images:.1f} ms (ratio {mine_images / other_images:.2f})"
    )
    if videos:
        video_ms = sum(statistics.median(ours[p]) for p in videos) / len(videos)
        print(f"videos: {len(videos)}, {video_ms:.1f} ms a poster frame (ffmpeg), no peer")
    print(
        f"pictures: {len(made)} made, {min(made)}-{max(made)} bytes (median "
        f"{statistics.median(made):.0f}); first worker start {start_ms:.0f} ms; all "
        f"{len(kept)} from the cache in {cached_ms:.1f} ms"
    )


if __name__ == "__main__":
    main()
