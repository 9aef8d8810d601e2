"""Real OS users and groups for tests of who may do what (useradd/groupadd; root only).

Each test gets users and groups with fresh names, removed afterwards, and runs commands as
them in a child process (``subprocess`` sets the real and effective uid, gid and groups).
Not root: the test is skipped with that reason (CI runs as root, so it never skips).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.needs import unavailable

SKIP_REASON = "needs root to create real OS users and groups (useradd, groupadd); CI runs as root"


#: Run as root by the child: load everything, become the user, run the code. Loaded first
#: because the user may not read the interpreter's own files (a Python installed in root's
#: home): a module first imported after the switch would not be found.
_DROP = """
import ast, importlib, os, pkgutil, sys
import provenance
for module in pkgutil.walk_packages(provenance.__path__, "provenance."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
import sqlalchemy.dialects.sqlite, sqlalchemy.dialects.postgresql, sqlite3
import encodings.ascii, encodings.latin_1, encodings.utf_8, encodings.idna
import importlib.metadata, importlib.readers, importlib.resources.readers
import platformdirs  # imported where a path is first asked; older ones import configparser then
try:
    import psycopg
except ImportError:
    pass
uid, gid, groups, code, *argv = sys.argv[1:]
os.setgroups(ast.literal_eval(groups))
os.setgid(int(gid))
os.setuid(int(uid))
sys.argv = ["provenance", *argv]
exec(compile(code, "<as-user>", "exec"))
"""


@dataclass(frozen=True)
class OsUser:
    name: str
    uid: int
    gid: int
    groups: tuple[str, ...] = ()


def _run_retried(argv: list[str], seconds: float = 5.0) -> None:
    """Run a shadow-utils command, again for a while as long as it fails: another test run
    may hold /etc/passwd's lock a moment, and userdel refuses while a process of the account
    lives (a daemon's workers end just after it)."""
    deadline = time.monotonic() + seconds
    while True:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
        time.sleep(0.1)


class OsAccounts:
    """Makes users and groups, removes them at the end, runs commands as them."""

    def __init__(self) -> None:
        self.users: list[str] = []
        self.groups: list[str] = []
        #: A folder every user may enter (pytest's tmp_path is private to root).
        self.shared = Path(tempfile.mkdtemp(prefix="provenance-users-"))
        self.shared.chmod(0o755)

    def group(self) -> str:
        name = f"pvg{uuid.uuid4().hex[:10]}"
        _run_retried(["groupadd", name])
        self.groups.append(name)
        return name

    def user(self, groups: Sequence[str] = (), *, system: bool = False) -> OsUser:
        """A user in ``groups``; ``system``: a system account whose home is ``/nonexistent``,
        as the README tells to create the service's account."""
        name = f"pvu{uuid.uuid4().hex[:10]}"
        argv = ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "-U"]
        if system:
            argv += ["--system", "--home-dir", "/nonexistent"]
        if groups:
            argv += ["-G", ",".join(groups)]
        _run_retried([*argv, name])
        self.users.append(name)
        entry = pwd.getpwnam(name)
        return OsUser(name, entry.pw_uid, entry.pw_gid, tuple(groups))

    def run(
        self, user: OsUser, argv: Sequence[str], env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``provenance ARGV`` as ``user``, in a child process with its uid, gid, groups."""
        return self.python(user, "from provenance.cli import main; main()", argv, env)

    def python(
        self,
        user: OsUser,
        code: str,
        argv: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run Python ``code`` (``sys.argv[1:]`` = ``argv``) as ``user`` in the shared folder.

        The child starts as root and drops to the user (setgroups, setgid, setuid: real,
        effective and saved ids) before ``code`` runs: the interpreter may live where only
        root can read (a pyenv under /root), so the package and what it imports are loaded
        first.
        """
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.shared),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
            **(env or {}),
        }
        groups = [grp.getgrnam(name).gr_gid for name in user.groups]
        return subprocess.run(
            [sys.executable, "-c", _DROP, str(user.uid), str(user.gid), repr(groups), code, *argv],
            env=environment,
            cwd=self.shared,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def close(self) -> None:
        for name in self.users:
            _run_retried(["userdel", name], seconds=15)
        for name in self.groups:
            subprocess.run(["groupdel", name], capture_output=True, check=False)
        shutil.rmtree(self.shared, ignore_errors=True)


@pytest.fixture
def accounts() -> Iterator[OsAccounts]:
    """Real OS users and groups, made on demand and removed after the test (root only)."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        unavailable(SKIP_REASON)
    made = OsAccounts()
    try:
        yield made
    finally:
        made.close()
