"""Where quarantined files go and whether a path is safe to touch (DESIGN rules 1 and 3).

Every check here is made immediately before bytes are moved or deleted, on the real disk.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from provenance.config import RootSettings, Settings
from provenance.hashing import hash_file
from provenance.roots import check_root

#: Test hook: ``PROVENANCE_TEST_CRASH_AT=after-journal|after-rename|after-unlink`` makes the
#: process kill itself (SIGKILL, no clean-up) at that point of a quarantine, purge or restore,
#: so tests can prove that the journal recovers every interrupted step. Unset in real use.
CRASH_ENV = "PROVENANCE_TEST_CRASH_AT"


def crash_point(name: str) -> None:
    """Die here, as a power cut would, when the test hook names this point."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def root_of(settings: Settings, root: str) -> RootSettings | None:
    """Return the configured root whose path is ``root`` (as the catalog stores it)."""
    return next((r for r in settings.roots if str(r.path) == root), None)


def quarantine_folder(settings: Settings, root: RootSettings) -> Path:
    return root.path / settings.retention.quarantine_dir


def quarantine_target(settings: Settings, root: RootSettings, original: str) -> Path:
    """Return ``<root>/<quarantine_dir>/<path relative to the root>`` for ``original``."""
    return quarantine_folder(settings, root) / Path(original).relative_to(root.path)


def sidecar_of(path: Path, pattern: str) -> Path:
    """Return the path of the XMP sidecar that belongs beside ``path``."""
    return path.with_name(pattern.format(name=path.name, stem=path.stem))


def is_inside(path: Path, folder: Path) -> bool:
    """Return whether ``path``, its folders' links resolved, is inside ``folder`` (resolved).

    The file name itself is not resolved: a link is judged as the link (we never follow it).
    """
    real_parent = Path(os.path.realpath(path.parent))
    real_folder = Path(os.path.realpath(folder))
    return (real_parent / path.name).is_relative_to(real_folder) and path.is_relative_to(folder)


def unsafe_reason(path: Path, root: RootSettings | None, expected_hash: str | None) -> str | None:
    """Return why ``path`` must not be moved or deleted now, or None when it is safe.

    Safe means: its root is configured and online, it is a regular file (not a link)
    inside the root with every link resolved, and its content still has ``expected_hash``.
    """
    if root is None:
        return "not under a configured root"
    health = check_root(root)
    if not health.online:
        return f"root offline: {health.reason}"
    if not is_inside(path, root.path):
        return "outside its root once links are resolved"
    if path.is_symlink():
        return "is a symbolic link (never followed)"
    if not path.is_file():
        return "file not found"
    if expected_hash is not None:
        try:
            actual = hash_file(path)
        except OSError as exc:
            return f"cannot read: {exc.strerror or exc}"
        if actual != expected_hash:
            return "changed since planned; re-scan"
    return None


def quarantine_problem(settings: Settings, root: RootSettings, path: Path) -> str | None:
    """Return why ``path`` cannot be renamed into its root's quarantine folder, or None."""
    folder = quarantine_folder(settings, root)
    if folder.is_symlink():
        return f"{folder} is a symbolic link; refusing to quarantine into it"
    target = quarantine_target(settings, root, str(path))
    if os.path.lexists(target):
        return f"{target} already exists in quarantine"
    try:
        if os.lstat(path).st_dev != os.stat(root.path).st_dev:
            return "on another filesystem than its root; a move would be a copy"
    except OSError as exc:
        return f"cannot stat: {exc.strerror or exc}"
    return None


def move_into(source: Path, target: Path, top: Path) -> None:
    """Rename ``source`` to ``target`` (same filesystem, atomic), creating folders up to ``top``.

    Raises FileExistsError rather than replace anything at ``target``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if not is_inside(target, top):
        raise PermissionError(f"{target} resolves outside {top}")
    if os.path.lexists(target):
        raise FileExistsError(f"{target} exists")
    os.rename(source, target)


def move_back(source: Path, target: Path) -> None:
    """Put ``source`` at ``target`` without ever replacing a file that appeared there.

    A hard link fails if ``target`` exists (atomically), then the old name goes; where
    hard links are not supported the existence check and the rename are separate steps.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:
        if os.path.lexists(target):
            raise FileExistsError(f"{target} exists") from None
        os.rename(source, target)
        return
    os.unlink(source)
