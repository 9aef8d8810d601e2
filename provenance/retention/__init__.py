"""The retention lifecycle: policy (pure), sweep (plan and act), purge, restore, holds, journal.

``hold``, ``restore`` and ``sweep`` are submodules here (import their functions from them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance import lazy_exports

if TYPE_CHECKING:
    from provenance.retention.hold import release
    from provenance.retention.journal import Recovery, Waiting, reconcile_journal
    from provenance.retention.policy import AssetFacts, Decision, Rule, deadline_for, decide
    from provenance.retention.purge import PlannedStep, StepResult
    from provenance.retention.sweep import SweepPlan, SweepReport, apply_sweep, plan_sweep

#: Where each name lives: loaded on first use, so that importing one submodule (the
#: scan needs only a few) does not load the others.
_EXPORTS = {
    "release": "provenance.retention.hold",
    "Recovery": "provenance.retention.journal",
    "reconcile_journal": "provenance.retention.journal",
    "Waiting": "provenance.retention.journal",
    "AssetFacts": "provenance.retention.policy",
    "Decision": "provenance.retention.policy",
    "Rule": "provenance.retention.policy",
    "deadline_for": "provenance.retention.policy",
    "decide": "provenance.retention.policy",
    "PlannedStep": "provenance.retention.purge",
    "StepResult": "provenance.retention.purge",
    "SweepPlan": "provenance.retention.sweep",
    "SweepReport": "provenance.retention.sweep",
    "apply_sweep": "provenance.retention.sweep",
    "plan_sweep": "provenance.retention.sweep",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "AssetFacts",
    "Decision",
    "PlannedStep",
    "Recovery",
    "Rule",
    "StepResult",
    "SweepPlan",
    "SweepReport",
    "Waiting",
    "apply_sweep",
    "deadline_for",
    "decide",
    "plan_sweep",
    "reconcile_journal",
    "release",
]
