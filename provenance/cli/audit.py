"""`provenance audit verify` and `provenance log`: prove and read the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from provenance.audit.anchor import read_anchors
from provenance.audit.keys import add_key, create_keys, key_path, read_keys
from provenance.audit.verify import Verdict, verify_events
from provenance.catalog import Event, utcnow
from provenance.catalog.attest import state_mismatches
from provenance.cli.app import App, UserError, echo_json, pass_app
from provenance.service import assets


def _fields(events: Iterator[Event]) -> Iterator[dict[str, Any]]:
    for event in events:
        yield event.model_dump()


@click.group("audit")
def audit_group() -> None:
    """Check the audit trail; rotate or replace its key."""


@audit_group.command("verify")
@pass_app
def verify_command(app: App) -> None:
    """Check every event's link, MAC and the anchored heads, and that the state tables agree
    with the events (exit 1 and one line on the first problem)."""
    app.authorize("audit verify")
    catalog = app.catalog
    ring = read_keys(key_path(catalog.state_dir))
    anchors = read_anchors(catalog.state_dir)
    with catalog.read() as tx:
        verdict = verify_events(_fields(tx.all_events()), ring, anchors)
        mismatch = next(state_mismatches(tx), None) if verdict.ok else None
    if verdict.broken is not None:
        raise UserError(
            f"audit chain broken at event {verdict.broken.event_id}: {verdict.broken.reason}"
        )
    if verdict.problem is not None:
        raise UserError(f"audit chain broken: {verdict.problem}")
    if mismatch is not None:
        raise UserError(f"audit state broken: {mismatch.what}: {mismatch.reason}")
    click.echo(f"audit chain intact: {verdict.events} events{_detail(verdict, ring is not None)}")


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
    app.authorize("audit key")
    catalog = app.catalog
    ring = add_key(key_path(catalog.state_dir), utcnow())
    catalog.forget_keys()
    with catalog.write() as tx:
        tx.record(app.actor, "audit-key-rotated", utcnow(), reason=f"new key {ring.current.key_id}")
    click.echo(f"new audit key {ring.current.key_id} in {ring.path}; back the file up")


@audit_group.command("new-key")
@click.option("--lost", is_flag=True, required=True, help="The key file is lost: start a new one.")
@pass_app
def new_key_command(app: App, lost: bool) -> None:
    """Start a new key file after the old one was lost. The events already in the catalog
    are then checked by their chain and the anchors only, and an event says so."""
    app.authorize("audit key")
    catalog = app.catalog
    path = key_path(catalog.state_dir)
    if read_keys(path) is not None:
        raise UserError(f"{path} exists: use `provenance audit rotate-key` for a new key")
    with catalog.read() as tx:
        count, _head = tx.chain_head()
    ring = create_keys(path, count, utcnow())
    with catalog.write() as tx:
        tx.record(
            app.actor,
            "audit-key-replaced",
            utcnow(),
            reason=f"audit key lost; the {count} events before this are no longer authenticated",
        )
    click.echo(
        f"new audit key {ring.current.key_id} in {path}; the {count} earlier events are checked "
        "by their chain and the anchors only; back the file up"
    )


@audit_group.command("anchor")
@pass_app
def anchor_command(app: App) -> None:
    """Write the chain's head (events, newest hash) to the anchor file and the system log."""
    app.authorize("audit key")
    catalog = app.catalog
    with catalog.read() as tx:
        head = tx.chain_head()
    catalog.anchor(head, "by hand")
    click.echo(f"anchored: {head[0]} events, head {head[1]}")


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
        change = f" {e['before']} -> {e['after']}" if e["before"] or e["after"] else ""
        click.echo(
            f"{e['at']}  {e['action']:<12} {e['user']}@{e['host']}  {e['path'] or '-'}  "
            f"{e['reason']}{change}"
        )
    if not records:
        click.echo("no events", err=True)
