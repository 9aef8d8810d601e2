"""Benchmark: what each class of hostile file costs a reader, beside an ordinary file.

Run by hand (not part of the test run):

    python3 tests/benchmarks/bench_hostile.py [--runs 3] [--deep | --no-deep]

Each file of ``tests/hostile.py`` (and, as the peer, an ordinary AI-marked PNG and an
ordinary JPEG) is read ``--runs`` times, each time in a new process that reads it the way a
scan does: one ``FileReader`` worker, with the default budgets (``read_seconds`` 30,
``read_memory_mb`` 512), ``--deep`` on by default (the pixel check: the most work). Printed
per class: the worst wall time of the read (the worker already started, detectors loaded)
and the worst peak memory (RSS) of the worker process, with how much of it is over what an
idle worker holds, and what the read said. Goal: at most 2 s and 256 MB per file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.hostile import HOSTILE  # noqa: E402
from tests.media import write_a1111_png, write_plain_jpeg  # noqa: E402

#: Read one file in one worker; print seconds, the worker's peak RSS and an idle one's.
_READ_ONE = textwrap.dedent(
    """
    import json, resource, sys, time
    from provenance.files.reader import FileReader, ReadOptions

    path, deep = sys.argv[1], sys.argv[2] == "1"
    with FileReader(ReadOptions(deep=deep), workers=1) as reader:
        reader.warm_up()
        started = time.perf_counter()
        (result,) = reader.read_many([path])
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    said = getattr(result, "reason", None)
    if said is None:
        verdict = result.verdict
        said = verdict.ai_class + (f"; {verdict.problems[0]}" if verdict.problems else "")
    print(json.dumps({"seconds": seconds, "peak": peak, "said": said}))
    """
)

#: An idle worker: started, detectors loaded, no file read.
_IDLE = textwrap.dedent(
    """
    import json, resource
    from provenance.files.reader import FileReader, ReadOptions

    with FileReader(ReadOptions(deep=True), workers=1) as reader:
        reader.warm_up()
    print(json.dumps({"peak": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))
    """
)


def _run(code: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        timeout=600,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _files(folder: Path) -> dict[str, Path]:
    files = {
        "(ordinary AI PNG)": write_a1111_png(folder / "ordinary" / "castle.png"),
        "(ordinary JPEG)": write_plain_jpeg(folder / "ordinary" / "still.jpg"),
    }
    for name, make in HOSTILE.items():
        path = make(folder / name)
        if name in ("fifo-sidecar", "symlinked-sidecar"):
            path = path.with_name(path.name[: -len(".xmp")])  # the image beside it
        files[name] = path
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deep", action=argparse.BooleanOptionalAction, default=True)
    options = parser.parse_args()
    idle = max(int(_run(_IDLE)["peak"]) for _ in range(options.runs))  # type: ignore[call-overload]
    mb = 1024 * 1024
    print(f"idle worker (detectors loaded): {idle / mb:.0f} MB peak RSS")
    print(f"{'class':26} {'size':>10} {'worst s':>8} {'peak MB':>8} {'over idle':>9}  said")
    with tempfile.TemporaryDirectory() as folder:
        for name, path in _files(Path(folder)).items():
            size = path.stat().st_size
            runs = [
                _run(_READ_ONE, str(path), "1" if options.deep else "0")
                for _ in range(options.runs)
            ]
            seconds = max(float(run["seconds"]) for run in runs)  # type: ignore[arg-type]
            peak = max(int(run["peak"]) for run in runs)  # type: ignore[call-overload]
            said = str(runs[-1]["said"]).replace(folder, "")[:70]
            print(
                f"{name:26} {size:>10} {seconds:>8.3f} {peak / mb:>8.0f} "
                f"{(peak - idle) / mb:>9.0f}  {said}",
                flush=True,
            )


if __name__ == "__main__":
    main()
