"""`provenance notify test`: check the webhooks ([notify]) with a signed test notice."""

from __future__ import annotations

import click

from provenance.cli.app import App, pass_app
from provenance.service import notify


@click.group("notify")
def notify_group() -> None:
    """Check the webhooks notifications go to ([notify])."""


@notify_group.command("test")
@click.option("--target", metavar="NAME", help="Only the webhook of this name.")
@pass_app
def test_command(app: App, target: str | None) -> None:
    """Send a signed test notice to each configured webhook (or --target NAME) now, whether
    or not notifications are enabled: one line each, an `error:` line for one that fails
    (exit 1)."""
    failed = 0
    for result in notify.check_webhooks(app, app.caller, target):
        if result.ok:
            click.echo(
                f"webhook {result.where}: took the test notice "
                f"(HTTP {result.status}, {result.seconds:.2f}s)"
            )
        else:
            failed += 1
            click.echo(f"error: {result.error}", err=True)
    if failed:
        raise click.exceptions.Exit(1)
