"""Settings: defaults with no file, every problem reported as file: key, the example in sync."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from provenance.config import RootSettings, Settings, load_settings, parse_duration
from provenance.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


def setting_names(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every dotted setting name of a settings model, nested sections included."""
    names: set[str] = set()
    for attribute, field in model.model_fields.items():
        name = field.alias or attribute  # the TOML name ("from" is a Python keyword)
        if field.exclude:
            continue
        annotation: Any = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))
        nested = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
        if nested:
            names |= setting_names(nested[0], f"{prefix}{name}.")
        else:
            names.add(prefix + name)
    return names


def documented_names(text: str) -> set[str]:
    names, section = set(), ""
    for line in text.splitlines():
        header = re.match(r"^#?\s*\[\[?([\w.]+)\]\]?\s*$", line)
        if header:
            section = header.group(1) + "."
            names.add(header.group(1))
            continue
        key = re.match(r"^#?\s*(\w+)\s*=", line)
        if key:
            names.add(section + key.group(1))
        for inline in re.findall(r"[{,]\s*(\w+)\s*=", line):
            names.add(
                section + "path_rules." + inline if section == "detect." else section + inline
            )
    return names


def test_example_config_loads_and_equals_the_defaults() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.model_dump(exclude={"source"}) == Settings().model_dump(exclude={"source"})


def test_example_config_documents_every_setting() -> None:
    missing = setting_names(Settings) - documented_names(EXAMPLE.read_text())
    assert not missing, f"config.example.toml does not document: {sorted(missing)}"


def test_no_file_means_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = load_settings(None)
    assert settings.roots == []
    assert settings.catalog_url == f"sqlite:///{tmp_path / 'state' / 'catalog.sqlite'}"


def test_every_problem_is_reported_with_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[scan]\nworkers = -1\ndeep = "maybe"\ncolour = 1\n[[roots]]\npath = "relative"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    lines = str(info.value).splitlines()
    assert f"{path}: scan.workers: Input should be greater than or equal to 0 (got -1)" in lines
    assert any(line.startswith(f"{path}: scan.deep:") for line in lines)
    assert f"{path}: scan.colour: unknown setting" in lines


def test_idle_readers_end_after_a_duration_or_never(tmp_path: Path) -> None:
    path = tmp_path / "idle.toml"
    path.write_text('[daemon]\nidle_workers_after = "2m"\n')
    assert load_settings(path).daemon.idle_workers_seconds == 120
    path.write_text('[daemon]\nidle_workers_after = ""\n')
    assert load_settings(path).daemon.idle_workers_seconds is None
    path.write_text('[daemon]\nidle_workers_after = "soon"\n')
    with pytest.raises(ConfigError, match=r"daemon\.idle_workers_after: .*not a duration"):
        load_settings(path)


def test_relative_root_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rel.toml"
    path.write_text('[[roots]]\npath = "footage"\n')
    with pytest.raises(ConfigError, match=r"roots\.0\.path: must be an absolute path"):
        load_settings(path)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[scan\n")
    with pytest.raises(ConfigError, match=r"broken\.toml: invalid TOML"):
        load_settings(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such config file"):
        load_settings(tmp_path / "nope.toml")


def test_config_env_variable_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.toml"
    path.write_text(f'[[roots]]\npath = "{tmp_path}"\nname = "show"\n')
    monkeypatch.setenv("PROVENANCE_CONFIG", str(path))
    assert load_settings().roots[0].label == "show"


@pytest.mark.parametrize(("text", "days"), [("30d", 30), ("2w", 14), ("48h", 2), (" 7 d ", 7)])
def test_parse_duration(text: str, days: int) -> None:
    assert parse_duration(text).total_seconds() == days * 86400


@pytest.mark.parametrize("text", ["", "30", "d", "-3d", "3y", "1.5d"])
def test_parse_duration_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_report_settings_defaults_and_smtp_from(tmp_path: Path) -> None:
    path = tmp_path / "report.toml"
    path.write_text(
        f'state_dir = "{tmp_path}"\n[report.smtp]\nfrom = "p@studio.example"\n'
        'root_recipients = { show_a = ["a@studio.example"] }\n'
    )
    settings = load_settings(path)
    assert settings.report.schedule == "0 7 * * mon"
    assert settings.report.formats == ["html", "json"]
    assert settings.report_dir == tmp_path / "reports"
    assert settings.report.smtp.from_address == "p@studio.example"
    assert settings.report.smtp.root_recipients == {"show_a": ["a@studio.example"]}


def test_report_schedule_and_formats_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "bad-report.toml"
    path.write_text('[report]\nschedule = "every monday"\nformats = ["pdf"]\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert f"{path}: report.schedule: not a cron expression" in message
    assert f"{path}: report.formats.0:" in message


def test_command_line_roots_win_and_none_given_keeps_the_configured_ones(tmp_path: Path) -> None:
    configured = RootSettings(path=tmp_path / "show_a", marker=".mounted")
    settings = Settings(state_dir=tmp_path / "state", roots=[configured])
    assert settings.with_roots([]) is settings
    chosen = settings.with_roots([tmp_path / "show_a", tmp_path / "show_b"])
    assert [r.path for r in chosen.roots] == [tmp_path / "show_a", tmp_path / "show_b"]
    assert chosen.roots[0].marker == ".mounted"  # a configured root keeps its settings


def test_config_search_path_finds_the_system_file_then_the_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance.config import locations

    system = locations.SYSTEM_CONFIG
    user = tmp_path / "user-config" / "provenance" / "provenance.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[scan]\nworkers = 3\n")
    assert load_settings(None).source == str(user)
    assert load_settings(None).scan.workers == 3
    system.parent.mkdir(parents=True)
    system.write_text("[scan]\nworkers = 2\n")
    assert load_settings(None).source == str(system)
    assert load_settings(None).scan.workers == 2
    # a file named by the environment or --config wins over the search path
    named = tmp_path / "named.toml"
    named.write_text("[scan]\nworkers = 1\n")
    monkeypatch.setenv("PROVENANCE_CONFIG", str(named))
    assert load_settings(None).scan.workers == 1


def test_a_home_that_cannot_be_entered_holds_no_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", "/nonexistent")
    assert load_settings(None).source == "(defaults)"


def test_commands_read_the_system_config_without_config_option(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from provenance.cli import cli
    from provenance.config import locations

    locations.SYSTEM_CONFIG.parent.mkdir(parents=True)
    locations.SYSTEM_CONFIG.write_text(f'[[roots]]\npath = "{tmp_path}"\n')
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert f'"path": "{tmp_path}"' in result.output


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("state_dir", lambda s: s.state_dir),
        ("daemon.metrics_dir", lambda s: s.daemon.metrics_dir),
        ("report.out_dir", lambda s: s.report.out_dir),
        ("report.smtp.password_file", lambda s: s.report.smtp.password_file),
        ("clearance.rules_file", lambda s: s.clearance.rules_file),
    ],
)
def test_an_empty_path_means_the_default_not_the_current_folder(
    tmp_path: Path, key: str, value: Any
) -> None:
    # config.example.toml shows these as `key = ""`: uncommented, they keep the default
    *section, name = key.split(".")
    header = f"[{'.'.join(section)}]\n" if section else ""
    config = tmp_path / "provenance.toml"
    config.write_text(f'{header}{name} = ""\n')
    assert value(load_settings(config)) is None
