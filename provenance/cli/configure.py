"""`provenance config check` and `provenance config show`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from provenance.catalog import redact_url
from provenance.cli.app import App, pass_app
from provenance.config import load_settings


@click.group("config")
def config_group() -> None:
    """Check or show the settings."""


@config_group.command("check")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@pass_app
def check_command(app: App, file: Path | None) -> None:
    """Validate a config file (default: --config); print every problem as file: key."""
    settings = load_settings(file) if file is not None else app.settings
    catalog = redact_url(settings.catalog_url)
    click.echo(f"{settings.source}: ok ({len(settings.roots)} roots, catalog {catalog})")


@config_group.command("show")
@pass_app
def show_command(app: App) -> None:
    """Print the settings in effect, defaults included, as JSON."""
    data = app.settings.model_dump(mode="json", by_alias=True)
    data["catalog"]["url"] = redact_url(app.settings.catalog_url)
    click.echo(json.dumps(data, indent=2))
