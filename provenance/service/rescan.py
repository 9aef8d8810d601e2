"""``scan`` as the daemon runs it for another user (``provenance scan`` through its socket):
the configured roots that hold the folders given, walked and read by the service's account.

A folder outside every configured root is refused: the service's account reads and tags
only where it was told to. A folder inside one is scanned as part of that root (the whole
root is walked, as the daemon's own reconciliation scan walks it; unchanged files are not
read again), so that every record keeps the root the daemon files it under.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from provenance.catalog import utcnow
from provenance.config import RootSettings
from provenance.errors import ConfigError
from provenance.ingest.scan import ScanResult
from provenance.ingest.scan import scan as run_scan
from provenance.service.context import App, Caller
from provenance.service.remote import Progress, served


@served("scan", paths=("folders",), long=True)
def rescan(
    app: App,
    caller: Caller,
    folders: Sequence[str],
    *,
    deep: bool | None = None,
    rebuild: bool = False,
    dry_run: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
) -> ScanResult:
    """Scan the configured roots holding ``folders`` (every configured root when none);
    return what was found and done. ConfigError names a folder outside every root.

    An operator's, as every scan is: it walks whole roots as the service's account (an
    artist never needs it: the daemon records each file as it arrives).
    """
    caller.require("scan")
    settings = app.settings_with_roots()
    chosen: list[RootSettings] = []
    for folder in folders:
        root = settings.root_for(Path(folder))
        if root is None:
            known = ", ".join(str(r.path) for r in settings.roots) or "none"
            raise ConfigError(f"{folder}: outside every root the daemon scans ({known})")
        if not Path(folder).is_dir():
            raise ConfigError(f"no such folder: {folder} (as the daemon's account sees it)")
        if root not in chosen:
            chosen.append(root)
    roots = chosen or list(settings.roots)
    if not roots:
        raise ConfigError("nothing to scan: the daemon has no [[roots]] in its config")
    tell = on_progress or (lambda _progress: None)
    reading = [0, 0]  # files read, files to read

    def walked(root: str, files: int) -> None:
        tell(Progress(f"walking {root}", files))

    def total(files: int) -> None:
        reading[:] = [0, files]
        tell(Progress("reading", 0, files))

    def read(files: int) -> None:
        reading[0] += files
        tell(Progress("reading", reading[0], reading[1]))

    return run_scan(
        settings.model_copy(update={"roots": roots}),
        app.catalog,
        caller.actor,
        utcnow(),
        deep=deep,
        rebuild=rebuild,
        dry_run=dry_run,
        on_total=total,
        progress=read,
        on_walk=walked,
    )
