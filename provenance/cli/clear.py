"""`provenance clear`, `revoke`, `uncleared` and `fixity`: clearance with evidence."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from provenance.clearance.clear import ClearRequest
from provenance.cli.app import App, echo_json, echo_json_array, pass_app
from provenance.service import assets, decisions, integrity


@click.command("clear")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--approval", "approval_ref", metavar="REF", help="The written approval (required).")
@click.option("--note", default="", help="A note kept with the clearance.")
@click.option(
    "--consent", "consent_refs", multiple=True, metavar="REF", help="A consent record (repeatable)."
)
@click.option("--escalation", "escalation_ref", metavar="REF", help="The escalation's answer.")
@click.option(
    "--label", is_flag=True, help="Embed the IPTC AI mark into JPEG/PNG files that have none."
)
@click.option("--dry-run", is_flag=True, help="Say what would be cleared and what is missing.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcomes as JSON.")
@pass_app
def clear_command(
    app: App,
    paths: tuple[Path, ...],
    approval_ref: str | None,
    note: str,
    consent_refs: tuple[str, ...],
    escalation_ref: str | None,
    label: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Clear AI files (or every AI file under folders) as final deliverables.

    Only approvers (the approver role: [roles.approver], or [clearance] approvers and
    approver_groups, in a config the service trusts) may clear. The clearance records
    the evidence, who and when, and binds to the file's content: a changed file loses it.
    Refused, with the rule ids, when the asset's facts call for evidence not given.
    """
    request = ClearRequest(approval_ref, note, consent_refs, escalation_ref, label)
    outcomes = decisions.clear(app, app.caller, [str(p) for p in paths], request, dry_run=dry_run)
    if as_json:
        echo_json(
            [
                {
                    "path": o.path,
                    "risk": o.risk,
                    "rules": list(o.rules),
                    "missing": [{"kind": m.kind, "rules": list(m.rule_ids)} for m in o.missing],
                    "problem": o.problem,
                    "labelled": o.labelled,
                    "held": o.held,
                    "already_cleared": o.already,
                    "clearance_id": o.clearance_id,
                    "warnings": o.warnings,
                    "dry_run": dry_run,
                }
                for o in outcomes
            ]
        )
        return
    for o in outcomes:
        rules = ", ".join(o.rules)
        if dry_run:
            if o.problem is not None:
                click.echo(f"dry run: would refuse {o.problem}")
            elif not (approval_ref or "").strip():
                click.echo(f"dry run: {o.path}: needs --approval REF (risk {o.risk}: {rules})")
            else:
                click.echo(f"dry run: would clear {o.path} (risk {o.risk}: {rules})")
        elif o.already:
            click.echo(f"{o.path}: already cleared")
        else:
            held = "; stays held (a hold wins)" if o.held else ""
            click.echo(f"cleared {o.path} (risk {o.risk}: {rules}; approval {approval_ref}){held}")
        for warning in o.warnings:
            click.echo(f"warning: {warning}", err=True)


@click.command("revoke")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--reason", required=True, help="Why the approval is withdrawn (kept in the audit).")
@click.option("--dry-run", is_flag=True, help="Print what would be revoked; change nothing.")
@pass_app
def revoke_command(app: App, paths: tuple[Path, ...], reason: str, dry_run: bool) -> None:
    """Withdraw the clearance of files (or of every cleared file under folders).

    Each goes back to temporary with a deadline from its retention policy.
    """
    for done in decisions.revoke(app, app.caller, [str(p) for p in paths], reason, dry_run=dry_run):
        if done.status is None:
            click.echo(f"dry run: would revoke {done.path} ({done.approval_ref})")
        else:
            click.echo(f"revoked {done.path} ({done.approval_ref}); now {done.status}")


@click.command("uncleared")
@click.option("--under", type=click.Path(path_type=Path), help="Only assets at or below FOLDER.")
@click.option(
    "--files",
    "per_file",
    is_flag=True,
    help="One line per file (risk, status, path, rules, what is needed), not per folder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the assets as JSON (one per file).")
@pass_app
def uncleared_command(app: App, under: Path | None, per_file: bool, as_json: bool) -> None:
    """List AI assets not cleared, by root and folder: how many, their risks and statuses,
    the evidence a clearance needs, and a total (--files: one line per file)."""
    folder = str(under) if under else None
    if not as_json and not per_file:
        lines = render_uncleared(assets.uncleared_folders(app, app.caller, folder))
        if not lines:
            click.echo("no uncleared AI assets", err=True)
        for line in lines:
            click.echo(line)
        return
    rows = assets.uncleared(app, app.caller, folder)
    if as_json:
        echo_json_array(asdict(row) for row in rows)
        return
    listed = 0
    for row in rows:
        needs = "; ".join(gap["text"] for gap in row.missing) or "-"
        click.echo(
            f"{row.risk:<8} {row.status:<11} {row.path}  [{','.join(row.rules)}] needs: {needs}"
        )
        listed += 1
    if listed:
        click.echo(f"total: {_count(listed, 'uncleared AI asset')}", err=True)
    else:
        click.echo("no uncleared AI assets", err=True)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {key}" for key, n in counts.items()) or "-"


def render_uncleared(roots: list[assets.UnclearedRoot]) -> list[str]:
    """Return the folder view of ``uncleared``: a line per root, one per folder under it
    (files, risks, statuses, evidence needed) and the total; [] when there are none."""
    if not roots:
        return []
    lines = []
    for root in roots:
        name = root.name or "(outside the configured roots)"
        owner = f" ({root.owner})" if root.owner else ""
        lines.append(
            f"{name}{owner} {root.path}".rstrip() + f": {_count(root.tally.files, 'file')} in "
            f"{_count(len(root.folders), 'folder')}; risk {_counts(root.tally.risks)}"
        )
        for folder in root.folders:
            tally = folder.tally
            lines.append(
                f"  {tally.files:>6}  {folder.path}  risk {_counts(tally.risks)}; "
                f"status {_counts(tally.statuses)}; needs {_counts(tally.needs)}"
            )
    total = sum(root.tally.files for root in roots)
    folders = sum(len(root.folders) for root in roots)
    lines.append(
        f"total: {_count(total, 'uncleared AI asset')} in {_count(folders, 'folder')}"
        f" under {_count(len(roots), 'root')} (--files lists them one by one)"
    )
    return lines


@click.command("fixity")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def fixity_command(app: App, as_json: bool) -> None:
    """Re-hash every cleared file; one whose bytes changed loses its clearance.

    Exit status 1 when any cleared file changed.
    """
    report = integrity.fixity(app, app.caller)
    if as_json:
        echo_json(report.as_dict())
    else:
        for failure in report.failed:
            click.echo(f"changed: {failure['path']} (clearance voided)")
        for skipped in report.unreadable:
            click.echo(f"not checked: {skipped['path']} ({skipped['reason']})")
        counts = report.counts()
        click.echo(
            f"fixity: {counts['checked']} cleared files checked, {counts['ok']} unchanged, "
            f"{counts['failed']} changed (clearance voided), {counts['not_checked']} not checked"
        )
    if report.failed:
        raise click.exceptions.Exit(1)
