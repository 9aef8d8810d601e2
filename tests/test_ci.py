"""CI and the README agree: the same test command, and constraint files true to pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
SELF = canonicalize_name(PROJECT["name"])


def _set_up_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def _direct_requirements() -> list[Requirement]:
    """What the README's test command installs directly: the dependencies and the extras
    it names (test, and postgres and web through it), not the project itself."""
    extras = PROJECT["optional-dependencies"]
    found = [Requirement(text) for text in PROJECT["dependencies"]]
    for extra in ("postgres", "web", "test"):
        found += [Requirement(text) for text in extras[extra]]
    return [requirement for requirement in found if canonicalize_name(requirement.name) != SELF]


def _pins(name: str) -> dict[str, Version]:
    pins = {}
    for line in (ROOT / ".ci" / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        found = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;]+)", line)
        assert found, f".ci/{name}: not a pin: {line!r}"
        pins[canonicalize_name(found.group(1))] = Version(found.group(2))
    return pins


def test_ci_runs_the_readmes_test_command() -> None:
    lines = _set_up_lines()
    assert len(lines) == 2, lines
    install, test = lines
    assert "pytest" in test and "[test]" in test
    assert "python3 -m venv" in install and "pip install ." in install
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"TEST_COMMAND='{test}'" in ci, "the README's test command and .ci/run differ"


def test_lowest_constraints_pin_every_direct_dependency_at_its_declared_floor() -> None:
    pins = _pins("constraints-lowest.txt")
    declared = {canonicalize_name(r.name): r for r in _direct_requirements()}
    for name, requirement in declared.items():
        floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        assert floors, f"{requirement}: no lower bound declared"
        assert name in pins, f".ci/constraints-lowest.txt does not pin {name}"
        assert pins[name] == Version(floors[0]), (
            f"{name}: pyproject.toml's floor is {floors[0]}, .ci/constraints-lowest.txt pins "
            f"{pins[name]} (pin the floor itself, a version that exists)"
        )
    assert set(pins) <= set(declared), f"pinned but not declared: {set(pins) - set(declared)}"


def test_locked_constraints_pin_every_direct_dependency_within_its_declared_range() -> None:
    pins = _pins("constraints-locked.txt")
    assert SELF not in pins
    for requirement in _direct_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f".ci/constraints-locked.txt does not pin {name} (run .ci/lock)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f".ci/constraints-locked.txt pins {name}=={pins[name]}, outside {requirement}"
        )
