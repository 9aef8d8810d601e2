"""Seeing a test's child processes through /proc (Linux), and running one under a kernel limit."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.needs import unavailable


def need_proc() -> None:
    """Skip (with the reason) where there is no Linux /proc to look at processes through."""
    if not Path("/proc/self/task").exists():
        unavailable("needs Linux /proc to see worker processes")


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def descendants(pid: int) -> set[int]:
    """The children of process ``pid``, theirs, and so on."""
    found: set[int] = set()
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in map(int, children.read_text().split()):
            found |= {child, *descendants(child)}
    return found


def inotify_watches_limited_to(limit: int) -> list[str]:
    """The command prefix that runs a command with at most ``limit`` inotify watches: a user
    namespace of its own (unshare) whose ``max_inotify_watches`` is set to ``limit``, the
    kernel's real limit, without touching the machine's. Skips where that is not permitted."""
    prefix = [
        "unshare",
        "--user",
        "--map-root-user",
        "sh",
        "-c",
        'echo "$0" > /proc/sys/user/max_inotify_watches && exec "$@"',
        str(limit),
    ]
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        unavailable(f"cannot limit inotify watches in a user namespace: {exc}")
    if probe.returncode != 0:
        reason = probe.stderr.decode(errors="replace").strip()
        unavailable(f"cannot limit inotify watches in a user namespace: {reason}")
    return prefix


def fork_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the readers fork from this process, whatever it loaded (an earlier test may have
    loaded the C2PA library, which makes them start as new interpreters): a test that sets
    what the forked readers inherit needs them forked. No C2PA file is read after it."""
    import provenance.files.reader

    monkeypatch.setattr(provenance.files.reader, "start_method", lambda: "fork")


def start_as_service(
    argv: list[str],
    *,
    env: dict[str, str],
    uid: int,
    gid: int,
    log: Path,
    groups: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    """Start ``argv`` as the account ``uid``:``gid`` as its systemd unit would: from ``/``,
    no supplementary groups but ``groups`` (SupplementaryGroups=), UMask=0077, stdin and
    stdout closed, stderr into ``log``."""
    with open(log, "wb") as stream:
        return subprocess.Popen(
            argv,
            cwd="/",
            env=env,
            user=uid,
            group=gid,
            extra_groups=list(groups),
            umask=0o077,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stream,
        )


def stop_service(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started by ``start_as_service`` as systemd would: SIGTERM, then kill."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
