"""Reading files once each, in worker processes: results, failures, big files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from provenance.files.hashing import hash_file
from provenance.files.reader import (
    CHUNK_FILES,
    Failure,
    FileFacts,
    FileReader,
    ReadOptions,
    Reads,
    _chunks,
    read_file,
)
from provenance.files.readfile import FailureKind
from provenance.files.walk import FileEntry
from provenance.files.workers import WORKER_NICENESS
from tests.media import write_a1111_png, write_plain_jpeg, write_plain_png
from tests.needs import unavailable
from tests.processes import fork_readers, need_proc, running
from tests.vfx_media import dpx
from tests.watch.conftest import wait_for


def test_pool_reads_every_file_once_and_matches_inline(tmp_path: Path) -> None:
    paths = [
        str(write_a1111_png(tmp_path / f"ai_{n}.png", color=f"#{n:02x}0000")) for n in range(12)
    ]
    paths += [
        str(write_plain_png(tmp_path / f"plain_{n}.png", color=f"#00{n:02x}00")) for n in range(12)
    ]
    with FileReader(ReadOptions(hash_all=True), workers=2) as reader:
        pooled = {r.path: r for r in reader.read_many(paths)}
    assert set(pooled) == set(paths)
    for path in paths:
        result = pooled[path]
        assert isinstance(result, FileFacts)
        assert result.content_hash == hash_file(Path(path))
        assert result.verdict.ai_class == ("ai" if "/ai_" in path else "none")


def test_only_what_needs_an_identity_is_hashed_in_full(tmp_path: Path) -> None:
    ai = str(write_a1111_png(tmp_path / "ai.png"))
    plain = str(write_plain_jpeg(tmp_path / "plain.jpg"))
    twin = str(write_plain_png(tmp_path / "twin.png", color="#0000ff"))
    assert os.path.getsize(plain) != os.path.getsize(twin)
    with FileReader(ReadOptions(), workers=1) as reader:
        # a file whose size is asked for is hashed whatever it reads as (a possible copy)
        results = {
            r.path: r
            for r in reader.read_many(
                [FileEntry(p, os.path.getsize(p), 0, 0, 0) for p in (ai, plain, twin)],
                hash_sizes={os.path.getsize(twin)},
            )
        }
        later = reader.hash_many([(plain, *_stat(plain))])
    assert all(isinstance(r, FileFacts) for r in results.values())
    facts = {path: r for path, r in results.items() if isinstance(r, FileFacts)}
    assert facts[ai].content_hash == hash_file(Path(ai))
    assert facts[twin].content_hash == hash_file(Path(twin))
    assert facts[plain].content_hash is None
    for result in facts.values():
        # the partial fingerprint is never a content hash, and always there
        assert result.fingerprint.startswith("partial:")
        assert result.fingerprint.removeprefix("partial:") != (
            result.content_hash or ""
        ).removeprefix("blake3:")
    assert later == [hash_file(Path(plain))]
    # a file changed since it was read gets no content hash
    size, mtime_ns, inode = _stat(plain)
    with FileReader(ReadOptions(), workers=1) as reader:
        assert reader.hash_many([(plain, size, mtime_ns - 1, inode)]) == [None]


def test_a_partial_fingerprint_covers_the_size_and_both_ends(tmp_path: Path) -> None:
    from provenance.files.hashing import PARTIAL_BLOCK

    body = os.urandom(5 * PARTIAL_BLOCK)
    prints = []
    for name, data in (
        ("same", body),
        ("middle", body[: 2 * PARTIAL_BLOCK] + b"x" + body[2 * PARTIAL_BLOCK + 1 :]),
        ("head", b"x" + body[1:]),
        ("tail", body[:-1] + b"x"),
        ("longer", body + b"x"),
    ):
        path = tmp_path / f"{name}.bin"
        path.write_bytes(data)
        result = read_file(str(path), ReadOptions())
        assert isinstance(result, FileFacts) and result.content_hash is None
        prints.append(result.fingerprint)
    same, middle, head, tail, longer = prints
    assert middle == same  # only the ends are read: a change inside is not seen
    assert len({same, head, tail, longer}) == 4


def _resident(path: Path) -> int:
    """Bytes of ``path`` in the page cache (util-linux's fincore)."""
    out = subprocess.run(
        ["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.split()[0])


def test_a_big_file_that_is_not_ai_is_read_from_the_disk_only_where_touched(
    tmp_path: Path,
) -> None:
    # a frame that is not AI needs its header and its two ends, not the device's read-ahead
    # around its first page (8 MiB on a disk that reads that far ahead: the frame, whole)
    if shutil.which("fincore") is None:
        unavailable("fincore is not installed (Debian: util-linux)")
    path = tmp_path / "shot.0001.dpx"
    with open(path, "wb") as out:
        out.write(dpx(creator="Nuke 15.1", pixels=12 << 20))
        out.flush()
        os.fsync(out.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # out of memory: from the disk
    finally:
        os.close(fd)
    if _resident(path) != 0:
        unavailable(f"{tmp_path} keeps its files in memory (tmpfs?): nothing to measure")
    result = read_file(str(path), ReadOptions())
    assert isinstance(result, FileFacts) and result.content_hash is None
    assert _resident(path) <= 1 << 20


def _stat(path: str) -> tuple[int, int, int]:
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns, info.st_ino


def test_file_deleted_before_reading_is_a_failure(tmp_path: Path) -> None:
    result = read_file(str(tmp_path / "gone.png"), ReadOptions())
    assert isinstance(result, Failure)
    assert (result.kind, result.transient) == (FailureKind.VANISHED, True)
    assert "vanished" in result.reason


def test_a_failure_says_its_kind_whatever_its_reason_reads(tmp_path: Path) -> None:
    # callers act on the kind (the daemon waits for a file being written, a vanished one's
    # delete event follows), never on the reason's words
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    refused = read_file(str(fifo), ReadOptions())
    assert isinstance(refused, Failure)
    assert (refused.kind, refused.transient) == (FailureKind.REFUSED, False)
    with FileReader(ReadOptions(), workers=1) as reader:  # the kind crosses from the worker
        (through_worker,) = reader.read_many([str(fifo)])
    assert through_worker == refused


def test_a_mapped_file_hashes_as_a_streamed_one_across_its_windows(tmp_path: Path) -> None:
    import mmap

    from provenance.files.hashing import hash_mapped

    window = mmap.ALLOCATIONGRANULARITY
    for size in (0, 1, window - 1, window, window + 1, 3 * window + window // 2):
        path = tmp_path / f"file_{size}.bin"
        path.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
        fd = os.open(path, os.O_RDONLY)
        try:
            assert hash_mapped(fd, size, window) == hash_file(path), size
        finally:
            os.close(fd)


def test_hashing_a_mapped_file_keeps_memory_flat(tmp_path: Path) -> None:
    # a mapped page a process has read counts in its resident memory: a 192 MiB file mapped
    # whole would take the reader's peak over the scan's 200 MB, one window at a time does not
    import subprocess
    import sys

    need_proc()  # the peak is read from /proc: getrusage's is kept across exec on Linux,
    # so a child of a big test process would report its parent's
    path = tmp_path / "plate.mov"
    with path.open("wb") as stream:
        stream.truncate(192 * 1024 * 1024)  # sparse: the page cache fills as it is read
    script = (
        "import os, sys\n"
        "from provenance.files.hashing import hash_mapped\n"
        "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
        "hash_mapped(fd, os.fstat(fd).st_size)\n"
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "print(int(peak.split()[1]) // 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], check=True, capture_output=True, text=True
    )
    assert int(out.stdout) < 100  # MiB: the interpreter, blake3 and one 16 MiB window


def test_files_over_the_read_limit_are_mapped_in_a_worker_and_read_alike(
    tmp_path: Path,
) -> None:
    # in a worker, a file just over MAP_LIMIT is mapped (for its hash too), one just under
    # it is read whole: same hash and verdict either way
    from provenance.files.reader import MAP_LIMIT

    data = write_a1111_png(tmp_path / "small.png").read_bytes()
    for size in (MAP_LIMIT, MAP_LIMIT + 1, 3 * MAP_LIMIT):
        path = tmp_path / f"plate_{size}.png"
        # bytes after the PNG's end: a walk of its chunks stops at IEND
        path.write_bytes(data + b"\0" * (size - len(data)))
        result = read_file(str(path), ReadOptions())
        assert isinstance(result, FileFacts)
        assert result.size == size
        assert result.content_hash == hash_file(path)  # AI: hashed in full
        assert result.verdict.ai_class == "ai"


def test_no_file_is_read_in_this_process(tmp_path: Path) -> None:
    # one small file, with one worker: still read in a worker (a hostile file costs a worker,
    # never the scan or the daemon)
    path = write_a1111_png(tmp_path / "small.png")
    with FileReader(ReadOptions(), workers=1) as reader:
        assert not reader.running
        (result,) = reader.read_many([str(path)])
        assert reader.running
    assert isinstance(result, FileFacts) and result.verdict.ai_class == "ai"


def test_a_file_truncated_under_a_few_files_read_does_not_kill_the_reader(
    tmp_path: Path,
) -> None:
    # a daemon's batch of a few files is read in its own process: a big file cut short
    # again and again while it is read gives failures (or an error once the workers keep
    # dying), never a SIGBUS in the process that reads
    import subprocess
    import sys

    path = tmp_path / "render.exr"
    size = 24 * 1024 * 1024
    path.write_bytes(b"")
    os.truncate(path, size)
    cut = "import os, sys\nwhile True:\n    os.truncate(sys.argv[1], 0)\n"
    cut += f"    os.truncate(sys.argv[1], {size})\n"
    read = (
        "import sys\n"
        "from provenance.errors import ScanError\n"
        "from provenance.files.reader import FileReader, ReadOptions\n"
        "with FileReader(ReadOptions(sidecars=False), workers=2) as reader:\n"
        "    for _ in range(60):\n"
        "        try:\n"
        "            list(reader.read_many([sys.argv[1]]))\n"
        "        except ScanError:\n"
        "            pass\n"
        "print('alive')\n"
    )
    cutter = subprocess.Popen([sys.executable, "-c", cut, str(path)])
    try:
        done = subprocess.run(
            [sys.executable, "-c", read, str(path)], capture_output=True, text=True, timeout=120
        )
    finally:
        cutter.kill()
        cutter.wait()
    assert done.returncode == 0 and done.stdout.strip() == "alive", done


def _wait_for(gate: str) -> None:
    while not os.path.exists(gate):
        time.sleep(0.01)


def test_reads_say_whether_the_next_result_is_in(tmp_path: Path) -> None:
    # both workers wait for a gate file before reading: no result is in till it exists
    gate = tmp_path / "gate"
    paths = [str(write_plain_png(tmp_path / f"plate{n}.png")) for n in range(2)]
    with FileReader(ReadOptions(), workers=2) as reader:
        reader.warm_up()
        for _ in range(2):
            reader.submit(_wait_for, str(gate))
        reads = reader.read_many(paths)
        assert isinstance(reads, Reads)
        assert not reads.ready()
        gate.touch()
        wait_for(reads.ready, 30, "the first result")
        assert next(reads).path == paths[0]
        wait_for(reads.ready, 30, "the second result")
        assert next(reads).path == paths[1]
        assert reads.ready()  # the end: taken without waiting
        assert next(reads, None) is None


def test_workers_fork_only_where_it_is_safe() -> None:
    # a forked worker cannot use the C2PA library its parent loaded, nor inherit threads
    import subprocess
    import sys

    def method(code: str) -> str:
        script = f"{code}\nfrom provenance.files.workers import start_method\nprint(start_method())"
        return subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout.strip()

    assert method("") == "fork"
    assert method("import c2pa") == "spawn"
    sleeper = (
        "import threading as t, time\nt.Thread(target=time.sleep, args=(9,), daemon=1).start()"
    )
    assert method(sleeper) == "spawn"


def test_a_reader_process_that_dies_is_replaced_and_no_file_is_lost(tmp_path: Path) -> None:
    # a worker can die under the scan (the OOM killer; a SIGBUS from a big file truncated
    # while it was mapped): the pool is replaced and every file is still read, in order
    import os
    from concurrent.futures.process import BrokenProcessPool

    import pytest

    paths = [
        str(write_plain_png(tmp_path / f"plate_{n:02}.png", color=f"#00{n:02x}00"))
        for n in range(80)
    ]
    with FileReader(ReadOptions(), workers=2) as reader:
        assert [r.path for r in reader.read_many(paths)] == paths
        with pytest.raises(BrokenProcessPool):  # dead before the next read is sent
            reader.submit(os._exit, 3).result()
        assert [r.path for r in reader.read_many(paths)] == paths
        reader.submit(os._exit, 3)  # dies while the reads below are in flight
        results = list(reader.start(paths, ahead=3))  # type: ignore[arg-type]
    assert [r.path for r in results] == paths
    assert all(isinstance(r, FileFacts) for r in results)


@pytest.mark.parametrize("idle_after", [None, 60.0], ids=["forked", "new interpreters"])
def test_workers_end_when_their_parent_is_killed(idle_after: float | None) -> None:
    # a daemon killed outright (SIGKILL, the OOM killer) cannot shut its workers down; they
    # must not wait for work forever
    import subprocess
    import sys

    need_proc()
    script = (
        "import os, signal, time\n"
        "from provenance.files.reader import FileReader, ReadOptions\n"
        # like the daemon's: a forked worker inherits it, and must not keep it
        "signal.signal(signal.SIGTERM, lambda *_: None)\n"
        f"reader = FileReader(ReadOptions(), workers=2, idle_after={idle_after})\n"
        "reader.warm_up()\n"
        "pids = {reader.submit(os.getpid).result() for _ in range(20)}\n"
        "print(' '.join(map(str, pids)), flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pids = [int(pid) for pid in parent.stdout.readline().split()]
    assert pids and all(map(running, pids))
    parent.kill()
    parent.wait()
    wait_for(lambda: not any(map(running, pids)), 10, "the workers to end")


def test_few_files_are_spread_over_every_worker() -> None:
    # a daemon's batch of 100 files in one chunk would keep one worker busy and the other idle
    reader = FileReader(ReadOptions(), workers=2)
    assert reader._per_chunk(100) == 13  # 8 chunks: four per worker
    assert reader._per_chunk(5) == 1
    assert reader._per_chunk(1_000_000) == reader._per_chunk(None) == CHUNK_FILES
    sizes = [len(c) for c in _chunks([f"/x/{n}.png" for n in range(100)], 13)]
    assert sizes == [13] * 7 + [9]


def test_workers_yield_the_cpu_to_the_catalog_writer() -> None:
    # the writer is the scan's critical path: the workers run at a lower priority
    here = os.nice(0)
    with FileReader(ReadOptions(), workers=2) as reader:
        theirs = reader.submit(os.nice, 0).result()
    assert theirs == min(19, here + WORKER_NICENESS)


def _killed(*args: object, **kwargs: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_readers_that_keep_dying_stop_the_read_with_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Something kills every reader process (the OOM killer, on a machine out of memory):
    # each file is read again alone in new processes, and after DEATHS_IN_A_ROW files in a
    # row whose reader died the read stops with a ScanError, instead of starting new
    # processes for every file left. Here the detectors the forked readers inherit kill
    # their own process, as the OOM killer would (this process has no thread: the readers
    # are forked, not started as new interpreters).
    from provenance.errors import ScanError
    from provenance.files import readfile
    from provenance.files.reader import DEATHS_IN_A_ROW

    paths = [str(write_plain_png(tmp_path / f"plate_{n}.png")) for n in range(2 * DEATHS_IN_A_ROW)]
    fork_readers(monkeypatch)
    monkeypatch.setattr(readfile, "_detect_file", _killed)
    started = time.monotonic()
    with (
        FileReader(ReadOptions(), workers=2) as reader,
        pytest.raises(ScanError, match=f"keep dying \\({DEATHS_IN_A_ROW} files in a row"),
    ):
        list(reader.read_many(paths))
    assert time.monotonic() - started < 30
