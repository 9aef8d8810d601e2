"""`provenance tag`: declare files AI output of a tool that left no mark, and their facts."""

from __future__ import annotations

from pathlib import Path

import click

from provenance.clearance.assess import Facts
from provenance.clearance.rules import INTENDED_USES
from provenance.cli.app import App, pass_app, resolve_path
from provenance.ingest.manual import ManualTag
from provenance.service import decisions


@click.command("tag")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--tool", help="The generator that made the files, e.g. 'Midjourney v6'.")
@click.option("--model", help="Model name or version.")
@click.option("--prompt", help="The prompt, if known (kept as [clearance] prompt_storage says).")
@click.option(
    "--use", "intended_use", type=click.Choice(INTENDED_USES), help="What the files are for."
)
@click.option(
    "--talent",
    multiple=True,
    metavar="NAME",
    help="A performer whose likeness, replica or voice the files carry (repeatable).",
)
@click.option("--personal-data", is_flag=True, help="Personal data went into the inputs or prompt.")
@click.option("--copyrighted-ref", is_flag=True, help="The inputs reference a copyrighted work.")
@click.option("--real-person", is_flag=True, help="The files depict a real person.")
@click.option("--public-figure", is_flag=True, help="The inputs reference a public figure.")
@click.option("--deceased", is_flag=True, help="The inputs reference a deceased person.")
@click.option(
    "--other-project-model",
    is_flag=True,
    help="Made with a talent-derived model from another production, without everyone's consent.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be tagged, change nothing.")
@pass_app
def tag_command(
    app: App,
    paths: tuple[Path, ...],
    tool: str | None,
    model: str | None,
    prompt: str | None,
    intended_use: str | None,
    talent: tuple[str, ...],
    personal_data: bool,
    copyrighted_ref: bool,
    real_person: bool,
    public_figure: bool,
    deceased: bool,
    other_project_model: bool,
    dry_run: bool,
) -> None:
    """Declare files AI output of TOOL, and the facts the clearance rules read.

    --tool may be left out when only facts are declared about files already known as AI.
    Facts add to what was declared before; they are never removed by a later tag.
    """
    targets = [resolve_path(p) for p in paths]
    facts = Facts(
        intended_use=intended_use,
        talent=tuple(name.strip() for name in talent if name.strip()),
        personal_data=personal_data,
        copyrighted_ref=copyrighted_ref,
        real_person=real_person,
        public_figure=public_figure,
        deceased_person=deceased,
        other_project_model=other_project_model,
    )
    what = f"AI output of {tool}" if tool else "facts"
    declared = facts.as_mapping()
    if declared:
        what += " with " + ", ".join(f"{k}={v}" for k, v in declared.items())
    assets = decisions.tag(
        app,
        app.caller,
        targets,
        ManualTag(tool=tool, model=model, prompt=prompt, facts=facts),
        dry_run=dry_run,
    )
    if dry_run:
        for target in targets:
            click.echo(f"dry run: would tag {target}: {what}")
        return
    for asset in assets:
        click.echo(
            f"tagged {asset.path}: {asset.ai_class}, {asset.generator}, {asset.status}, "
            f"risk {asset.risk or '-'}"
        )
