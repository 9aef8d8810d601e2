"""The walk: regular files only, in the order of their path strings."""

from __future__ import annotations

import os
from pathlib import Path

from provenance.walk import walk_files


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
