"""`provenance config check`: every problem at once, as file: key: problem."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from provenance.cli import cli
from provenance.config import locations


def _check(runner: CliRunner, *args: str) -> tuple[int, list[str]]:
    result = runner.invoke(cli, ["config", "check", *args])
    return result.exit_code, result.stderr.splitlines()


def test_config_check_finds_every_problem_at_once(runner: CliRunner, tmp_path: Path) -> None:
    present = tmp_path / "show_a"
    present.mkdir()
    (tmp_path / "a-file").write_text("x")
    config = tmp_path / "provenance.toml"
    config.write_text(
        '[catalog]\nurl = "postgresql+pg8000://editor:secret@db/provenance"\n'
        "[scan]\nworker = 2\n"
        f'[[roots]]\npath = "{present}"\nmarkr = ".online"\n'
        f'[[roots]]\npath = "{tmp_path / "gone"}"\n'
        f'[[roots]]\npath = "{tmp_path / "a-file"}"\n'
    )
    code, lines = _check(runner, str(config))
    assert code == 1
    assert lines == [
        f'error: {config}: roots.0.markr: unknown setting (did you mean "marker"?)',
        f'error: {config}: scan.worker: unknown setting (did you mean "workers"?)',
        f"error: {config}: roots.1.path: no such folder (got '{tmp_path / 'gone'}')",
        f"error: {config}: roots.2.path: not a folder (got '{tmp_path / 'a-file'}')",
        f"error: {config}: catalog.url: its driver pg8000 is not installed: No module named "
        "'pg8000' (got 'postgresql+pg8000://editor:***@db/provenance')",
    ]


def test_config_check_names_a_missing_psycopg(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "provenance.toml"
    config.write_text('[catalog]\nurl = "postgresql+psycopg://postgres@127.0.0.1/test"\n')
    assert _check(runner, str(config))[0] == 0
    # as on a machine without the postgres extra: importing psycopg fails
    monkeypatch.setitem(sys.modules, "psycopg", None)
    code, lines = _check(runner, str(config))
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith(f"error: {config}: catalog.url: its driver psycopg is not installed")
    assert "pip install 'psycopg[binary]'" in lines[0]


def test_config_check_unknown_database(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "provenance.toml"
    config.write_text('[catalog]\nurl = "postgress://db/provenance"\n')
    code, lines = _check(runner, str(config))
    assert code == 1
    assert lines == [
        f"error: {config}: catalog.url: unknown database or driver 'postgress' "
        "(got 'postgress://db/provenance')"
    ]


def test_config_check_unknown_section_has_a_suggestion(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "provenance.toml"
    config.write_text("[reprot]\ndays = 3\n[report.smtp]\nhots = 'x'\n")
    _code, lines = _check(runner, str(config))
    assert f'error: {config}: reprot: unknown setting (did you mean "report"?)' in lines
    assert f'error: {config}: report.smtp.hots: unknown setting (did you mean "host"?)' in lines


def test_config_check_reads_the_search_path(runner: CliRunner, tmp_path: Path) -> None:
    code, _lines = _check(runner)
    assert code == 0
    locations.SYSTEM_CONFIG.parent.mkdir(parents=True)
    locations.SYSTEM_CONFIG.write_text(f'[[roots]]\npath = "{tmp_path / "gone"}"\n')
    code, lines = _check(runner)
    assert code == 1
    assert lines == [
        f"error: {locations.SYSTEM_CONFIG}: roots.0.path: no such folder "
        f"(got '{tmp_path / 'gone'}')"
    ]
