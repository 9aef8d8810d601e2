"""Rule sets: the built-in file, a user's file, and every problem reported with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.catalog import Catalog
from provenance.clearance.rules import default_rules, load_rules, parse_rules
from provenance.errors import ConfigError
from tests.clearance.helpers import asset_at, run, write_config

GOOD = """\
version = 1

[[rules]]
id = "NFX-INTRO"
when = {}
requires = ["approval"]
risk = "low"

[[rules]]
id = "STUDIO-1"
title = "anything from a1111 needs our legal team"
when = { tool = ["approved"] }
requires = ["approval", "escalation"]
risk = "high"
"""


def test_the_built_in_rules_carry_the_published_ids() -> None:
    rules = default_rules()
    assert rules.ids() == (
        "NFX-INTRO",
        "NFX-FINAL1",
        "NFX-FINAL2",
        "NFX-TP1",
        "NFX-DU1",
        "NFX-CO2",
        "NFX-ER1",
        "NFX-CONF3",
        "NFX-P2",
        "NFX-P3",
        "NFX-TE-MODEL",
    )
    assert {rule.risk for rule in rules.rules} == {"low", "review", "high", "blocked"}
    assert load_rules(None) is rules


def test_a_user_rules_file_replaces_the_built_in_one(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(GOOD)
    config = write_config(tmp_path, root, catalog, rules_file=str(rules_file))
    assert run(config, "scan", str(root)).exit_code == 0
    poster = root / "finals" / "poster.png"
    asset = asset_at(catalog, poster)
    assert asset.risk == "high" and asset.risk_rules == "NFX-INTRO,STUDIO-1"
    result = run(config, "clear", str(poster), "--approval", "LEGAL-1")
    assert result.exit_code == 1
    assert "an escalation reference (--escalation REF) (STUDIO-1)" in result.stderr


def test_bad_toml_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('version = 1\n\n[[rules]]\nid = "X"\nrisk = high\n')
    with pytest.raises(ConfigError) as info:
        load_rules(path)
    assert str(info.value).startswith(f"{path}: invalid TOML: ")
    assert "line 5" in str(info.value)


def test_bad_values_are_reported_with_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        'version = 1\n\n[[rules]]\nid = "A"\nrisk = "low"\n\n'
        '[[rules]]\nid = "B"\nrequires = ["approval", "blessing"]\nrisk = "severe"\n'
        "when = { colour = true }\n"
    )
    with pytest.raises(ConfigError) as info:
        load_rules(path)
    lines = str(info.value).splitlines()
    assert any(line.startswith(f"{path}:9: rules.1.requires.1: Input should be") for line in lines)
    assert any(line.startswith(f"{path}:10: rules.1.risk: Input should be") for line in lines)
    assert f"{path}:11: rules.1.when.colour: unknown key (got True)" in lines


def test_duplicate_ids_and_missing_files_are_reported(tmp_path: Path) -> None:
    text = 'version = 1\n[[rules]]\nid = "A"\n[[rules]]\nid = "A"\n'
    with pytest.raises(ConfigError, match=r"^rules.toml:4: rules.1.id: 'A' is already rule 0$"):
        parse_rules(text, "rules.toml")
    with pytest.raises(ConfigError, match="no such rules file"):
        load_rules(tmp_path / "absent.toml")


def test_a_bad_rules_file_fails_the_command_with_its_line(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text('[[rules]]\nid = "A"\nrisk = "meh"\n')
    config = write_config(tmp_path, root, catalog, rules_file=str(rules_file))
    result = run(config, "uncleared")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {rules_file}:3: rules.0.risk: ")


def test_a_rules_conditions_are_read_only_and_the_rules_still_pickle() -> None:
    # the set conditions are worked out once per rule (every new AI asset is assessed
    # against every rule); what is handed out cannot change them, and a rule set that has
    # been used still pickles (a policy may go to another process)
    import pickle

    from provenance.clearance.rules import Conditions

    conditions = Conditions(talent=True, intended_use=("final",))
    given = conditions.given()
    assert dict(given) == {"talent": True, "intended_use": ("final",)}
    with pytest.raises(TypeError):
        given["talent"] = False  # type: ignore[index]
    assert dict(conditions.given()) == dict(given)
    again = pickle.loads(pickle.dumps(conditions))
    assert again == Conditions(talent=True, intended_use=("final",))
    assert dict(again.given()) == dict(given)
