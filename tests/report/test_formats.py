"""Report formats are one table: every format in it renders as its golden file, names and finds
its files, and the command's choices and the config check offer exactly its names."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import click
import pytest

from provenance.catalog import Catalog
from provenance.cli.report import report_command
from provenance.config import Settings, load_settings
from provenance.errors import ConfigError, ReportError
from provenance.report.build import build_report
from provenance.report.data import Period, Report
from provenance.report.deliver import prune_reports, render, report_file_name
from provenance.report.formats import FORMATS, format_of_file, report_format
from tests.report.conftest import assert_golden
from tests.report.sample import AS_OF, GENERATED_AT, populate


def test_every_format_renders_and_names_its_dated_file(
    sqlite_report: Report, tmp_path: Path
) -> None:
    for entry in FORMATS.values():
        text = render(sqlite_report, entry.name)
        assert text and text == entry.render(sqlite_report)
        name = report_file_name(entry.name, AS_OF)
        assert name == f"provenance-report-2026-11-30{entry.extension}"
        assert format_of_file(Path(name).suffix.upper()) is entry
        assert entry.media_type.count("/") == 1
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert json.loads(render(sqlite_report, "json"))
    assert render(sqlite_report, "csv", bom=True).startswith("\ufeff")
    assert format_of_file(".htm") is FORMATS["html"]
    assert format_of_file(".txt") is None
    # the clean-up knows every format's files by the same table
    deleted = prune_reports(tmp_path, timedelta(days=7), AS_OF + timedelta(days=30))
    assert sorted(path.name for path in deleted) == sorted(
        report_file_name(name, AS_OF) for name in FORMATS
    )


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_matches_its_golden_file(sample_report: Report, name: str) -> None:
    # a new format's golden file is written once with PROVENANCE_UPDATE_GOLDEN=1, and reviewed
    entry = FORMATS[name]
    assert_golden(f"report{entry.extension}", entry.render(sample_report))


def test_an_unknown_format_is_a_report_error() -> None:
    with pytest.raises(ReportError, match=f"use one of {', '.join(FORMATS)}"):
        report_format("pdf")


def test_the_command_offers_the_table_names() -> None:
    option = next(param for param in report_command.params if param.name == "fmt")
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == list(FORMATS)


def test_the_config_accepts_the_table_names_only(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    names = ", ".join(f'"{name}"' for name in FORMATS)
    path.write_text(f"[report]\nformats = [{names}]\n", encoding="utf-8")
    assert load_settings(path).report.formats == list(FORMATS)
    path.write_text('[report]\nformats = ["md", "pdf"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "report.formats.1:" in str(info.value)
    assert ", ".join(FORMATS) in str(info.value)


def test_every_format_prints_its_times_in_whole_seconds(
    sqlite_catalog: Catalog, report_settings: Settings
) -> None:
    populate(sqlite_catalog)
    precise = GENERATED_AT.replace(microsecond=123456)
    report = build_report(
        sqlite_catalog,
        report_settings,
        Period(AS_OF.replace(microsecond=654321), 7),
        precise,
    )
    assert report.generated_at == GENERATED_AT and report.period.as_of == AS_OF
    stamp = GENERATED_AT.isoformat().replace("+00:00", "Z")
    for fmt in FORMATS:
        text = render(report, fmt)
        assert "123456" not in text and "654321" not in text, fmt
        assert not re.search(r"\d\d:\d\d:\d\d\.\d", text), fmt
        if fmt != "csv":
            assert stamp in text, fmt
    assert json.loads(render(report, "json"))["generated_at"] == stamp
    # as the command makes it: now, with its microseconds
    assert f"Generated {stamp}." in render(report, "html")
    assert f"Generated {stamp}." in render(report, "md")
