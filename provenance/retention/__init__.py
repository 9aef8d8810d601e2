"""The retention lifecycle: policy (pure), sweep (plan and act), purge, restore, holds, journal."""

from provenance.retention.hold import hold, release
from provenance.retention.journal import Recovery, reconcile_journal
from provenance.retention.policy import AssetFacts, Decision, Rule, deadline_for, decide
from provenance.retention.purge import PlannedStep, StepResult
from provenance.retention.restore import restore
from provenance.retention.sweep import SweepPlan, SweepReport, apply_sweep, plan_sweep, sweep

__all__ = [
    "AssetFacts",
    "Decision",
    "PlannedStep",
    "Recovery",
    "Rule",
    "StepResult",
    "SweepPlan",
    "SweepReport",
    "apply_sweep",
    "deadline_for",
    "decide",
    "hold",
    "plan_sweep",
    "reconcile_journal",
    "release",
    "restore",
    "sweep",
]
