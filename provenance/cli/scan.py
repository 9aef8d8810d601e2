"""`provenance scan`: walk folders, detect, hash, catalog, tag.

A root the catalog does not know is walked and handed to the readers before the catalog is
loaded (``service.scan.prepare``), so this module imports the service's scan only when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provenance.cli.app import App, UserError, echo_json, pass_app

if TYPE_CHECKING:
    from provenance.ingest.scan import ScanResult


def _progress_bar() -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _walking_line(root: str, files: int) -> None:
    click.echo(f"\rwalking {root}: {files:,} files", err=True, nl=False)


#: Files named in the summary's stale-sidecar line (``--json`` lists up to 1000).
STALE_SHOWN = 5


def render_summary(result: ScanResult) -> str:
    c = result.counts
    lines = []
    for root in result.roots:
        state = f"{root.files} files" if root.online else f"OFFLINE: {root.reason}"
        lines.append(f"{root.root}: {state}")
    lines.append(
        f"{c.indexed} new, {c.modified} modified, {c.moved} moved, {c.copied} copies, "
        f"{c.unchanged} unchanged, {c.missing} missing, {c.skipped} skipped; "
        f"{c.ai} AI assets, {c.tagged} tagged ({result.seconds:.1f}s)"
    )
    if c.sidecars_moved or c.sidecars_removed or c.sidecars_kept:
        lines.append(
            f"sidecars: {c.sidecars_moved} moved with their files, {c.sidecars_removed} "
            f"removed with them, {c.sidecars_kept} left (another file at the new name)"
        )
    if c.stale_sidecars:
        shown = ", ".join(c.stale[:STALE_SHOWN]) + (
            ", ..." if c.stale_sidecars > STALE_SHOWN else ""
        )
        lines.append(
            f"problem: {c.stale_sidecars} files beside a sidecar of ours written for other "
            f"content, ignored as evidence (left from a renamed or replaced file?): {shown}"
        )
    if c.not_retried:
        lines.append(
            f"unreadable and unchanged, not read again: {c.not_retried} "
            "(provenance list --unreadable)"
        )
    return "\n".join(lines)


@click.command("scan")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--deep",
    is_flag=True,
    default=None,
    help="Also decode pixels to find data hidden in the alpha channel (slow).",
)
@click.option(
    "--rebuild",
    is_flag=True,
    help="Read every file again and restore lost records from their tags.",
)
@click.option(
    "--dry-run", is_flag=True, help="Read and report, write nothing (no catalog rows, no tags)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def scan_command(
    app: App,
    paths: tuple[Path, ...],
    deep: bool | None,
    rebuild: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Scan folders (or the configured roots) and catalog their AI assets.

    A file whose size, modification time and inode are unchanged is not read again.
    A root that is missing or whose marker file is gone is reported offline and left alone.
    """
    for path in paths:
        if not path.is_dir():
            raise UserError(f"{path}: no such folder")
    show_bar = sys.stderr.isatty() and not as_json
    # with a config file (or --via-daemon) the catalog may be the daemon's: then the daemon
    # scans, as its account; with none, the user's own catalog and the head start
    if (app.via_daemon or not app.reads_no_config_file) and app.remote is not None:
        result = _scan_through_daemon(app, paths, deep, rebuild, dry_run, show_bar)
        _print_result(result, dry_run, as_json)
        return
    import time

    from provenance.service import scan as scanning

    began = time.monotonic()

    # before the progress bar's thread, so that the workers can be forked; a line of its
    # own says how far the walk has come
    def walking(root: Path) -> Callable[[int], None] | None:
        return (lambda n: _walking_line(str(root), n)) if show_bar else None

    with scanning.prepare(app, paths, deep=deep, rebuild=rebuild, on_count=walking) as ready:
        if show_bar:
            click.echo("\r\x1b[2K", err=True, nl=False)  # the walking line, gone
        caller = app.caller
        bar: Any = _progress_bar() if show_bar else nullcontext()
        with bar as progress:
            task = progress.add_task("scanning", total=None) if show_bar else None
            result = scanning.scan(
                app,
                caller,
                ready,
                deep=deep,
                rebuild=rebuild,
                dry_run=dry_run,
                on_total=(
                    (lambda n: progress.update(task, total=n, description="scanning"))
                    if show_bar
                    else None
                ),
                progress=(lambda n: progress.advance(task, n)) if show_bar else None,
                on_walk=(
                    (lambda root, n: progress.update(task, description=f"walking: {n:,} files"))
                    if show_bar
                    else None
                ),
            )
    result.seconds = time.monotonic() - began  # the head start included
    _print_result(result, dry_run, as_json)


def _print_result(result: ScanResult, dry_run: bool, as_json: bool) -> None:
    if as_json:
        echo_json({"dry_run": dry_run, **result.as_dict()})
    else:
        prefix = "dry run: " if dry_run else ""
        click.echo(prefix + render_summary(result))
    if not any(r.online for r in result.roots):
        raise UserError("every root is offline; nothing was scanned")


def _scan_through_daemon(
    app: App,
    paths: tuple[Path, ...],
    deep: bool | None,
    rebuild: bool,
    dry_run: bool,
    show_bar: bool,
) -> ScanResult:
    """Ask the daemon to scan the roots holding ``paths`` as its account; a progress bar on
    a terminal, from the progress it sends."""
    from provenance.service.remote import Progress
    from provenance.service.rescan import rescan

    bar: Any = _progress_bar() if show_bar else nullcontext()
    with bar as progress:
        task = progress.add_task("the daemon: queued", total=None) if show_bar else None

        def heard(news: Progress) -> None:
            if task is not None:
                progress.update(
                    task,
                    description=f"the daemon: {news.stage}",
                    total=news.total,
                    completed=news.done,
                )

        return rescan(
            app,
            app.caller,
            [str(path) for path in paths],
            deep=deep,
            rebuild=rebuild,
            dry_run=dry_run,
            on_progress=heard,
        )
