"""`provenance audit verify` and `provenance log`: prove and read the audit trail."""

from __future__ import annotations

import click

from provenance.audit.verify import Verdict
from provenance.cli.app import App, echo_json, pass_app
from provenance.cli.inspect import event_line
from provenance.service import assets, integrity


@click.group("audit")
def audit_group() -> None:
    """Check the audit trail; rotate or replace its key."""


@audit_group.command("verify")
@pass_app
def verify_command(app: App) -> None:
    """Check every event's link, MAC and the anchored heads, and that the state tables agree
    with the events (exit 1 and one line on the first problem)."""
    verified = integrity.verify_audit(app, app.caller)
    detail = _detail(verified.verdict, verified.has_keys)
    click.echo(f"audit chain intact: {verified.verdict.events} events{detail}")


def _detail(verdict: Verdict, has_keys: bool) -> str:
    parts = [f"{n} signed with key {key}" for key, n in verdict.signed.items()]
    if verdict.unauthenticated:
        before = "before the key file" if has_keys else "with no key file yet"
        parts.append(f"{verdict.unauthenticated} {before}, checked by chain and anchors only")
    parts.append(f"{verdict.anchors} anchored heads match; state tables agree")
    return " (" + "; ".join(parts) + ")" if verdict.events else ""


@audit_group.command("rotate-key")
@pass_app
def rotate_key_command(app: App) -> None:
    """Sign new events with a new key; the old keys stay in the key file to check old events."""
    key = integrity.rotate_key(app, app.caller)
    click.echo(f"new audit key {key.key_id} in {key.path}; back the file up")


@audit_group.command("new-key")
@click.option("--lost", is_flag=True, required=True, help="The key file is lost: start a new one.")
@pass_app
def new_key_command(app: App, lost: bool) -> None:
    """Start a new key file after the old one was lost. The events already in the catalog
    are then checked by their chain and the anchors only, and an event says so."""
    key = integrity.new_key(app, app.caller)
    click.echo(
        f"new audit key {key.key_id} in {key.path}; the {key.earlier_events} earlier events are "
        "checked by their chain and the anchors only; back the file up"
    )


@audit_group.command("anchor")
@pass_app
def anchor_command(app: App) -> None:
    """Write the chain's head (events, newest hash) to the anchor file and the system log."""
    count, head = integrity.anchor(app, app.caller)
    click.echo(f"anchored: {count} events, head {head}")


@click.command("log")
@click.argument("target", required=False)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="How many recent events (without TARGET).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the events as a JSON array.")
@pass_app
def log_command(app: App, target: str | None, limit: int, as_json: bool) -> None:
    """Show the history of one asset (a path or an asset id), or the most recent events."""
    records = assets.log(app, app.caller, target, limit)
    if as_json:
        echo_json(records)
        return
    for e in records:
        click.echo(event_line(e))
    if not records:
        click.echo("no events", err=True)
