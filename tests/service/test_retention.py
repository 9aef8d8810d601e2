"""``service.retention`` called directly, on a real catalog of each backend: a dry-run sweep
plans and changes nothing; sweeping and restoring are an operator's."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.access.roles import Role
from provenance.errors import PermissionDeniedError
from provenance.retention.restore import Restored
from provenance.service import retention
from provenance.service.context import App, Caller
from provenance.service.remote import from_wire, to_wire
from tests.retention.helpers import ACTOR, T0, MakeAsset, status_of
from tests.service.conftest import caller

OPERATOR = caller(Role.OPERATOR)


def test_a_dry_run_sweep_plans_and_changes_nothing(app: App, make_asset: MakeAsset) -> None:
    due = make_asset("old/poster.png")  # first seen long ago: past its policy's deadline
    report = retention.sweep(app, OPERATOR, dry_run=True)
    assert report.dry_run and not any(s.done or s.skipped is not None for s in report.steps)
    assert [step.path for step in report.steps] == [due.path]
    assert status_of(app.catalog, due.id) == "temporary"
    assert Path(due.path).is_file()


def test_a_sweep_acts_then_finds_nothing_due(app: App, make_asset: MakeAsset) -> None:
    due = make_asset("old/poster.png")
    report = retention.sweep(app, OPERATOR)
    (step,) = report.steps
    assert step.done and report.counts() == {step.action: 1}
    assert status_of(app.catalog, due.id) in {"expiring", "flagged", "quarantined", "purged"}
    again = retention.sweep(app, OPERATOR, dry_run=True)
    assert all(s.path != due.path or s.action != step.action for s in again.steps)


def test_sweep_and_restore_need_the_operator_role(app: App, make_asset: MakeAsset) -> None:
    due = make_asset("old/poster.png")
    for who in (caller(Role.VIEWER), caller(Role.CUSTODIAN), caller(Role.APPROVER)):
        with pytest.raises(PermissionDeniedError, match="may not sweep: that needs the operator"):
            retention.sweep(app, who, dry_run=True)
        with pytest.raises(PermissionDeniedError, match="may not restore: that needs the operat"):
            retention.restore(app, who, due.path, dry_run=True)
    assert status_of(app.catalog, due.id) == "temporary"


def test_the_service_itself_holds_every_role(app: App, make_asset: MakeAsset) -> None:
    # the daemon's scheduled sweep calls the same function as the service, with no grants
    make_asset("old/poster.png")
    report = retention.sweep(app, Caller.service(ACTOR), dry_run=True)
    assert len(report.steps) == 1


def test_a_restore_comes_back_as_values_the_socket_carries(app: App, make_asset: MakeAsset) -> None:
    due = make_asset("old/poster.png", status="flagged", flagged_at=T0)  # its grace long gone
    retention.sweep(app, OPERATOR)
    assert status_of(app.catalog, due.id) == "quarantined"
    restored = retention.restore(app, OPERATOR, due.path, dry_run=True)
    assert (restored.path, restored.changed, restored.dry_run) == (due.path, False, True)
    assert from_wire(Restored, to_wire(restored)) == restored
