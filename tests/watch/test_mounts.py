"""Choosing inotify or polling from /proc/mounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.config import RootSettings
from provenance.watch.mounts import mount_of, parse_mounts, read_mounts, watch_mode

MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
server:/export /mnt/show nfs4 rw,vers=4.2 0 0
//nas/share /mnt/show/vfx cifs rw 0 0
/dev/sdb1 /mnt/show/vfx/local\\040disk xfs rw 0 0
tmpfs /tmp tmpfs rw 0 0
"""


def test_parse_mounts_unescapes_spaces() -> None:
    mounts = parse_mounts(MOUNTS)
    assert [m.point for m in mounts][-2] == "/mnt/show/vfx/local disk"
    assert mounts[1].fstype == "nfs4" and mounts[1].source == "server:/export"


@pytest.mark.parametrize(
    ("path", "fstype"),
    [
        ("/home/editor/show", "ext4"),
        ("/mnt/show/editorial", "nfs4"),
        ("/mnt/show/vfx/shots", "cifs"),
        ("/mnt/show/vfx/local disk/x", "xfs"),
        ("/mnt/showcase", "ext4"),  # a prefix of the name is not a parent folder
    ],
)
def test_the_longest_mount_point_holding_the_path_wins(path: str, fstype: str) -> None:
    mount = mount_of(Path(path), parse_mounts(MOUNTS))
    assert mount is not None and mount.fstype == fstype


@pytest.mark.parametrize(
    ("path", "watch", "expected"),
    [
        ("/mnt/show/editorial", "auto", "polling"),
        ("/mnt/show/vfx/shots", "auto", "polling"),
        ("/mnt/show/vfx/local disk", "auto", "native"),
        ("/home/editor/show", "auto", "native"),
        ("/mnt/show/editorial", "native", "native"),
        ("/home/editor/show", "polling", "polling"),
    ],
)
def test_watch_mode(path: str, watch: str, expected: str) -> None:
    root = RootSettings(path=Path(path), watch=watch)  # type: ignore[arg-type]
    assert watch_mode(root, parse_mounts(MOUNTS)) == expected


def test_this_machine_mounts_are_read() -> None:
    assert any(m.point == "/" for m in read_mounts())


def test_unreadable_mounts_mean_native(tmp_path: Path) -> None:
    assert read_mounts(tmp_path / "nope") == []
    assert watch_mode(RootSettings(path=tmp_path), []) == "native"
