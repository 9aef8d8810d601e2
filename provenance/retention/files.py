"""Where quarantined files go, and finding a planned file inside its root (DESIGN rules 1, 3).

Every file a sweep, purge or restore acts on is found here through
``provenance.files.confined``: reached from its root's descriptor, no link followed, open
and checked (regular file, same filesystem as its root, content hash) until the act.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

from provenance.config import RootSettings, Settings
from provenance.errors import ConfinementError, Refusal
from provenance.files.confined import Folder, OpenFile, Root, open_root
from provenance.files.roots import check_root
from provenance.tagging.follow import Owner, is_ours

log = logging.getLogger(__name__)

#: Test hook: ``PROVENANCE_TEST_CRASH_AT=after-journal|after-rename|after-unlink`` makes the
#: process kill itself (SIGKILL, no clean-up) at that point of a quarantine, purge or restore
#: (``after-rename#7``: the 7th time it passes there), so tests can prove that the journal
#: recovers every interrupted step. Unset in real use.
CRASH_ENV = "PROVENANCE_TEST_CRASH_AT"
_passed: dict[str, int] = {}

#: Called with the path of each file just before it is moved or deleted (after every check
#: and the journal): tests pass one to change the tree at the worst moment. None in real use.
BeforeAct = Callable[[str], None]


def crash_point(name: str) -> None:
    """Die here, as a power cut would, when the test hook names this point."""
    wanted = os.environ.get(CRASH_ENV)
    if not wanted or not wanted.startswith(name):
        return
    _passed[name] = _passed.get(name, 0) + 1
    point, _, count = wanted.partition("#")
    if point == name and _passed[name] >= int(count or 1):
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


class OpenRoots(contextlib.ExitStack):
    """The roots a batch acts under, each opened once (and checked online) on first use, and
    the folders its files are found in, each walked to once and shared by its files."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self._open: dict[str, Root] = {}
        self._folders: dict[tuple[str, tuple[str, ...]], Folder] = {}

    def get(self, root: str) -> Root:
        """Return the open root ``root``; raises ConfinementError if unknown or offline."""
        if root in self._open:
            return self._open[root]
        configured = root_of(self.settings, root)
        if configured is None:
            raise ConfinementError(root, "not a configured root", Refusal.OUTSIDE)
        health = check_root(configured)
        if not health.online:
            raise ConfinementError(root, f"root offline: {health.reason}")
        opened = self.enter_context(open_root(configured.path))
        self._open[root] = opened
        return opened

    def folder(self, root: str, names: list[str]) -> Folder:
        """Return the open folder ``names`` below ``root``, walked to (no link followed) the
        first time a file of the batch is found in it; open until the batch ends.

        Sharing it is safe: what a step acts on is the file opened in it, checked by its
        identity (and content) just before the act, not whatever the folder's path leads to
        by then. A folder a step moves files into is walked to again for each move.
        """
        key = (root, tuple(names))
        found = self._folders.get(key)
        if found is None:
            found = self.enter_context(self.get(root).folder(names))
            self._folders[key] = found
        return found

    def hold(self, file: OpenFile) -> OpenFile:
        """Keep ``file`` open until the batch ends (its folder is the batch's, ``folder``)."""
        self.callback(file.close)
        return file


def find_file(roots: OpenRoots, root: str, path: str, expected_hash: str | None) -> OpenFile:
    """Open the planned file ``path`` under ``root`` and check it; held open by ``roots``.

    Raises ConfinementError: root offline, a link on the way, not a regular file, on
    another filesystem than its root, or content other than ``expected_hash``.
    """
    top = roots.get(root)
    names = top.parts(path)
    file = roots.hold(roots.folder(root, names[:-1]).open_file(names[-1]))
    if file.identity.device != top.device:
        raise ConfinementError(
            path, "on another filesystem than its root; a move would be a copy", Refusal.OUTSIDE
        )
    if expected_hash is not None:
        try:
            found = file.content_hash()
        except OSError as exc:
            raise ConfinementError(path, f"cannot read: {exc.strerror or exc}") from exc
        if found != expected_hash:
            raise ConfinementError(path, "changed since planned; re-scan", Refusal.CHANGED)
    return file


def find_sidecar(
    roots: OpenRoots, file: OpenFile, pattern: str, content_hash: str | None
) -> OpenFile | None:
    """Open our sidecar beside ``file``: a regular file holding our record for
    ``content_hash`` and nothing else. Another tool's sidecar, one merged with another
    tool's or changed since, is never moved or deleted: None, and it stays where it is."""
    name = sidecar_of(Path(file.name), pattern).name
    try:
        sidecar = file.folder.open_file(name)
    except ConfinementError:
        return None
    if not is_ours(sidecar, Owner(None, content_hash)):
        log.info("%s: not ours alone; left where it is", sidecar.path)
        sidecar.close()
        return None
    roots.callback(sidecar.close)
    return sidecar
