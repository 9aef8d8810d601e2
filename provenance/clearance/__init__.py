"""Clearance with evidence: facts and rules (pure), who may clear, and the clearance services."""

from provenance.clearance.assess import (
    Assessment,
    Evidence,
    Facts,
    Fired,
    Missing,
    ToolInfo,
    assess,
    find_tool,
    missing,
)
from provenance.clearance.policy import ClearancePolicy, clearance_policy, default_policy
from provenance.clearance.rules import (
    ClearanceRule,
    RuleSet,
    default_rules,
    load_rules,
    parse_rules,
)

__all__ = [
    "Assessment",
    "ClearancePolicy",
    "ClearanceRule",
    "Evidence",
    "Facts",
    "Fired",
    "Missing",
    "RuleSet",
    "ToolInfo",
    "assess",
    "clearance_policy",
    "default_policy",
    "default_rules",
    "find_tool",
    "load_rules",
    "missing",
    "parse_rules",
]
