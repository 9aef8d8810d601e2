"""`provenance report`: the weekly expiry report, once, in any format."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from provenance.cli.app import App, UserError, pass_app
from provenance.errors import ProvenanceError
from provenance.report.deliver import write_text_atomically
from provenance.report.formats import FORMATS, format_of_file
from provenance.service import report as service_report


def _as_of(value: datetime | None) -> datetime | None:
    if value is None:
        return None
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
    when = _as_of(as_of)
    if send:
        if fmt or out or root_name or bom:
            raise UserError(
                "--send writes the configured formats; drop --format/--out/--root/--bom"
            )
        delivery = service_report.send_report(app, app.caller, as_of=when, days=days)
        for path in delivery.files:
            click.echo(f"wrote {path}")
        if delivery.recipients:
            click.echo(f"e-mailed {', '.join(delivery.recipients)}")
        return
    by_suffix = format_of_file(out.suffix) if out else None
    fmt = fmt or (by_suffix.name if by_suffix else "md")
    text = service_report.report(
        app, app.caller, fmt, as_of=when, days=days, root_name=root_name, bom=bom
    )
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        write_text_atomically(out, text)
    except (OSError, ProvenanceError) as exc:
        raise UserError(f"cannot write the report: {exc}") from exc
    click.echo(f"wrote {out}", err=True)
