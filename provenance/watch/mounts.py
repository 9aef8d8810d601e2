"""Which way to watch a root: inotify on local disks, polling on network shares.

inotify sees only changes made through this machine's kernel; on NFS, SMB or CIFS another
client's writes never raise an event, so such roots are polled. The filesystem of a root is
the one mounted at the longest mount point that contains it (``/proc/mounts``).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from provenance.config import RootSettings

WatchMode = Literal["native", "polling"]

PROC_MOUNTS = Path("/proc/mounts")

#: Filesystems whose changes made by other machines raise no inotify event.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb3",
        "smbfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.cephfs",
        "fuse.rclone",
        "fuse.s3fs",
        "fuse.smbnetfs",
    }
)


@dataclass(frozen=True)
class Mount:
    """One line of ``/proc/mounts``: where, and which filesystem type."""

    point: str
    fstype: str
    source: str = ""


def _unescape(field: str) -> str:
    # the kernel writes space, tab, newline and backslash in mount points as octal escapes
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_mounts(text: str) -> list[Mount]:
    """Return the mounts listed in ``text`` (the format of ``/proc/mounts``)."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            mounts.append(Mount(_unescape(fields[1]), fields[2], _unescape(fields[0])))
    return mounts


def read_mounts(path: Path = PROC_MOUNTS) -> list[Mount]:
    """Return this machine's mounts; none when ``/proc/mounts`` cannot be read."""
    try:
        return parse_mounts(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return []


def mount_of(path: Path, mounts: list[Mount]) -> Mount | None:
    """Return the mount that holds ``path``: the longest mount point containing it."""
    best: Mount | None = None
    for mount in mounts:
        if path.is_relative_to(mount.point) and (
            best is None or len(mount.point) >= len(best.point)
        ):
            best = mount
    return best


def is_network(mount: Mount | None) -> bool:
    return mount is not None and mount.fstype.lower() in NETWORK_FILESYSTEMS


def watch_mode(root: RootSettings, mounts: list[Mount]) -> WatchMode:
    """Return how ``root`` is watched: its ``watch`` setting, or for "auto" polling on a
    network filesystem and native (inotify) otherwise."""
    if root.watch != "auto":
        return root.watch
    path = Path(root.path)
    with contextlib.suppress(OSError):
        path = path.resolve()
    return "polling" if is_network(mount_of(path, mounts)) else "native"
