"""`provenance config check` and `provenance config show`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from provenance.cli.app import App, UserError, pass_app
from provenance.service import config


@click.group("config")
def config_group() -> None:
    """Check or show the settings."""


@config_group.command("check")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@pass_app
def check_command(app: App, file: Path | None) -> None:
    """Validate a config file (default: --config, else the file the search path finds).

    Prints every problem at once as file: key: problem: bad values, unknown keys (with the
    closest known one), roots that do not exist, a catalog URL whose driver is not installed.
    """
    checked = config.check(app, file)
    if not checked.has_file:
        click.echo(f"(defaults): ok (no config file; {checked.roots} roots)")
        return
    if checked.problems:
        raise UserError("\n".join(checked.problems))
    click.echo(f"{checked.source}: ok ({checked.roots} roots, catalog {checked.catalog})")


@config_group.command("show")
@pass_app
def show_command(app: App) -> None:
    """Print the settings in effect, defaults included, as JSON."""
    click.echo(json.dumps(config.shown(app), indent=2))
