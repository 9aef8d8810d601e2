"""Who may clear: the real OS user and its real groups against ``[clearance]`` approvers."""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
from collections.abc import Iterable

from provenance.clearance_settings import ClearanceSettings
from provenance.errors import ClearanceError


def os_groups(user: str) -> frozenset[str]:
    """Return the names of the groups this process runs with, and ``user``'s primary group.

    Read from the OS (``os.getgroups``, ``grp``, ``pwd``), never from a flag; a group id with
    no name is left out.
    """
    ids = set(os.getgroups()) | {os.getgid()}
    with contextlib.suppress(KeyError):
        ids.add(pwd.getpwnam(user).pw_gid)
    names = set()
    for gid in ids:
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    return frozenset(names)


def is_approver(user: str, groups: Iterable[str], settings: ClearanceSettings) -> bool:
    """Return whether ``user`` (or one of ``groups``) is named an approver (pure)."""
    return user in settings.approvers or bool(set(groups) & set(settings.approver_groups))


def check_approver(user: str, settings: ClearanceSettings, action: str = "clear") -> None:
    """Raise ClearanceError unless the OS user ``user`` is an approver."""
    if is_approver(user, os_groups(user), settings):
        return
    if not settings.approvers and not settings.approver_groups:
        hint = "no approvers are configured (set [clearance] approvers or approver_groups)"
    else:
        hint = "not in [clearance] approvers or a member of approver_groups"
    raise ClearanceError(f"user {user!r} may not {action}: {hint}")
