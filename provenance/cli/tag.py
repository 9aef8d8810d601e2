"""`provenance tag`: declare files AI output of a tool that left no mark."""

from __future__ import annotations

from pathlib import Path

import click

from provenance.catalog import utcnow
from provenance.cli.app import App, pass_app, resolve_path
from provenance.manual import ManualTag, tag_files


@click.command("tag")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--tool", required=True, help="The generator that made the files, e.g. 'Midjourney v6'."
)
@click.option("--model", help="Model name or version.")
@click.option("--prompt", help="The prompt, if known.")
@click.option("--dry-run", is_flag=True, help="Say what would be tagged, change nothing.")
@pass_app
def tag_command(
    app: App,
    paths: tuple[Path, ...],
    tool: str,
    model: str | None,
    prompt: str | None,
    dry_run: bool,
) -> None:
    """Declare files AI output of TOOL (for tools that leave no metadata)."""
    targets = [resolve_path(p) for p in paths]
    assets = tag_files(
        app.settings,
        app.catalog,
        app.actor,
        utcnow(),
        targets,
        ManualTag(tool=tool, model=model, prompt=prompt),
        dry_run=dry_run,
    )
    if dry_run:
        for target in targets:
            click.echo(f"dry run: would tag {target} as AI output of {tool}")
        return
    for asset in assets:
        click.echo(f"tagged {asset.path}: {asset.ai_class}, {asset.generator}, {asset.status}")
