"""The command line as a user runs it: exit codes, stdout, stderr, JSON against the schema."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provenance.cli import cli
from provenance.cli.inspect import describe_change
from tests.media import write_a1111_png, write_plain_png
from tests.schemas import validate

#: The schema of a provenance record (``list --json``, ``show --json``).
SCHEMA = "provenance-record.schema.json"


@pytest.fixture
def production(tmp_path: Path) -> Path:
    folder = tmp_path / "production"
    write_a1111_png(folder / "gen" / "castle.png")
    write_plain_png(folder / "plates" / "plate.png")
    return folder


def invoke(runner: CliRunner, *args: str) -> object:
    return runner.invoke(cli, list(args), catch_exceptions=False)


def test_scan_then_list_ai_json_validates(runner: CliRunner, production: Path) -> None:
    result = runner.invoke(cli, ["scan", str(production)])
    assert result.exit_code == 0, result.output
    assert "2 new" in result.stdout and "1 AI assets" in result.stdout
    listed = runner.invoke(cli, ["list", "--ai", "--json"])
    assert listed.exit_code == 0
    records = json.loads(listed.stdout)
    assert [Path(r["path"]).name for r in records] == ["castle.png"]
    for record in records:
        validate(record, SCHEMA)
    assert records[0]["generator"] and records[0]["status"] == "temporary"


def test_scan_json_summary(runner: CliRunner, production: Path) -> None:
    result = runner.invoke(cli, ["scan", "--json", str(production)])
    summary = json.loads(result.stdout)
    assert summary["indexed"] == 2 and summary["ai"] == 1 and summary["roots"][0]["online"] is True


def test_scan_dry_run_says_what_becomes_of_the_sidecars(
    runner: CliRunner, production: Path
) -> None:
    invoke(runner, "scan", str(production))
    castle = production / "gen" / "castle.png"
    castle.rename(castle.with_name("castle_final.png"))
    result = runner.invoke(cli, ["-v", "scan", "--dry-run", str(production)])
    assert result.exit_code == 0, result.output
    assert "dry run: " in result.stdout and "1 moved" in result.stdout
    assert "sidecars: 1 moved with their files, 0 removed with them, 0 left" in result.stdout
    assert "would move sidecar" in result.output
    assert castle.with_name("castle.png.xmp").is_file()
    assert not castle.with_name("castle_final.png.xmp").exists()


#: A time as the report prints it (``report.render_text.iso``): to the second, UTC.
SECOND = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
#: Any printed time, with or without a fraction of a second.
ANY_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}[.0-9]*(Z|[+-]\d{2}:\d{2})?")


def test_show_and_log_print_times_to_the_second_as_the_report_does(
    runner: CliRunner, production: Path
) -> None:
    runner.invoke(cli, ["scan", str(production)])
    castle = production / "gen" / "castle.png"
    assert runner.invoke(cli, ["hold", str(castle), "--reason", "matter 7"]).exit_code == 0
    assert runner.invoke(cli, ["release", str(castle)]).exit_code == 0
    shown = runner.invoke(cli, ["show", str(castle)]).stdout
    history = runner.invoke(cli, ["log", str(castle)]).stdout
    recent = runner.invoke(cli, ["log"]).stdout
    for text in (shown, history, recent):
        times = [m.group(0) for m in ANY_TIME.finditer(text)]
        assert times and all(SECOND.fullmatch(t) for t in times), times
    assert re.search(r"^first_seen: +\S+Z$", shown, re.M)
    assert all(SECOND.match(line) for line in history.splitlines())
    # a time an event records (a sweep's or a voided clearance's deadline) reads the same
    change = describe_change({}, {"deadline": "2027-01-04T07:09:39.291035+00:00"})
    assert change == "deadline 2027-01-04T07:09:39Z"


def test_show_prints_record_signals_and_history(runner: CliRunner, production: Path) -> None:
    runner.invoke(cli, ["scan", str(production)])
    castle = production / "gen" / "castle.png"
    shown = runner.invoke(cli, ["show", str(castle)])
    assert shown.exit_code == 0, shown.output
    assert "status:" in shown.stdout and "temporary" in shown.stdout
    assert "sd-text" in shown.stdout and "indexed" in shown.stdout
    record = json.loads(runner.invoke(cli, ["show", "--json", str(castle)]).stdout)
    validate(record, SCHEMA)
    assert record["signals"][0]["kind"] == "sd-text"
    by_uid = json.loads(runner.invoke(cli, ["show", "--json", record["uid"]]).stdout)
    assert by_uid["path"] == str(castle)


def test_show_unknown_file_is_one_error_line(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["show", str(tmp_path / "nothing.png")])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "named", "where"),
    [
        (["nosuch"], "nosuch", "provenance"),
        (["--nope"], "--nope", "provenance"),
        (["scan", "--nope"], "--nope", "provenance scan"),
        (["clear"], "PATHS", "provenance clear"),
        (["report", "--format", "markdown"], "markdown", "provenance report"),
        (["notify", "nosuch"], "nosuch", "provenance notify"),
    ],
)
def test_a_mistake_in_the_command_line_is_one_error_line(
    runner: CliRunner, args: list[str], named: str, where: str
) -> None:
    # click's own words for the mistake vary between its versions: only the shape is ours
    result = runner.invoke(cli, args, prog_name="provenance")
    assert result.exit_code == 2
    (line,) = result.output.splitlines()
    assert line.startswith("error: ") and named in line, line
    assert line.endswith(f" (see: {where} --help)"), line


def test_tag_declares_a_plain_file_ai(runner: CliRunner, production: Path) -> None:
    plate = production / "plates" / "plate.png"
    result = runner.invoke(cli, ["tag", str(plate), "--tool", "Midjourney", "--model", "v6"])
    assert result.exit_code == 0, result.output
    record = json.loads(runner.invoke(cli, ["show", "--json", str(plate)]).stdout)
    assert (record["ai_class"], record["generator"], record["model"]) == ("ai", "Midjourney", "v6")
    assert record["deadline"] is not None  # the retention policy applies to tagged files too
    assert any(s["kind"] == "manual" for s in record["signals"])
    assert (production / "plates" / "plate.png.xmp").is_file()
    rescanned = runner.invoke(cli, ["scan", "--json", str(production)])
    assert rescanned.exit_code == 0
    again = json.loads(runner.invoke(cli, ["show", "--json", str(plate)]).stdout)
    assert again["ai_class"] == "ai"


def test_tag_dry_run_changes_nothing(runner: CliRunner, production: Path) -> None:
    plate = production / "plates" / "plate.png"
    result = runner.invoke(cli, ["tag", "--dry-run", str(plate), "--tool", "Midjourney"])
    assert result.exit_code == 0
    assert "dry run" in result.stdout
    assert not (production / "plates" / "plate.png.xmp").exists()


@pytest.mark.parametrize(
    "items",
    [
        [],
        [{}],
        [{"path": "/p/a.png", "n": 1}],
        [{"a": [1, {"b": None}], "é": "line\nbreak"}, {"c": []}, {"d": {"e": [{}]}}],
    ],
)
def test_a_json_array_streamed_reads_as_one_printed_whole(
    items: list[object], capsys: pytest.CaptureFixture[str]
) -> None:
    # `list --json` prints a catalog of any size an asset at a time, byte for byte as before
    from provenance.cli.app import echo_json, echo_json_array

    echo_json(items)
    whole = capsys.readouterr().out
    echo_json_array(iter(items))
    assert capsys.readouterr().out == whole


def test_scan_missing_folder_is_an_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["scan", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert result.stderr == f"error: {tmp_path / 'nowhere'}: no such folder\n"


@pytest.mark.parametrize("big", ["walk", "folder"])
def test_no_room_for_the_walk_is_one_error_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, big: str
) -> None:
    # a big walk, or a big folder's names while they are sorted, go to a temporary file;
    # where that cannot be written, say where and why
    from provenance.files import walk

    if big == "walk":
        monkeypatch.setattr(walk.EntrySpill, "BLOCK", 2)
    else:
        monkeypatch.setattr(walk, "LISTING_RUN", 2)
    not_a_folder = tmp_path / "tmp"
    not_a_folder.write_bytes(b"")
    monkeypatch.setattr(tempfile, "tempdir", str(not_a_folder))
    for n in range(5):
        write_plain_png(tmp_path / "production" / f"plate_{n}.png", color=f"#0000{n:02x}")
    result = runner.invoke(cli, ["scan", str(tmp_path / "production")])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"error: cannot keep the walk in a temporary file in {not_a_folder} (Not a directory)"
    )
    assert len(result.stderr.splitlines()) == 1


def test_scan_with_no_roots_says_what_to_do(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["scan"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: nothing to scan")


def test_config_check_reports_every_problem(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[scan]\nworkers = -2\nfoo = 1\n")
    result = runner.invoke(cli, ["--config", str(config), "config", "check"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"error: {config}: scan.") for line in lines)


def test_config_check_ok(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "good.toml"
    config.write_text(f'[[roots]]\npath = "{tmp_path}"\n')
    result = runner.invoke(cli, ["config", "check", str(config)])
    assert result.exit_code == 0
    assert "ok (1 roots" in result.stdout


def test_scan_uses_configured_roots(runner: CliRunner, tmp_path: Path, production: Path) -> None:
    config = tmp_path / "roots.toml"
    config.write_text(f'[[roots]]\npath = "{production}"\n')
    result = runner.invoke(cli, ["--config", str(config), "scan"])
    assert result.exit_code == 0, result.output
    assert str(production) in result.stdout


def test_every_command_has_help_and_is_in_the_readme(runner: CliRunner) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    context = click.Context(cli)
    names = cli.list_commands(context)
    assert {"scan", "list", "show", "tag", "clear", "sweep", "report", "daemon"} <= set(names)
    for name in names:
        command = cli.get_command(context, name)
        assert command is not None and command.help, f"{name} has no help"
        assert f"provenance {name}" in readme, f"README does not mention `provenance {name}`"
        assert runner.invoke(cli, [name, "--help"]).exit_code == 0


def test_without_config_sweep_works_on_the_roots_that_were_scanned(
    runner: CliRunner, production: Path
) -> None:
    assert runner.invoke(cli, ["scan", str(production)]).exit_code == 0
    result = runner.invoke(cli, ["sweep", "--dry-run", "--as-of", "2099-01-01"])
    assert result.exit_code == 0, result.output
    assert "would flag" in result.stdout and "castle.png" in result.stdout


def test_output_into_a_closed_pipe_is_not_an_error(production: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROVENANCE_STATE_DIR": str(tmp_path / "pipe-state")}
    subprocess.run(
        [sys.executable, "-m", "provenance", "scan", str(production)],
        env=env,
        check=True,
        capture_output=True,
    )
    for reader in ("head -c 1 >/dev/null", "true"):  # `true` is gone before the first write
        shell = f"{sys.executable} -m provenance log | {reader}; exit ${{PIPESTATUS[0]}}"
        done = subprocess.run(["bash", "-c", shell], env=env, capture_output=True, text=True)
        assert "Traceback" not in done.stderr and "error" not in done.stderr
        assert done.returncode == 0, (reader, done.stderr)


def test_a_broken_pipe_that_is_not_the_output_is_an_error() -> None:
    # a mail server hanging up, say: one error line, not a silent success
    def hang_up() -> None:
        raise BrokenPipeError(32, "Broken pipe")

    cli.add_command(click.Command("hang-up", callback=hang_up))
    try:
        result = CliRunner().invoke(cli, ["hang-up"])
    finally:
        cli.commands.pop("hang-up")
    assert result.exit_code == 1
    assert "error: internal error: BrokenPipeError" in result.output


def test_console_script_exits_with_the_commands_status_and_all_its_output(
    production: Path, tmp_path: Path
) -> None:
    # the console script as a user runs it: its exit status and every byte it wrote
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROVENANCE_STATE_DIR": str(tmp_path / "exit-state")}

    def provenance(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "provenance", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True)

    scanned = provenance("scan", "--json", str(production))
    assert scanned.returncode == 0, scanned.stderr
    assert json.loads(scanned.stdout)["indexed"] > 0
    listed = provenance("list", "--json")
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) > 0
    missing = provenance("scan", str(tmp_path / "nowhere"))
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr
    assert provenance("--no-such-option").returncode == 2
