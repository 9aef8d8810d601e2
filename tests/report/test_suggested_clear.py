"""The report's `clear` commands pass as given: each names every reference the rules that
fired ask for (the refusal of `provenance clear` says what is missing from the same
function), per file and per folder, in every format that shows commands; an asset no
reference clears is offered no `clear`. Each command is run, its references filled in."""

from __future__ import annotations

import csv
import html
import io
import itertools
import json
import re
import shlex
from pathlib import Path

import pytest

from provenance.catalog import Catalog
from provenance.clearance.assess import Needed
from provenance.report.items import ClearNeeds
from tests.clearance.helpers import asset_at, run, write_config
from tests.media import write_a1111_png
from tests.schemas import validate

#: How many days the report looks ahead: the new files' deadlines (30 days) fall inside.
DAYS = "40"


@pytest.fixture
def production(tmp_path: Path, catalog: Catalog) -> tuple[Path, Path]:
    """A root whose AI files (all of an approved, registered tool) need, by their facts:
    the approval alone; consent for two performers and an escalation; an escalation; and,
    for a talent model reused from another project, what no reference gives (blocked)."""
    root = tmp_path / "show_a"
    colors = itertools.cycle(["red", "green", "blue", "yellow", "purple", "orange", "white"])
    for name in (
        "finals/poster.png",
        "finals/talent.png",
        "finals/alt/private.png",
        "shots/a.png",
        "shots/b.png",
        "shots/held.png",
        "reuse/model.png",
    ):
        write_a1111_png(root / name, color=next(colors))
    config = write_config(tmp_path, root, catalog)
    assert run(config, "scan", str(root)).exit_code == 0
    declared = [
        ("finals/talent.png", "--talent", "Ada Lane", "--talent", "Bo Kim"),
        ("finals/alt/private.png", "--personal-data"),
        ("shots/held.png", "--talent", "Cy Moss"),
        ("reuse/model.png", "--other-project-model"),
    ]
    for name, *facts in declared:
        result = run(config, "tag", str(root / name), *facts)
        assert result.exit_code == 0, result.output
    # held: not in the report's sections, but a `clear` of its folder judges it too
    held = run(config, "hold", str(root / "shots/held.png"), "--reason", "matter 7")
    assert held.exit_code == 0, held.output
    return root, config


def _report(config: Path, tmp_path: Path, fmt: str) -> str:
    out = tmp_path / f"report.{fmt}"
    result = run(config, "report", "--format", fmt, "--days", DAYS, "--out", str(out))
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def _json_commands(text: str) -> tuple[set[str], set[str]]:
    """Return (the files' commands, the groups' and alerts' commands) of a JSON report."""
    record = json.loads(text)
    validate(record, "report.schema.json")
    files, groups = set(), {alert["command"] for alert in record["alerts"] if alert["command"]}
    for section in record["sections"]:
        for group in section["groups"]:
            groups.add(group["command"])
            for item in group["items"]:
                files.update(item["commands"])
    return files, groups - {""}


def _shown(fmt: str, text: str) -> set[str]:
    """Return the commands a Markdown, HTML or CSV report shows."""
    if fmt == "md":
        return set(re.findall(r"`(provenance [^`]+)`", text))
    if fmt == "html":
        return {html.unescape(c) for c in re.findall(r"<code>(provenance [^<]+)</code>", text)}
    rows = csv.reader(io.StringIO(text))
    return {cell for row in rows for cell in row if cell.startswith("provenance ")}


def _clears(commands: set[str]) -> set[str]:
    return {command for command in commands if command.startswith("provenance clear ")}


def _filled(command: str) -> list[str]:
    """Return the command's arguments (no program name) with each REF a distinct reference."""
    numbers = itertools.count(1)
    words = shlex.split(command)
    assert words[:2] == ["provenance", "clear"], command
    return [f"REF-{next(numbers)}" if word == "REF" else word for word in words[1:]]


def _old(command: str) -> list[str]:
    """Return what the report suggested before: the path and an approval only."""
    path = shlex.split(command)[2]
    return ["clear", path, "--approval", "LEGAL-OLD"]


def test_every_format_suggests_the_references_the_rules_ask_for(
    production: tuple[Path, Path], tmp_path: Path
) -> None:
    root, config = production
    files, groups = _json_commands(_report(config, tmp_path, "json"))
    finals, shots = shlex.quote(str(root / "finals")), shlex.quote(str(root / "shots"))
    both = "--approval REF --consent REF --consent REF --escalation REF"
    assert f"provenance clear {shlex.quote(str(root / 'finals/talent.png'))} {both}" in files
    assert (
        f"provenance clear {shlex.quote(str(root / 'finals/poster.png'))} --approval REF" in files
    )
    private = shlex.quote(str(root / "finals/alt/private.png"))
    assert f"provenance clear {private} --approval REF --escalation REF" in files
    # a folder's `clear` takes every AI file under it: its subfolders' and its held ones
    assert f"provenance clear {finals} {both}" in groups
    assert f"provenance clear {shots} --approval REF --consent REF --escalation REF" in groups
    # the blocked file: no `clear` passes, a hold is what can be done
    reuse = str(root / "reuse")
    assert not [c for c in files | groups if c.startswith("provenance clear") and reuse in c]
    model = shlex.quote(str(root / "reuse/model.png"))
    assert f"provenance hold {model} --reason TEXT" in groups
    for fmt in ("md", "html", "csv"):
        shown = _clears(_shown(fmt, _report(config, tmp_path, fmt)))
        assert shown and shown <= _clears(files | groups), (fmt, shown - files - groups)
    assert _clears(_shown("md", _report(config, tmp_path, "md"))) >= {
        f"provenance clear {finals} {both}"
    }


@pytest.mark.parametrize("which", ["files", "folders"])
def test_each_suggested_clear_passes_where_the_approval_alone_is_refused(
    production: tuple[Path, Path], tmp_path: Path, catalog: Catalog, which: str
) -> None:
    root, config = production
    files, groups = _json_commands(_report(config, tmp_path, "json"))
    commands = sorted(_clears(files if which == "files" else groups))
    assert commands
    # first what the report used to suggest (a refusal changes nothing), then each as given
    needing_more = [c for c in commands if "--consent" in c or "--escalation" in c]
    assert len(needing_more) >= 2
    for command in needing_more:
        old = run(config, *_old(command))
        assert old.exit_code == 1 and "missing" in old.stderr, (command, old.output)
    for command in commands:
        result = run(config, *_filled(command))
        assert result.exit_code == 0, (command, result.output)
    for name in ("finals/poster.png", "finals/talent.png", "finals/alt/private.png"):
        assert asset_at(catalog, root / name).status == "cleared", name
    assert asset_at(catalog, root / "reuse/model.png").status == "temporary"


def test_a_folder_needs_what_every_file_under_it_needs() -> None:
    needs = ClearNeeds(
        least=Needed(escalation=True),
        targets=(
            ("/r/a/x.png", Needed(consent=2, escalation=True)),
            ("/r/a/y/z.png", Needed(consent=1, escalation=True)),
            ("/r/ab/w.png", Needed(escalation=True, clearable=False)),
        ),
    )
    assert needs.folder("/r/a") == Needed(consent=2, escalation=True)
    assert needs.folder("/r/a/y/") == Needed(consent=1, escalation=True)
    assert needs.folder("/r/ab") == Needed(escalation=True, clearable=False)
    assert needs.folder("/r") == Needed(consent=2, escalation=True, clearable=False)
    assert needs.folder("/r/c") == Needed(escalation=True)
    assert needs.asset(7) == Needed(escalation=True)


def test_an_unread_mark_is_named_once_and_its_suggested_clear_passes(
    tmp_path: Path, catalog: Catalog
) -> None:
    # a diffusion UI's parameters chunk that cannot be read (suspect), beside a registry:
    # its tool is unknown too, yet it is one line, counted once, and its `clear` passes
    from tests.fixtures_media import png_chunk, png_with_chunks

    root = tmp_path / "show_a"
    write_a1111_png(root / "shots/known.png")
    cut = root / "shots/cut.png"
    cut.write_bytes(png_with_chunks([png_chunk(b"tEXt", b"parameters\x00{'seed': 1}")]))
    config = write_config(tmp_path, root, catalog)
    assert run(config, "scan", str(root)).exit_code == 0
    assert asset_at(catalog, cut).ai_class == "suspect"
    record = json.loads(_report(config, tmp_path, "json"))
    validate(record, "report.schema.json")
    (attention,) = [s for s in record["sections"] if s["key"] == "attention"]
    items = [item for group in attention["groups"] for item in group["items"]]
    assert attention["total"] == 1 and [item["path"] for item in items] == [str(cut)]
    reason = items[0]["reason"]
    assert "unknown tool" in reason and "mark unreadable: " in reason, reason
    assert "unreadable JSON" in reason
    (clear,) = _clears(set(items[0]["commands"]))
    result = run(config, *_filled(clear))
    assert result.exit_code == 0, (clear, result.output)
    assert asset_at(catalog, cut).status == "cleared"
