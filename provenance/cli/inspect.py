"""`provenance list` and `provenance show`: what the catalog knows."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from provenance.clearance.explain import render_clearance
from provenance.cli.app import App, UserError, echo_json, echo_json_array, echo_lines, pass_app
from provenance.lifecycle.states import STATUSES
from provenance.report.records import asset_record
from provenance.report.render_text import iso
from provenance.service import assets


def _short_date(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else "-"


@click.command("list")
@click.option("--ai", "ai_only", is_flag=True, help="Only AI assets (ai or partial).")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([status.value for status in STATUSES]),
    help="Only assets in this state (repeatable).",
)
@click.option(
    "--under", type=click.Path(path_type=Path), help="Only assets at or below this folder."
)
@click.option("--missing/--no-missing", default=True, help="Include assets whose file is gone.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many assets.")
@click.option(
    "--unreadable",
    is_flag=True,
    help="List the files that could not be read instead, with why and how often.",
)
@click.option("--json", "as_json", is_flag=True, help="Print provenance records as a JSON array.")
@pass_app
def list_command(
    app: App,
    ai_only: bool,
    statuses: tuple[str, ...],
    under: Path | None,
    missing: bool,
    limit: int | None,
    unreadable: bool,
    as_json: bool,
) -> None:
    """List assets in the catalog, by path (or, with --unreadable, the files that could not
    be read)."""
    if unreadable:
        if ai_only or statuses:
            raise UserError("--unreadable lists files, not assets: it takes no --ai or --status")
        _list_unreadable(app, under, limit, as_json)
        return
    listed = assets.list_assets(
        app,
        app.caller,
        ai_only=ai_only,
        statuses=statuses,
        under=str(under) if under is not None else None,
        include_missing=missing,
        limit=limit,
    )
    if as_json:
        echo_json_array(asset_record(a) for a in listed)
        return
    echo_lines(
        (
            f"{asset.status:<11} {asset.ai_class:<7} {_short_date(asset.deadline):<10} "
            f"{(asset.generator or '-')[:28]:<28} {asset.path}"
            + ("" if asset.present else "  (missing)")
            for asset in listed
        ),
        "no assets match",
    )


def _list_unreadable(app: App, under: Path | None, limit: int | None, as_json: bool) -> None:
    """Print the files that could not be read: attempts, last attempt, path and why."""
    files = assets.list_unreadable(
        app, app.caller, under=str(under) if under is not None else None, limit=limit
    )
    if as_json:
        echo_json_array(asdict(file) for file in files)
        return
    echo_lines(
        (
            f"{file.attempts:>3}x  {(file.last_failed or '-')[:10]:<10} "
            f"retry {'again' if file.retried else 'when changed':<12} {file.path}  ({file.reason})"
            for file in files
        ),
        "no unreadable files",
    )


#: A time in an event's before/after (a deadline, say): printed as every time is (``iso``).
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}")


def _value(value: Any) -> str:
    """One value of an event's before/after as text: a mapping as ``key=value`` pairs."""
    if value is None or value == "":
        return "none"
    if isinstance(value, str) and _TIME.match(value):
        return iso(value) or value
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}={_value(v)}" for k, v in value.items()) + ")"
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) or "none"
    return str(value)


def describe_change(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Say what an event changed, status first: ``status temporary → flagged, rule quick``.

    A key on both sides that changed reads ``key old → new``; one only after it, ``key new``;
    one only before it, ``key old → none``; a key that did not change is left out."""
    keys = list(dict.fromkeys(["status", *after, *before]))
    parts = []
    for key in keys:
        if key in before and key in after:
            if before[key] != after[key]:
                parts.append(f"{key} {_value(before[key])} → {_value(after[key])}")
        elif key in after:
            parts.append(f"{key} {_value(after[key])}")
        elif key in before:
            parts.append(f"{key} {_value(before[key])} → none")
    return ", ".join(parts)


def event_line(event: dict[str, Any], *, path: bool = True) -> str:
    """One audit event as a history line: when, what, who, the file, what changed, why."""
    change = describe_change(event["before"] or {}, event["after"] or {})
    reason = event["reason"] or ""
    where = f"  {event['path'] or '-'}" if path else ""
    return (
        f"{iso(event['at'])}  {event['action']:<12} {event['user']}@{event['host']}{where}"
        + (f"  {change}" if change else "")
        + (f"; {reason}" if reason and change else f"  {reason}" if reason else "")
    )


def render_show(record: dict[str, Any]) -> str:
    keys = (
        "path",
        "uid",
        "status",
        "ai_class",
        "generator",
        "model",
        "deadline",
        "policy",
        "content_hash",
        "media_type",
        "size",
        "first_seen",
        "last_seen",
        "copy_of",
        "prompt",
    )
    times = ("deadline", "first_seen", "last_seen")
    lines = [
        f"{key + ':':<14}{iso(record[key]) if key in times else record[key]}"
        for key in keys
        if record.get(key) not in (None, "")
    ]
    if not record["present"]:
        lines.append(f"{'missing:':<14}since {iso(record['missing_since'])}")
    if record.get("clearance"):
        lines += render_clearance(record["clearance"])
    lines.append("signals:")
    for s in record["signals"] or []:
        what = ", ".join(x for x in (s["generator"], s["model"]) if x) or "-"
        lines.append(f"  {s['kind']:<10} {s['ai_class']:<7} {what}  [{s['source']}]")
        detail = s["detail"]
        if detail.get("signer") or detail.get("validation_state"):
            codes = ", ".join(detail.get("validation_codes") or [])
            lines.append(
                f"  {'':<10} signed by {detail.get('signer') or 'unknown'}; "
                f"signature {detail.get('validation_state') or 'not checked'}"
                + (f" ({codes})" if codes else "")
                + " - validity is recorded apart from the verdict"
            )
    if not record["signals"]:
        lines.append("  none")
    lines.append("history:")
    lines += [f"  {event_line(e, path=False)}" for e in record["events"]]
    return "\n".join(lines)


@click.command("show")
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print the provenance record as JSON.")
@pass_app
def show_command(app: App, target: str, as_json: bool) -> None:
    """Show the whole record of one asset (a path or an asset id) and its history."""
    record = assets.show(app, app.caller, target)
    if as_json:
        echo_json(record)
    else:
        click.echo(render_show(record))
