"""Approvers: the real OS user and its real groups against the configured lists."""

from __future__ import annotations

import getpass
import grp
import os

import pytest

from provenance.clearance.approvers import check_approver, is_approver, os_groups
from provenance.clearance_settings import ClearanceSettings
from provenance.errors import ClearanceError


def test_the_real_primary_group_is_among_the_users_groups() -> None:
    assert grp.getgrgid(os.getgid()).gr_name in os_groups(getpass.getuser())


def test_is_approver_by_name_or_group() -> None:
    settings = ClearanceSettings(approvers=["ana"], approver_groups=["legal"])
    assert is_approver("ana", [], settings)
    assert is_approver("bo", ["staff", "legal"], settings)
    assert not is_approver("bo", ["staff"], settings)


def test_check_approver_uses_the_real_user_and_groups() -> None:
    user, group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
    check_approver(user, ClearanceSettings(approvers=[user]))
    check_approver(user, ClearanceSettings(approver_groups=[group]))
    with pytest.raises(ClearanceError, match="not in \\[clearance\\] approvers"):
        check_approver(user, ClearanceSettings(approvers=["nobody-here"]))
    with pytest.raises(ClearanceError, match="may not revoke: no approvers are configured"):
        check_approver(user, ClearanceSettings(), "revoke")
