"""``status``: whether a daemon runs on this host, its roots and their health, the catalog's
counts, and the interrupted steps that wait."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from provenance.catalog import redact_url
from provenance.daemon.runstate import daemon_pid, read_status
from provenance.files.roots import check_root
from provenance.retention.journal import Waiting, waiting_steps
from provenance.service.context import App, Caller
from provenance.service.metrics import catalog_counts
from provenance.service.remote import served


@dataclass(frozen=True)
class RootStatus:
    """One root: configured or watched (or both), its health, its watcher, its last scan."""

    path: str
    #: How the daemon watches it ("native", "polling"); None when no daemon watches it.
    mode: str | None
    watching: bool
    #: Whether its watcher proved it hears, and how ("canary", "identity") and when.
    hears: bool
    proof: str | None
    proved_at: str | None
    deaf_restarts: int
    last_deaf: str
    last_deaf_at: str | None
    online: bool | None
    reason: str
    last_scan: datetime | None
    last_scan_files: int | None
    #: Files its last scan found beside a sidecar of ours written for other content
    #: (ignored as evidence; ``provenance scan`` names them).
    stale_sidecars: int = 0


@dataclass(frozen=True)
class UnreadableCount:
    """Files that could not be read, and how many of them wait until they change."""

    files: int
    not_retried: int


@dataclass(frozen=True)
class Status:
    """What ``provenance status`` shows (``as_dict``: its ``--json``)."""

    running: bool
    pid: int | None
    state_dir: str
    catalog: str
    #: The status file the running daemon writes; None when none runs.
    daemon: dict[str, Any] | None
    roots: list[RootStatus]
    counts: dict[str, int]
    unreadable: UnreadableCount
    interrupted: list[Waiting]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@served("status")
def status(app: App, caller: Caller) -> Status:
    """Return the daemon's state on this host, each root's health, and the catalog's counts."""
    caller.require("status")
    settings = app.settings
    state_dir = settings.state_path
    pid = daemon_pid(state_dir)
    written = read_status(state_dir) if pid else None
    configured = {str(r.path): r for r in settings.roots}
    watched = {r["path"]: r for r in (written or {}).get("roots", [])}
    paths = list(dict.fromkeys([*watched, *configured]))
    counted = catalog_counts(app, caller, paths)
    roots = []
    for path in paths:
        root = configured.get(path)
        health = check_root(root) if root is not None else None
        last = counted.last_scans.get(path)
        shown = watched.get(path, {})
        roots.append(
            RootStatus(
                path=path,
                mode=shown.get("mode"),
                watching=shown.get("watching", False),
                hears=shown.get("hears", False),
                proof=shown.get("proof"),
                proved_at=shown.get("proved_at"),
                deaf_restarts=shown.get("deaf_restarts", 0),
                last_deaf=shown.get("last_deaf", ""),
                last_deaf_at=shown.get("last_deaf_at"),
                online=health.online if health else watched[path].get("online"),
                reason=health.reason if health else watched[path].get("reason", ""),
                last_scan=last.finished_at if last is not None else None,
                last_scan_files=last.files if last is not None else None,
                stale_sidecars=last.stale_sidecars if last is not None else 0,
            )
        )
    return Status(
        running=pid is not None,
        pid=pid if pid and pid > 0 else None,
        state_dir=str(state_dir),
        catalog=redact_url(settings.catalog_url),
        daemon=written,
        roots=roots,
        counts=counted.by_status,
        unreadable=UnreadableCount(counted.unreadable, counted.not_retried),
        interrupted=waiting_steps(app.catalog, settings),
    )
