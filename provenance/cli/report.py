"""`provenance report`: the weekly expiry report, once, in any format."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from provenance.catalog import utcnow
from provenance.cli.app import App, UserError, pass_app
from provenance.errors import ProvenanceError
from provenance.report.build import build_report
from provenance.report.data import Period
from provenance.report.deliver import deliver_weekly, render, write_text_atomically
from provenance.report.formats import FORMATS, format_of_file


def _as_of(value: datetime | None) -> datetime:
    if value is None:
        return utcnow()
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@click.command("report")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    help="Output format (default: from --out's suffix, else md).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file instead of stdout.",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Report as of this date, 00:00 UTC (default: now).",
)
@click.option(
    "--days", type=click.IntRange(1, 366), help="Days before and after (default: report.days, 7)."
)
@click.option("--root", "root_name", help="Only this root (its name in the config).")
@click.option("--bom", is_flag=True, help="CSV: start with a UTF-8 byte order mark (for Excel).")
@click.option(
    "--send",
    is_flag=True,
    help="Do what the weekly job does: write report.formats to report.out_dir and e-mail.",
)
@pass_app
def report_command(
    app: App,
    fmt: str | None,
    out: Path | None,
    as_of: datetime | None,
    days: int | None,
    root_name: str | None,
    bom: bool,
    send: bool,
) -> None:
    """Print the expiry report: what expires soon, what was flagged, quarantined, purged, cleared.

    Paths in the suggested commands are shell-quoted; prompts are never included.
    """
    app.authorize("report")
    settings = app.settings
    when = _as_of(as_of)
    if send:
        if fmt or out or root_name or bom:
            raise UserError(
                "--send writes the configured formats; drop --format/--out/--root/--bom"
            )
        if days is not None:
            settings = settings.model_copy(
                update={"report": settings.report.model_copy(update={"days": days})}
            )
        delivery = deliver_weekly(settings, app.catalog, when)
        for path in delivery.files:
            click.echo(f"wrote {path}")
        if delivery.recipients:
            click.echo(f"e-mailed {', '.join(delivery.recipients)}")
        return
    root = None
    if root_name is not None:
        root = next((r for r in settings.roots if r.label == root_name), None)
        if root is None:
            names = ", ".join(r.label for r in settings.roots) or "none configured"
            raise UserError(f"--root {root_name}: no such root (roots: {names})")
    by_suffix = format_of_file(out.suffix) if out else None
    fmt = fmt or (by_suffix.name if by_suffix else "md")
    period = Period(as_of=when, days=days or settings.report.days)
    report = build_report(app.catalog, settings, period, utcnow(), root=root)
    text = render(report, fmt, bom=bom)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        write_text_atomically(out, text)
    except (OSError, ProvenanceError) as exc:
        raise UserError(f"cannot write the report: {exc}") from exc
    click.echo(f"wrote {out}", err=True)
