"""The clearance settings as values ingest and the services share: rules, tools, prompt privacy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provenance.clearance.assess import Assessment, Facts, ToolInfo, assess, find_tool
from provenance.clearance.redact import redact_prompt
from provenance.clearance.rules import RuleSet, default_rules, load_rules
from provenance.config import Settings
from provenance.config.clearance import ToolSettings


@dataclass(frozen=True)
class ClearancePolicy:
    """The rule set, the tools registry and how prompts are kept."""

    rules: RuleSet
    tools: tuple[ToolSettings, ...] = ()
    prompt_storage: str = "redacted"
    redact_names: tuple[str, ...] = ()

    def tool_for(self, generator: str | None, family: str | None) -> ToolInfo:
        return find_tool(generator, family, self.tools)

    def assess(
        self, generator: str | None, family: str | None, facts: Mapping[str, Any] | None
    ) -> tuple[Assessment, ToolInfo]:
        """Return the assessment of an AI asset and its tool's registry entry: the one risk.

        Judged as a clearance judges it (a final deliverable unless another use is
        declared), so the stored columns (``tag``, ``list``, the report), ``show``,
        ``uncleared`` and ``clear`` all say the same risk for the same facts and tool.
        """
        tool = self.tool_for(generator, family)
        return assess(Facts.from_mapping(facts).for_clearance(), tool, self.rules), tool

    def columns(
        self,
        ai_class: str,
        generator: str | None,
        family: str | None,
        facts: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """Return the asset columns ``risk``, ``risk_rules``, ``tool_status``, ``tool_name``.

        Not-AI assets have no risk (all None).
        """
        if ai_class == "none":
            return {"risk": None, "risk_rules": None, "tool_status": None, "tool_name": None}
        assessment, tool = self.assess(generator, family, facts)
        return {
            "risk": assessment.risk,
            "risk_rules": ",".join(assessment.rule_ids),
            "tool_status": tool.status,
            "tool_name": tool.name,
        }

    def prompt(self, text: str | None) -> tuple[str | None, str | None]:
        """Return (prompt to store, SHA-256 of the raw prompt) under ``prompt_storage``."""
        return redact_prompt(text, self.prompt_storage, self.redact_names)


def default_policy() -> ClearancePolicy:
    """Return the policy with no config: built-in rules, no tools registered, redacted prompts."""
    return ClearancePolicy(default_rules())


def clearance_policy(settings: Settings) -> ClearancePolicy:
    """Return the policy of ``[clearance]`` (loads the rules file; ConfigError if it is bad)."""
    section = settings.clearance
    return ClearancePolicy(
        rules=load_rules(section.rules_file) if section.rules_file else default_rules(),
        tools=tuple(section.tools),
        prompt_storage=section.prompt_storage,
        redact_names=tuple(section.redact_names),
    )


__all__ = ["ClearancePolicy", "RuleSet", "clearance_policy", "default_policy"]
