"""Seeing a test's child processes through /proc (Linux): alive or not, and descendants."""

from __future__ import annotations

from pathlib import Path

import pytest


def need_proc() -> None:
    """Skip (with the reason) where there is no Linux /proc to look at processes through."""
    if not Path("/proc/self/task").exists():
        pytest.skip("needs Linux /proc to see worker processes")


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
