"""The daemon as an action: ``run_daemon`` (watch the roots until stopped) and ``systemd_unit``
(the unit file that runs it as the service account)."""

from __future__ import annotations

import shutil
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from provenance.catalog import utcnow
from provenance.config import load_settings, locations
from provenance.daemon.service import Daemon, lock_for
from provenance.daemon.systemd import Unit, provenance_command, unit_file
from provenance.errors import ConfigError
from provenance.service.context import App, Caller


def run_daemon(app: App, caller: Caller, roots: Sequence[Path]) -> bool:
    """Watch ``roots`` (else the configured ones) in the foreground until SIGTERM or SIGINT;
    SIGHUP reloads the config. Return whether the last batch was left unfinished (its reads
    still queued in the worker pool: the next start-up scan records them)."""
    caller.require("scan")
    for path in roots:
        if not path.is_dir():
            raise ConfigError(f"{path}: no such folder")
    settings = app.use_roots(roots, "watch")
    lock = lock_for(settings)
    lock.acquire()
    try:
        daemon = Daemon(
            settings,
            app.catalog,
            caller.actor,
            utcnow,
            reload_settings=lambda: load_settings(app.config_path).with_roots(list(roots)),
        )
        daemon.run()
    finally:
        lock.release()
    return daemon.unfinished


@dataclass(frozen=True)
class UnitFile:
    """A systemd unit for the daemon, and the folders it needs that other accounts cannot
    enter: (the folder, the closed folder above it)."""

    text: str
    closed: tuple[tuple[Path, Path], ...]


def systemd_unit(app: App, roots: Sequence[Path], user: str, group: str | None) -> UnitFile:
    """Return the unit that runs this program's daemon on ``roots`` (else the configured
    ones) as ``user`` and ``group`` (default: the same name), writing only the roots and its
    own state, report and metrics folders."""
    settings = app.settings.with_roots([p.absolute() for p in roots])
    command = provenance_command(sys.argv[0], shutil.which("provenance"), sys.executable)
    # the script, and the interpreter and libraries it runs (a venv links to its Python)
    reads = [Path(command[0]), *(Path(p).resolve() for p in (sys.prefix, sys.base_prefix))]
    closed = []
    for folder in dict.fromkeys(reads):
        above = _closed_folder(folder)
        if above is not None:
            closed.append((folder, above))
    # the service reads /etc/provenance/provenance.toml by itself; any other file is named
    config = app.config_path or (Path(settings.source) if settings.source != "(defaults)" else None)
    if config is not None and config.absolute() != locations.SYSTEM_CONFIG:
        command += ["--config", str(config.absolute())]
        reads.append(config.absolute())
    command += ["daemon", *(str(p.absolute()) for p in roots)]
    writes = [root.path for root in settings.roots]
    if settings.state_dir is not None:
        writes.append(settings.state_path.absolute())
    if settings.report.out_dir is not None:
        writes.append(settings.report_dir.absolute())
    if settings.daemon.metrics_dir is not None:
        writes.append(settings.daemon.metrics_dir.absolute())
    catalog = Path(settings.catalog.url.removeprefix("sqlite:///"))
    if settings.catalog.url.startswith("sqlite:///") and catalog.is_absolute():
        writes.append(catalog.parent)
    pam = settings.web.enabled and settings.web.auth == "pam"
    text = unit_file(
        Unit(
            command,
            user=user,
            group=group or user,
            writes=tuple(writes),
            reads=tuple(reads),
            pam=pam,
        )
    )
    return UnitFile(text, tuple(closed))


def _closed_folder(path: Path) -> Path | None:
    """Return the first folder above ``path`` that other accounts may not pass through."""
    for folder in reversed(path.absolute().parents):
        try:
            if not folder.stat().st_mode & stat.S_IXOTH:
                return folder
        except OSError:
            return None
    return None
