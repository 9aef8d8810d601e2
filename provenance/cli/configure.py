"""`provenance config check` and `provenance config show`."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import click

from provenance.catalog import redact_url, url_problem
from provenance.cli.app import App, UserError, pass_app
from provenance.config import check_config, config_path


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
    path = file or app.config_path or config_path()
    if path is None:
        click.echo(f"(defaults): ok (no config file; {len(app.settings.roots)} roots)")
        return
    settings, problems = check_config(path)
    url = settings.catalog.url if settings is not None else _raw_catalog_url(path)
    if url:
        problem = url_problem(url)
        if problem is not None:
            problems.append(f"{path}: catalog.url: {problem} (got {redact_url(url)!r})")
    if problems or settings is None:
        raise UserError("\n".join(problems))
    catalog = redact_url(settings.catalog_url)
    click.echo(f"{settings.source}: ok ({len(settings.roots)} roots, catalog {catalog})")


def _raw_catalog_url(path: Path) -> str:
    """The catalog URL written in a file whose other settings do not load."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ""
    catalog = data.get("catalog")
    url = catalog.get("url") if isinstance(catalog, dict) else None
    return url if isinstance(url, str) else ""


@config_group.command("show")
@pass_app
def show_command(app: App) -> None:
    """Print the settings in effect, defaults included, as JSON."""
    data = app.settings.model_dump(mode="json", by_alias=True)
    data["catalog"]["url"] = redact_url(app.settings.catalog_url)
    click.echo(json.dumps(data, indent=2))
