"""`provenance sweep` and `provenance restore`: retire what is due; put a file back."""

from __future__ import annotations

from datetime import UTC, datetime, time

import click

from provenance.cli.app import App, echo_json, pass_app
from provenance.lifecycle.states import ACTIONS
from provenance.retention.restore import Restored
from provenance.retention.sweep import SweepSummary
from provenance.service import retention

VERBS = {
    "warn": "mark expiring",
    "flag": "flag",
    "quarantine": "quarantine",
    "purge": "purge",
    "hold": "hold",
}


def _as_of(value: datetime | None) -> datetime | None:
    """The end of the given day, in UTC: "what will have happened by then"."""
    if value is None:
        return None
    return datetime.combine(value.date(), time(23, 59, 59), tzinfo=UTC)


def render_sweep(report: SweepSummary) -> list[str]:
    """One line per file (with its rule and reason), then a summary line."""
    prefix = "dry run: would " if report.dry_run else ""
    lines = [f"root offline, left alone: {root} ({why})" for root, why in report.offline.items()]
    lines += [f"root busy, left alone: {root} ({why})" for root, why in report.busy.items()]
    lines += [
        f"recovered interrupted {r.operation} of {r.path}: {r.outcome} ({r.detail})"
        for r in report.recoveries
    ]
    lines += [f"interrupted {w.operation} of {w.path} waits: {w.reason}" for w in report.waiting]
    for step in report.steps:
        verb = VERBS.get(step.action, step.action)
        when = f" on {step.due:%Y-%m-%d}" if report.as_of is not None and step.due else ""
        rule = f"rule {step.rule}: " if step.rule else ""
        if step.skipped is not None:
            lines.append(f"skipped {verb} {step.path} ({step.skipped})")
        else:
            head = f"{prefix}{verb}" if report.dry_run else ACTIONS.get(step.action, step.action)
            lines.append(f"{head}{when} {step.path} ({rule}{step.reason})")
    if report.refused:
        lines.append(f"{'dry run: ' if report.dry_run else ''}refused: {report.refused}")
    counts = report.counts() if not report.dry_run else report.planned()
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing due"
    lines.append(f"{'dry run: ' if report.dry_run else ''}sweep: {summary}")
    return lines


@click.command("sweep")
@click.option("--dry-run", is_flag=True, help="Print exactly what would happen; change nothing.")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Show what will have happened by the end of this day (implies --dry-run).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Run even past retention.max_actions_per_run or when every AI asset of a root would go.",
)
@click.option(
    "--changed",
    is_flag=True,
    help="Purge quarantined files whose bytes changed there too (they are skipped otherwise).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan and outcome as JSON.")
@pass_app
def sweep_command(
    app: App, dry_run: bool, as_of: datetime | None, force: bool, changed: bool, as_json: bool
) -> None:
    """Flag, quarantine and purge AI assets whose policy deadline has passed.

    Each file is re-checked just before it is touched (still due, not cleared or held,
    unchanged, inside its root, root online). Interrupted moves are settled first. A file
    whose bytes changed in quarantine is listed for you to decide: `provenance restore`
    it, or purge it anyway with --changed.
    """
    report = retention.sweep(
        app,
        app.caller,
        dry_run=dry_run,
        as_of=_as_of(as_of),
        force=force,
        purge_changed=changed,
    )
    if as_json:
        echo_json(report.as_dict())
    else:
        for line in render_sweep(report):
            click.echo(line)


@click.command("restore")
@click.argument("target")
@click.option("--dry-run", is_flag=True, help="Print what would be restored; move nothing.")
@pass_app
def restore_command(app: App, target: str, dry_run: bool) -> None:
    """Put a quarantined file (a path or an asset id) back where it was.

    Refuses to overwrite a file that now exists at that path. The asset is flagged again
    with a fresh grace period: clear or hold it, or a later sweep quarantines it again.
    """
    click.echo(render_restore(retention.restore(app, app.caller, target, dry_run=dry_run)))


def render_restore(restored: Restored) -> str:
    """One line: what was (or would be) restored, and a change made in quarantine."""
    changed = (
        "; its bytes changed in quarantine (the next scan records the change)"
        if restored.changed
        else ""
    )
    if restored.dry_run:
        return f"dry run: would restore {restored.path} (from {restored.source}){changed}"
    return f"restored {restored.path}{changed}"
