"""Who acts comes from the kernel: the real uid, never LOGNAME or USER."""

from __future__ import annotations

import os
import pwd

from provenance.access.identity import Actor, current_groups, user_name
from tests.osusers import OsAccounts, accounts

__all__ = ["accounts"]


def test_actor_is_the_real_uid_whatever_the_environment_says(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, "someone-else")
    assert Actor.current().user == pwd.getpwuid(os.getuid()).pw_name


def test_a_uid_with_no_passwd_entry_is_named_by_its_number() -> None:
    unused = next(uid for uid in range(61000, 65000) if not _exists(uid))
    assert user_name(unused) == str(unused)


def _exists(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def test_logname_does_not_make_an_ordinary_user_someone_else(accounts: OsAccounts) -> None:
    group = accounts.group()
    user = accounts.user(groups=[group])
    code = (
        "from provenance.access.identity import Actor, current_groups; "
        "print(Actor.current().user, sorted(current_groups()))"
    )
    done = accounts.python(user, code, env={"LOGNAME": "root", "USER": "root", "USERNAME": "root"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(" ", 1)[0] == user.name
    assert group in done.stdout and "'root'" not in done.stdout


def test_current_groups_include_the_primary_group() -> None:
    import grp

    assert grp.getgrgid(os.getgid()).gr_name in current_groups()
