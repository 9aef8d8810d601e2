"""What someone else plants on the service's way: a link of another user in a folder's path,
a link at the name of a file the service writes. And the modes the service's files keep."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from tests.needs import unavailable


def mode(path: Path) -> int:
    """The permission bits of ``path`` itself (a link is not followed)."""
    return stat.S_IMODE(os.lstat(path).st_mode)


def another_user() -> pwd.struct_passwd:
    """A real user other than this one (``nobody``); planting for them needs root."""
    if os.geteuid() != 0:
        unavailable("needs root to plant a link owned by another user")
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        unavailable("needs the user nobody")


def link_of_another_user(link: Path, target: Path) -> pwd.struct_passwd:
    """Make ``link`` lead to ``target``, owned by another user; return that user."""
    user = another_user()
    link.symlink_to(target)
    os.lchown(link, user.pw_uid, user.pw_gid)
    return user


def plant_link(name: Path, tmp_path: Path) -> Path:
    """Put a link at ``name`` (its folder made) to a file of its own; return that file, whose
    content ``b"keep me"`` must stay."""
    target = tmp_path / f"target-of-{name.name}"
    target.write_bytes(b"keep me")
    name.parent.mkdir(parents=True, exist_ok=True)
    name.symlink_to(target)
    return target
