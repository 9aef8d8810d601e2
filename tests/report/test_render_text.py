"""JSON, CSV and Markdown: the schema, spreadsheet safety (golden files: test_formats)."""

from __future__ import annotations

import csv
import io
import json

import jsonschema
import pytest

from provenance.report.data import Report
from provenance.report.render_text import (
    guard_cell,
    md_code,
    render_csv,
    render_json,
    render_markdown,
)
from tests.report.conftest import assert_golden
from tests.report.sample import SECRET_PROMPT
from tests.schemas import validate


def test_json_matches_golden_and_validates_against_the_schema(sample_report: Report) -> None:
    text = render_json(sample_report)
    assert_golden("report.json", text)
    record = json.loads(text)
    validate(record, "report.schema.json", formats=True)


def test_schema_refuses_a_report_with_an_unknown_section(sqlite_report: Report) -> None:
    record = json.loads(render_json(sqlite_report))
    record["sections"][0]["key"] = "gossip"
    with pytest.raises(jsonschema.ValidationError):
        validate(record, "report.schema.json")


@pytest.mark.parametrize("fmt", ["json", "csv", "md"])
def test_no_format_prints_a_prompt(sqlite_report: Report, fmt: str) -> None:
    render = {"json": render_json, "csv": render_csv, "md": render_markdown}[fmt]
    assert SECRET_PROMPT not in render(sqlite_report)
    assert "SECRET" not in render(sqlite_report)


def test_csv_has_one_row_per_asset_with_its_section_and_iso_dates(sqlite_report: Report) -> None:
    everything = list(csv.DictReader(io.StringIO(render_csv(sqlite_report))))
    alerts = [row for row in everything if row["section"] == "alert"]
    assert len(alerts) == len(sqlite_report.alerts) and everything[: len(alerts)] == alerts
    rows = everything[len(alerts) :]
    assert len(rows) == sum(len(s.items) for s in sqlite_report.sections)
    assert {row["section"] for row in rows} == {s.key for s in sqlite_report.sections if s.items}
    castle = next(row for row in rows if row["path"].endswith("castle 01.png"))
    assert castle["date"] == "2026-12-02" and castle["days_left"] == "2"
    assert castle["production"] == "concepts" and castle["folder"] == "concepts"
    # no tools registry: every tool is unknown, and NFX-CONF3 asks for an escalation
    command = (
        "provenance clear '/prod/show_a/concepts/castle 01.png' --approval REF --escalation REF"
    )
    assert castle["command_1"] == command and castle["group_command"] == command


def test_csv_guards_cells_a_spreadsheet_would_run(sqlite_report: Report) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(sqlite_report))))
    formula = next(row for row in rows if row["path"].startswith("/prod/show_b/=HYPERLINK"))
    assert formula["generator"] == "'=cmd|' /C calc'!A0"
    assert formula["rule"] == "'-rule"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@")), value
    overdue = next(row for row in rows if row["path"] == "/prod/show_a/old.png")
    assert overdue["days_left"] == "-3"  # our own numbers stay numbers


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_guard_cell_prefixes_formula_starts(value: str) -> None:
    assert guard_cell(value) == "'" + value


def test_csv_bom_is_optional_and_rows_end_with_crlf(sqlite_report: Report) -> None:
    plain, with_bom = render_csv(sqlite_report), render_csv(sqlite_report, bom=True)
    assert not plain.startswith("\ufeff")
    assert with_bom == "\ufeff" + plain
    assert plain.split("\r\n")[0].startswith("section,root,owner,production,folder,path")


def test_markdown_keeps_hostile_names_literal(sqlite_report: Report) -> None:
    text = render_markdown(sqlite_report)
    assert "`concepts/<script>alert(1)<`: 1 file" in text and "`script>.png`" in text
    assert "`provenance clear '/prod/show_a/concepts/<script>alert(1)</script>.png' --appr" in text
    assert "<b>Evil" not in text
    for line in text.splitlines():
        if line.startswith("| "):
            assert line.count(" | ") + 2 == line.count("|") - line.count("\\|"), line


def test_md_code_survives_backticks_pipes_and_newlines() -> None:
    assert md_code("a`b") == "`` a`b ``"
    assert md_code("a|b") == "`a\\|b`"
    assert md_code("a\nb") == "`a\\x0ab`"
