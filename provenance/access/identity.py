"""Who acts, as the kernel says: the real uid's user name, its real groups, and the host.

Never a variable of the process's environment and never a flag: anyone can set those. Over
the daemon's socket, the peer's credentials say the same.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who acts: the real OS user and host (never a flag a user could set)."""

    user: str
    host: str

    @classmethod
    def current(cls) -> Actor:
        """Return the process's real user (its passwd name, else its numeric uid) and host."""
        return cls.of(os.getuid())

    @classmethod
    def of(cls, uid: int) -> Actor:
        """Return the user ``uid`` (its passwd name, else the uid as text) on this host: a
        socket peer, as its credentials say."""
        return cls(user=user_name(uid), host=socket.gethostname())


def user_name(uid: int) -> str:
    """Return the passwd name of ``uid``, or the uid as text when it has no entry."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def current_groups() -> frozenset[str]:
    """Return the names of the groups this process runs with (real, effective and
    supplementary) and its user's primary group; a group id with no name is left out."""
    ids = set(os.getgroups()) | {os.getgid(), os.getegid()}
    with contextlib.suppress(KeyError):
        ids.add(pwd.getpwuid(os.getuid()).pw_gid)
    return _group_names(ids)


def user_groups(uid: int, gid: int) -> frozenset[str]:
    """Return the names of the groups of user ``uid`` whose process runs with group ``gid`` (a
    socket peer's credentials): ``gid``, the user's primary group and the groups the group
    database lists the user in."""
    ids = {gid}
    with contextlib.suppress(KeyError):
        entry = pwd.getpwuid(uid)
        ids.add(entry.pw_gid)
        ids.update(os.getgrouplist(entry.pw_name, entry.pw_gid))
    return _group_names(ids)


def _group_names(ids: set[int]) -> frozenset[str]:
    names = set()
    for gid in ids:
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    return frozenset(names)
