"""`provenance report` as a user runs it: formats, files, dates, roots, errors, --send."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from provenance.catalog import Catalog
from provenance.cli import cli
from tests.report.sample import items_of, populate
from tests.schemas import validate


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config with the sample's two roots and a populated catalog in the state directory."""
    state = tmp_path / "state"
    catalog = Catalog.open(f"sqlite:///{state / 'catalog.sqlite'}")
    populate(catalog)
    catalog.close()
    path = tmp_path / "provenance.toml"
    path.write_text(
        f'state_dir = "{state}"\n'
        '[[roots]]\npath = "/prod/show_a"\nname = "show_a"\nowner = "Dana Post"\n'
        '[[roots]]\npath = "/prod/show_b"\nname = "Show B"\n'
    )
    return path


def run(runner: CliRunner, config: Path, *args: str) -> object:
    return runner.invoke(cli, ["--config", str(config), "report", *args])


def test_report_prints_markdown_by_default(runner: CliRunner, config: Path) -> None:
    result = runner.invoke(cli, ["--config", str(config), "report", "--as-of", "2026-11-30"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# AI asset expiry report — all roots")
    assert "## Expiring in the coming period (3)" in result.stdout
    assert result.stderr == ""


def test_report_json_validates_and_honours_days(runner: CliRunner, config: Path) -> None:
    result = runner.invoke(
        cli,
        [
            "--config",
            str(config),
            "report",
            "--format",
            "json",
            "--as-of",
            "2026-11-30",
            "--days",
            "30",
        ],
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    validate(record, "report.schema.json")
    assert record["period"] == {
        "as_of": "2026-11-30T00:00:00Z",
        "days": 30,
        "past_start": "2026-10-31T00:00:00Z",
        "coming_end": "2026-12-30T00:00:00Z",
    }
    expiring = next(s for s in record["sections"] if s["key"] == "expiring")
    # 30 days reach the unknown-tool, unread-mark and voided assets; the far one is due at
    # 07:00 on day 30
    assert len(items_of(expiring)) == 6


def test_report_out_file_format_from_suffix(
    runner: CliRunner, config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "week.csv"
    result = runner.invoke(
        cli,
        ["--config", str(config), "report", "--out", str(out), "--as-of", "2026-11-30", "--bom"],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"wrote {out}" in result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("\ufeffsection,root,owner,production,folder,path")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0]["section"] == "alert"  # what needs a decision now comes first
    assert next(row for row in rows if row["section"] != "alert")["section"] == "expiring"


def test_report_html_to_file(runner: CliRunner, config: Path, tmp_path: Path) -> None:
    out = tmp_path / "week.html"
    result = runner.invoke(cli, ["--config", str(config), "report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_report_for_one_root(runner: CliRunner, config: Path) -> None:
    result = runner.invoke(
        cli,
        [
            "--config",
            str(config),
            "report",
            "--root",
            "Show B",
            "--as-of",
            "2026-11-30",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["scope"] == "Show B"
    paths = [i["path"] for s in record["sections"] for i in items_of(s)]
    assert paths and all(p.startswith("/prod/show_b/") for p in paths)


def test_unknown_root_is_a_user_error(runner: CliRunner, config: Path) -> None:
    result = runner.invoke(cli, ["--config", str(config), "report", "--root", "nope"])
    assert result.exit_code == 1
    assert result.stderr == "error: --root nope: no such root (roots: show_a, Show B)\n"


def test_bad_date_is_a_usage_error(runner: CliRunner, config: Path) -> None:
    result = runner.invoke(cli, ["--config", str(config), "report", "--as-of", "30/11/2026"])
    assert result.exit_code == 2
    assert "--as-of" in result.stderr


def test_send_writes_the_configured_formats(
    runner: CliRunner, config: Path, tmp_path: Path
) -> None:
    result = runner.invoke(cli, ["--config", str(config), "report", "--send"])
    assert result.exit_code == 0, result.output
    written = sorted(p.suffix for p in (tmp_path / "state" / "reports").iterdir())
    assert written == [".html", ".json"]
    assert result.stdout.count("wrote ") == 2


def test_send_refuses_single_report_options(runner: CliRunner, config: Path) -> None:
    result = runner.invoke(cli, ["--config", str(config), "report", "--send", "--format", "csv"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --send writes the configured formats")
