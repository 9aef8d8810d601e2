"""`provenance thumbnails prune`: the pictures kept of content no asset holds, deleted."""

from __future__ import annotations

from dataclasses import asdict

import click

from provenance.cli.app import App, echo_json, pass_app
from provenance.service.thumbnails import prune_thumbnails


@click.group("thumbnails")
def thumbnails_group() -> None:
    """The pictures of assets kept in the state folder (thumbnails/)."""


@thumbnails_group.command("prune")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def prune_command(app: App, dry_run: bool, as_json: bool) -> None:
    """Delete the pictures, and the refusals remembered, of content that no asset holds any
    more (its files missing or purged). The daemon does it each night with reconcile."""
    pruned = prune_thumbnails(app, app.caller, dry_run=dry_run)
    if as_json:
        echo_json(asdict(pruned))
        return
    verb = "would remove" if dry_run else "removed"
    for discarded in pruned.removed:
        click.echo(f"{verb} {discarded.kind} of {discarded.content_hash} ({discarded.size} bytes)")
    for problem in pruned.left:
        click.echo(f"left alone: {problem}")
    total = sum(d.size for d in pruned.removed)
    click.echo(
        f"thumbnails{' (dry run)' if dry_run else ''}: {len(pruned.removed)} {verb} "
        f"({total} bytes), {pruned.kept} kept"
    )
