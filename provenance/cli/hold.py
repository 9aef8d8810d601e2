"""`provenance hold` and `provenance release`: legal holds on files and folders."""

from __future__ import annotations

from pathlib import Path

import click

from provenance.catalog import utcnow
from provenance.cli.app import App, pass_app, resolve_path
from provenance.retention.hold import hold, release


@click.command("hold")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--reason", required=True, help="Why (a matter or ticket number); kept in the audit trail."
)
@click.option("--dry-run", is_flag=True, help="Print what would be held; change nothing.")
@pass_app
def hold_command(app: App, paths: tuple[Path, ...], reason: str, dry_run: bool) -> None:
    """Place a legal hold: the files, or everything under the folders, are never moved.

    Files that arrive under a held folder later are held too.
    """
    app.authorize("hold")
    for line in hold(
        app.catalog, [resolve_path(p) for p in paths], reason, app.actor, utcnow(), dry_run=dry_run
    ):
        click.echo(line)


@click.command("release")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print what would be released; change nothing.")
@pass_app
def release_command(app: App, paths: tuple[Path, ...], dry_run: bool) -> None:
    """Release holds; the next sweep decides each asset's state from its policy again."""
    app.authorize("release")
    for line in release(
        app.catalog, [resolve_path(p) for p in paths], app.actor, utcnow(), dry_run=dry_run
    ):
        click.echo(line)
