"""What every command shares: the service's ``App`` (settings, catalog, caller), errors as one
``error: ...`` line, and JSON output."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

import click

from provenance.service.context import App, resolve_path


class UserError(click.ClickException):
    """Printed as ``error: ...`` (one line per problem), exit status 1."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        for line in self.format_message().splitlines() or [""]:
            click.echo(f"error: {line}", err=True)


pass_app = click.make_pass_decorator(App)


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON on stdout."""
    click.echo(_dumps(value))


def echo_json_array(items: Iterable[Any]) -> None:
    """Print ``items`` as the indented JSON array ``echo_json(list(items))`` would print, an
    item at a time: a catalog of a million assets is never one list, nor one string."""
    first = True
    for item in items:
        text = _dumps(item).replace("\n", "\n  ")
        click.echo(("[\n  " if first else ",\n  ") + text, nl=False)
        first = False
    click.echo("[]" if first else "\n]")


def echo_lines(lines: Iterable[str], none: str) -> None:
    """Print each line as it comes; ``none`` on stderr when there was not one."""
    printed = False
    for line in lines:
        click.echo(line)
        printed = True
    if not printed:
        click.echo(none, err=True)


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


__all__ = [
    "App",
    "UserError",
    "echo_json",
    "echo_json_array",
    "echo_lines",
    "pass_app",
    "resolve_path",
]
