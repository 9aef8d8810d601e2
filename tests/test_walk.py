"""The walk: regular files only, in the order of their path strings; big ones kept on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provenance.files import walk
from provenance.files.walk import EntrySpill, walk_files
from tests.processes import need_proc


def test_files_come_in_the_order_of_their_paths(tmp_path: Path) -> None:
    # a folder's files and subfolders interleave as their paths sort: "a.txt" < "a/b" < "a0"
    names = ["a.txt", "a/b.png", "a/c/d.png", "a-b.png", "a0.png", "b/a.png", "B.png", "é.png"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    paths = [entry.path for entry in walk_files(tmp_path)]
    assert paths == sorted(str(tmp_path / name) for name in names)


def test_links_ignored_names_and_our_sidecars_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "plate.png").write_bytes(b"x")
    (tmp_path / "plate.png.xmp").write_bytes(b"<x/>")
    (tmp_path / "render.exr.part").write_bytes(b"half")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "frame.png").write_bytes(b"x")
    os.symlink(tmp_path / "plate.png", tmp_path / "link.png")
    skipped: list[tuple[str, str]] = []
    entries = list(walk_files(tmp_path, ["cache"], lambda path, why: skipped.append((path, why))))
    assert [(Path(e.path).name, e.sidecar) for e in entries] == [("plate.png", True)]
    assert skipped == []  # a link to a file is left out quietly (loops are reported)


def test_a_fifo_or_a_socket_is_never_yielded_and_is_named(tmp_path: Path) -> None:
    import socket

    (tmp_path / "a.png").write_bytes(b"x")
    os.mkfifo(tmp_path / "stream.png")
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(tmp_path / "s.sock"))
        skipped: list[tuple[str, str]] = []
        found = [e.path for e in walk_files(tmp_path, on_skip=lambda *s: skipped.append(s))]
    assert found == [str(tmp_path / "a.png")]
    assert sorted(skipped) == [
        (str(tmp_path / "s.sock"), "not a regular file (a socket); not read"),
        (str(tmp_path / "stream.png"), "not a regular file (a FIFO); not read"),
    ]


def test_a_big_walk_is_kept_on_disk_and_read_back_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(EntrySpill, "BLOCK", 3)
    _files(tmp_path, 10)
    entries = list(walk_files(tmp_path))
    spill = EntrySpill(walk_files(tmp_path))
    assert spill._file is not None and len(spill._block) == 1  # 3 blocks on disk, 1 entry here
    assert len(spill) == 10
    assert list(spill) == entries
    assert list(spill) == entries  # read again: the same
    spill.close()
    assert len(spill) == 0 and list(spill) == []
    small = EntrySpill(entries[:2])
    assert small._file is None and list(small) == entries[:2]  # a few never leave memory


def test_two_readings_of_a_spill_keep_their_own_places(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a head start's reader is part way through the walk when the scan reads it again
    monkeypatch.setattr(EntrySpill, "BLOCK", 2)
    _files(tmp_path, 7)
    spill = EntrySpill(walk_files(tmp_path))
    first = iter(spill)
    taken = [next(first) for _ in range(3)]
    assert len(list(spill)) == 7
    assert taken + list(first) == list(spill)


def test_a_walk_says_how_many_files_it_has_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(walk, "WALK_REPORT_EVERY", 2)
    _files(tmp_path, 5)
    heard: list[int] = []
    assert len(list(walk_files(tmp_path, on_count=heard.append))) == 5
    assert heard == [2, 4]


def _files(folder: Path, count: int) -> None:
    for n in range(count):
        (folder / f"f{n:02d}.png").write_bytes(b"x" * n)


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_big_folder_is_sorted_in_runs_on_disk_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a folder of a long image sequence is never held in memory whole: its names are sorted
    # some at a time, the runs kept in a temporary file and merged back in the same order
    need_proc()
    names = ["a.txt", "a/b.png", "a-b.png", "a0.png", "B.png", "é.png", "x.tmp"]
    names += [f"frame_{n:03d}.exr" for n in range(20)]
    names += ["frame_003.exr.xmp", "frame_005.xmp"]  # NAME.EXT.xmp and NAME.xmp sidecars
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    whole = [tuple(entry) for entry in walk_files(tmp_path)]
    monkeypatch.setattr(walk, "LISTING_RUN", 3)
    monkeypatch.setattr(walk._Runs, "BLOCK", 2)
    before = _open_files()
    walking = walk_files(tmp_path)
    first = next(walking)
    assert _open_files() == before + 1  # the runs of the root folder's names, on disk
    in_runs = [tuple(first)] + [tuple(entry) for entry in walking]
    assert _open_files() == before  # closed when the folder's listing ends
    assert in_runs == whole
    tagged = [Path(str(entry[0])).name for entry in in_runs if entry[5]]
    assert tagged == ["frame_003.exr", "frame_005.exr"]
    assert len(whole) == 26  # the sidecars and the .tmp left out


def test_a_walk_stopped_early_leaves_no_temporary_file_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_proc()
    monkeypatch.setattr(walk, "LISTING_RUN", 2)
    (tmp_path / "seq").mkdir()
    _files(tmp_path / "seq", 7)
    _files(tmp_path, 5)
    before = _open_files()
    walking = walk_files(tmp_path)
    next(walking)
    next(walking)
    assert _open_files() > before
    walking.close()
    assert _open_files() == before
