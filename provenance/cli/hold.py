"""`provenance hold` and `provenance release`: legal holds on files and folders."""

from __future__ import annotations

from pathlib import Path

import click

from provenance.cli.app import App, pass_app
from provenance.service import decisions


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
    names = [str(path) for path in paths]
    held = decisions.hold(
        app, app.caller, names, reason, dry_run=dry_run, unseen=decisions.unseen(names)
    )
    for done in held:
        if done.dry_run:
            click.echo(f"dry run: would hold {done.path} ({done.assets} assets)")
        elif done.already:
            click.echo(f"{done.path}: already held")
        else:
            click.echo(f"held {done.path} ({done.assets} assets)")


@click.command("release")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print what would be released; change nothing.")
@pass_app
def release_command(app: App, paths: tuple[Path, ...], dry_run: bool) -> None:
    """Release holds; the next sweep decides each asset's state from its policy again."""
    for done in decisions.release(app, app.caller, [str(p) for p in paths], dry_run=dry_run):
        prefix = "dry run: would release" if done.dry_run else "released"
        click.echo(f"{prefix} {done.path} ({done.assets} assets)")
