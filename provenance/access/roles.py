"""Who may do what: the roles, which action needs which, and where a caller's roles come from.

The one table of rights (``REQUIRED``); every service action that changes or shows the
catalog asks ``require`` with the caller's ``Grants``.

Where roles come from (the caller is the real uid, ``provenance.access.identity``):

- **Single-user mode**: the catalog is a SQLite file the caller owns (their own state
  directory, no daemon between). They own everything they act on, so they hold every role
  but approver by default; approver (clearing is a decision with legal weight) is given
  like any role, in a config file owned by root or by the caller.
- **Shared catalog**: a catalog the caller does not own (the service's SQLite file, or a
  PostgreSQL catalog named by a config file someone else owns: whoever holds its
  credentials owns the connection). Roles come only from the service's own configuration:
  the system config (``locations.SYSTEM_CONFIG``, /etc/provenance/provenance.toml), or a
  config file owned by root or by the catalog's owner, writable by no one else. A
  ``--config`` the caller wrote grants nothing.

In a trusted file, roles are given to OS users and groups::

    [roles]
    viewer = { users = ["*"] }                 # "*": every local user
    tagger = { groups = ["artists"] }
    custodian = { users = ["lee"], groups = ["legal"] }
    approver = { groups = ["clearance"] }
    operator = { users = ["provenance"] }

(``[clearance] approvers`` and ``approver_groups`` give the approver role too.) Every role
includes viewer; approver includes tagger.
"""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from provenance.access.identity import current_groups, user_name
from provenance.config import locations
from provenance.errors import PermissionDeniedError

log = logging.getLogger(__name__)


class Role(StrEnum):
    VIEWER = "viewer"
    TAGGER = "tagger"
    CUSTODIAN = "custodian"
    APPROVER = "approver"
    OPERATOR = "operator"


#: The role each action needs. ``tag-lowering``: declaring facts that lower what a clearance
#: needs (another intended use than final) is an approver's decision.
REQUIRED: dict[str, Role] = {
    "list": Role.VIEWER,
    "show": Role.VIEWER,
    "status": Role.VIEWER,
    "uncleared": Role.VIEWER,
    "log": Role.VIEWER,
    "report": Role.VIEWER,
    "audit verify": Role.VIEWER,
    "tag": Role.TAGGER,
    "tag-lowering": Role.APPROVER,
    "hold": Role.CUSTODIAN,
    "release": Role.CUSTODIAN,
    "clear": Role.APPROVER,
    "revoke": Role.APPROVER,
    "scan": Role.OPERATOR,
    "fixity": Role.OPERATOR,
    "sweep": Role.OPERATOR,
    "sweep --force": Role.OPERATOR,
    "restore": Role.OPERATOR,
    "audit key": Role.OPERATOR,
    "notify test": Role.OPERATOR,
    "prune thumbnails": Role.OPERATOR,
}

#: The roles each role includes besides itself.
INCLUDES: dict[Role, frozenset[Role]] = {
    Role.VIEWER: frozenset(),
    Role.TAGGER: frozenset({Role.VIEWER}),
    Role.CUSTODIAN: frozenset({Role.VIEWER}),
    Role.APPROVER: frozenset({Role.VIEWER, Role.TAGGER}),
    Role.OPERATOR: frozenset({Role.VIEWER}),
}

#: What the owner of a single-user catalog holds with no [roles] at all.
SINGLE_USER_DEFAULT = frozenset({Role.VIEWER, Role.TAGGER, Role.CUSTODIAN, Role.OPERATOR})


@dataclass(frozen=True)
class Grants:
    """A caller's roles, and where they came from (for the refusal message)."""

    user: str
    roles: frozenset[Role]
    #: "single-user" or "shared"
    mode: str
    #: The config files the roles were read from.
    sources: tuple[str, ...] = ()

    def allows(self, action: str) -> bool:
        return REQUIRED[action] in self.roles

    def describe(self) -> str:
        where = ", ".join(self.sources) or "no trusted config file"
        if self.mode == "single-user":
            hint = ""
            if not self.sources:  # say where a role is given, not only that none was
                user_file = locations.config_search_path()[-1]
                hint = f": give it in [roles] of {user_file} (README: Who may do what)"
            return f"single-user mode: your own catalog; roles from {where}{hint}"
        return f"shared catalog: roles only from the service's config ({where})"


def require(grants: Grants | None, action: str, doing: str | None = None) -> None:
    """Raise PermissionDeniedError unless ``grants`` allow ``action`` (``doing``: what the
    message says the user may not do; the action's name by default).

    ``grants`` None: the service acting on its own (the daemon's jobs), which holds every role.
    """
    if grants is None or grants.allows(action):
        return
    role = REQUIRED[action]
    raise PermissionDeniedError(
        f"user {grants.user!r} may not {doing or action}: that needs the {role} role "
        f"({grants.describe()})"
    )


def expand(roles: Iterable[Role]) -> frozenset[Role]:
    """Return ``roles`` with the roles each includes."""
    found = set(roles)
    for role in list(found):
        found |= INCLUDES[role]
    return frozenset(found)


def roles_in(table: Mapping[str, Any], user: str, groups: frozenset[str]) -> set[Role]:
    """Return the roles a TOML mapping (a whole config file) gives ``user`` or ``groups``."""
    given: set[Role] = set()
    section = table.get("roles") or {}
    if isinstance(section, Mapping):
        for name, who in section.items():
            if name not in Role.__members__.values() or not isinstance(who, Mapping):
                continue
            users, named = set(who.get("users") or ()), set(who.get("groups") or ())
            if user in users or "*" in users or groups & named:
                given.add(Role(name))
    clearance = table.get("clearance") or {}
    if isinstance(clearance, Mapping) and (
        user in set(clearance.get("approvers") or ())
        or groups & set(clearance.get("approver_groups") or ())
    ):
        given.add(Role.APPROVER)
    return given


def is_trusted_file(path: Path, owners: Iterable[int]) -> bool:
    """Whether ``path`` is a regular file owned by one of ``owners`` that nobody else may
    write (its group and others have no write bit)."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_uid in set(owners)
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def _read_table(path: Path) -> Mapping[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        log.warning("%s: roles not read: %s", path, exc)
        return {}


def caller_grants(config_path: Path | None, catalog_owner: int | None) -> Grants:
    """Return the roles of the process's real user on a catalog owned by ``catalog_owner``
    (the SQLite file's owner, or the owner of the config naming a server catalog; None:
    nobody known, so shared).

    ``config_path``: the config file the caller named (``--config``), trusted only when root
    (or, on a shared catalog, the catalog's owner; in single-user mode, the caller) owns it.
    """
    return grants_for(os.getuid(), current_groups(), config_path, catalog_owner)


def grants_for(
    uid: int, groups: frozenset[str], config_path: Path | None, catalog_owner: int | None
) -> Grants:
    """Return the roles of user ``uid`` in ``groups`` (the process's own user, or a socket
    peer as its credentials say) on a catalog owned by ``catalog_owner``, as
    :func:`caller_grants` describes."""
    user = user_name(uid)
    single = catalog_owner is not None and catalog_owner == uid
    owners = {0} | ({uid} if single else set()) | ({catalog_owner} if catalog_owner else set())
    roles: set[Role] = set(SINGLE_USER_DEFAULT) if single else set()
    sources: list[str] = []
    system = locations.SYSTEM_CONFIG  # read here, so tests can point it elsewhere
    candidates = [system] + ([config_path] if config_path is not None else [])
    for path in dict.fromkeys(candidates):
        if not is_trusted_file(path, {0} if path == system else owners):
            continue
        roles |= roles_in(_read_table(path), user, groups)
        sources.append(str(path))
    return Grants(user, expand(roles), "single-user" if single else "shared", tuple(sources))
