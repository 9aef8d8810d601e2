"""The clearance rule set: load and validate it (the built-in file or the user's), as values.

A rule set is TOML (see ``provenance/data/clearance-rules.toml``): ``[[rules]]`` each with an
``id`` (the published rule, ``NFX-...``), a ``title``, conditions on the asset's facts in
``when``, what ``clear`` must see in ``requires``, and a ``risk``. Every problem is reported
at once as ``file:line: rules.N.key: problem`` (TOML syntax errors as ``file:line:column``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from provenance.errors import ConfigError

Risk = Literal["low", "review", "high", "blocked"]
IntendedUse = Literal["ideation", "previs", "temp", "marketing", "final"]
ToolStatus = Literal["approved", "unapproved", "unknown"]
TermsAnswer = Literal["yes", "no", "unknown"]
Requirement = Literal["approval", "consent", "escalation", "label"]

RISKS: tuple[Risk, ...] = ("low", "review", "high", "blocked")
INTENDED_USES: tuple[IntendedUse, ...] = ("ideation", "previs", "temp", "marketing", "final")
DEFAULT_RULES_NAME = "clearance-rules.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Conditions(_Strict):
    """What must hold for a rule to fire; a condition left out is not checked."""

    intended_use: tuple[IntendedUse, ...] | None = None
    talent: bool | None = None
    personal_data: bool | None = None
    copyrighted_ref: bool | None = None
    real_person: bool | None = None
    public_figure: bool | None = None
    deceased_person: bool | None = None
    other_project_model: bool | None = None
    tool: tuple[ToolStatus, ...] | None = None
    no_training_on_inputs: tuple[TermsAnswer, ...] | None = None
    vendor_retains_inputs: tuple[TermsAnswer, ...] | None = None
    enterprise_agreement: bool | None = None

    def given(self) -> Mapping[str, Any]:
        """Return the conditions that are set, by name (read-only)."""
        return MappingProxyType(self._given)

    @cached_property
    def _given(self) -> dict[str, Any]:
        # worked out once: every new AI asset is assessed against every rule
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ClearanceRule(_Strict):
    """One row of the rule set."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    title: str = ""
    when: Conditions = Conditions()
    #: "all" conditions must hold, or "any" of them.
    match: Literal["all", "any"] = "all"
    requires: tuple[Requirement, ...] = ()
    risk: Risk = "review"


class _RuleFile(_Strict):
    version: Literal[1] = 1
    rules: tuple[ClearanceRule, ...] = Field(min_length=1)


@dataclass(frozen=True)
class RuleSet:
    """The rules in file order, and where they came from."""

    rules: tuple[ClearanceRule, ...]
    source: str

    def ids(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.rules)


def _rule_lines(text: str) -> list[int]:
    """Return the line number of each ``[[rules]]`` header, in order."""
    return [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if re.match(r"^\s*\[\[\s*rules\s*\]\]", line)
    ]


def _key_line(text: str, start: int, key: str) -> int:
    """Return the line of ``key = ...`` in the table starting at line ``start`` (or ``start``)."""
    lines = text.splitlines()
    for number in range(start + 1, len(lines) + 1):
        line = lines[number - 1]
        if re.match(r"^\s*\[", line):
            break
        if re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return number
    return start


def _where(source: str, text: str, location: tuple[Any, ...]) -> str:
    """Return ``file:line: rules.N.key`` for a pydantic error location."""
    dotted = ".".join(str(part) for part in location) or "(top level)"
    headers = _rule_lines(text)
    if len(location) >= 2 and location[0] == "rules" and isinstance(location[1], int):
        index = location[1]
        if index < len(headers):
            line = headers[index]
            if len(location) >= 3:
                line = _key_line(text, line, str(location[2]))
            return f"{source}:{line}: {dotted}"
    return f"{source}: {dotted}"


def parse_rules(text: str, source: str) -> RuleSet:
    """Return the rule set in ``text``; raise ConfigError listing every problem with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message names the line and column; it has no attributes for them
        # before Python 3.14, and its wording is not ours to parse
        raise ConfigError(f"{source}: invalid TOML: {exc}") from exc
    try:
        parsed = _RuleFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
            got = error.get("input")
            suffix = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
            problems.append(f"{_where(source, text, tuple(error['loc']))}: {message}{suffix}")
        raise ConfigError("\n".join(problems)) from exc
    seen: dict[str, int] = {}
    problems = []
    headers = _rule_lines(text)
    for index, rule in enumerate(parsed.rules):
        if rule.id in seen:
            line = headers[index] if index < len(headers) else 0
            problems.append(
                f"{source}:{line}: rules.{index}.id: {rule.id!r} is already rule {seen[rule.id]}"
            )
        seen.setdefault(rule.id, index)
    if problems:
        raise ConfigError("\n".join(problems))
    return RuleSet(parsed.rules, source)


@lru_cache(maxsize=1)
def default_rules() -> RuleSet:
    """Return the built-in rule set shipped with provenance."""
    text = resources.files("provenance").joinpath("data", DEFAULT_RULES_NAME).read_text("utf-8")
    return parse_rules(text, f"(built-in {DEFAULT_RULES_NAME})")


def load_rules(path: Path | None) -> RuleSet:
    """Return the rule set in ``path``, or the built-in one when ``path`` is None."""
    if path is None:
        return default_rules()
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such rules file ([clearance] rules_file)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read rules file ({exc})") from exc
    return parse_rules(text, str(path))
