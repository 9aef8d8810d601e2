"""`provenance audit verify` and `provenance log`: prove and read the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from provenance.audit import verify_chain
from provenance.catalog import Event
from provenance.catalog.lifecycle import recent_events
from provenance.cli.app import App, UserError, echo_json, pass_app
from provenance.cli.inspect import find_asset
from provenance.records import event_record


def _fields(events: Iterator[Event], counter: list[int]) -> Iterator[dict[str, Any]]:
    for event in events:
        counter[0] += 1
        yield event.model_dump()


@click.group("audit")
def audit_group() -> None:
    """Check the audit trail."""


@audit_group.command("verify")
@pass_app
def verify_command(app: App) -> None:
    """Walk the hash chain of every event; report the first broken link (exit 1)."""
    counter = [0]
    with app.catalog.read() as tx:
        broken = verify_chain(_fields(tx.all_events(), counter))
    if broken is not None:
        raise UserError(f"audit chain broken at event {broken.event_id}: {broken.reason}")
    click.echo(f"audit chain intact: {counter[0]} events")


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
    with app.catalog.read() as tx:
        if target is not None:
            asset = find_asset(tx, target)
            assert asset.id is not None
            events = tx.events_of(asset.id)
        else:
            events = recent_events(tx, limit)
    records = [event_record(e) for e in events]
    if as_json:
        echo_json(records)
        return
    for e in records:
        change = f" {e['before']} -> {e['after']}" if e["before"] or e["after"] else ""
        click.echo(
            f"{e['at']}  {e['action']:<12} {e['user']}@{e['host']}  {e['path'] or '-'}  "
            f"{e['reason']}{change}"
        )
    if not records:
        click.echo("no events", err=True)
