"""The daemon's durable queue: changes that could not be recorded yet, kept and retried.

When the catalog cannot take a batch (PostgreSQL down, the state disk full, a lock held
too long), its files and deletes are not dropped: they go here, are written to a spool file
in the state directory (so a restart loses nothing), and are tried again with a growing
pause until the catalog takes them. The status shows how many wait and the last error.
Only the consumer thread uses it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from provenance.config.locations import PRIVATE_FILE_MODE, open_private_dir
from provenance.errors import ConfinementError, ProvenanceError, Refusal
from provenance.files.confined import open_folder, remove
from provenance.watch.settle import Gone, Ready

log = logging.getLogger(__name__)

#: Name of the spool file in the state directory.
SPOOL_NAME = "backlog.jsonl"
#: Pauses between tries: the first, doubled after each failure up to the last.
FIRST_PAUSE = 0.5
LONGEST_PAUSE = 10.0


class Backlog:
    """Files and deletes waiting for the catalog, in order, spooled to ``path``."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.ready: dict[str, Ready] = {}
        self.gone: dict[str, Gone] = {}
        self.last_error = ""
        self.due = 0.0
        self._pause = FIRST_PAUSE
        self._load()

    def __len__(self) -> int:
        return len(self.ready) + len(self.gone)

    def keep(self, ready: list[Ready], gone: list[Gone], error: str, now: float) -> None:
        """Keep what a failed batch held; try again after a pause that grows each time."""
        self.hold(ready, gone)
        if error != self.last_error or not self.last_error:
            log.error("catalog unavailable (%s): %d changes kept, retried", error, len(self))
        self.last_error = error
        self.due = now + self._pause
        self._pause = min(self._pause * 2, LONGEST_PAUSE)

    def hold(self, ready: list[Ready], gone: list[Gone]) -> None:
        """Keep changes that came while the catalog is still out, without trying them."""
        if ready or gone:
            for file in ready:
                self.gone.pop(file.path, None)
                self.ready[file.path] = file
            for deleted in gone:
                self.ready.pop(deleted.path, None)
                self.gone[deleted.path] = deleted
            self._save()

    def is_due(self, now: float) -> bool:
        return bool(self) and now >= self.due

    def take(self) -> tuple[list[Ready], list[Gone]]:
        """Return everything kept, to be tried now (``keep`` it again if that fails)."""
        ready, gone = list(self.ready.values()), list(self.gone.values())
        self.ready, self.gone = {}, {}
        return ready, gone

    def recorded(self, count: int) -> None:
        """Say that what ``take`` gave was recorded: the spool is emptied."""
        if count:
            log.info("catalog available again: %d kept changes recorded", count)
        self._pause = FIRST_PAUSE
        self.last_error = ""
        self._save()

    def _save(self) -> None:
        """Replace the spool with what is kept (0600, through the state folder's descriptor:
        a link at its name is replaced, never written through); delete it when none is."""
        if self.path is None:
            return
        lines = [json.dumps({"ready": [r.root, r.path, r.moved_from]}) for r in self.ready.values()]
        lines += [json.dumps({"gone": [g.root, g.path, g.is_dir]}) for g in self.gone.values()]
        try:
            with open_private_dir(self.path.parent) as folder:
                if not lines:
                    remove(folder, self.path.name, links=True)
                    return
                data = ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
                folder.write_bytes(self.path.name, data, mode=PRIVATE_FILE_MODE)
        except (OSError, ProvenanceError) as exc:
            # a full state disk: kept in memory, spooled when it can be
            log.warning("cannot spool %d kept changes to %s: %s", len(self), self.path, exc)

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            with (
                open_folder(self.path.parent) as folder,
                folder.open_file(self.path.name) as file,
                file.stream() as stream,
            ):
                text = stream.read().decode("utf-8", "surrogateescape")
        except ConfinementError as exc:
            if exc.kind is not Refusal.NOT_FOUND:
                log.warning("cannot read the kept changes in %s: %s", self.path, exc.reason)
            return
        except OSError as exc:
            log.warning("cannot read the kept changes in %s: %s", self.path, exc)
            return
        for line in text.splitlines():
            try:
                entry = json.loads(line)
                if "ready" in entry:
                    root, path, moved_from = entry["ready"]
                    self.ready[path] = Ready(str(root), str(path), str(moved_from))
                else:
                    root, path, is_dir = entry["gone"]
                    self.gone[path] = Gone(str(root), str(path), bool(is_dir))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("skipped a bad line in %s: %s", self.path, exc)
        if self:
            log.info("%d changes kept from before the restart; recording them", len(self))
