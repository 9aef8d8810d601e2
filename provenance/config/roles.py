"""The ``[roles]`` settings: which OS users and groups hold each role (``provenance.access.roles``).

Read for rights only from a config file the service trusts (root's, or the catalog owner's);
in any other file they are validated and ignored.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RoleGrant(_Section):
    """The OS users (``"*"``: every local user) and groups that hold one role."""

    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)


class RoleSettings(_Section):
    """Who holds each role; every role includes viewer, approver includes tagger."""

    viewer: RoleGrant = RoleGrant()
    tagger: RoleGrant = RoleGrant()
    custodian: RoleGrant = RoleGrant()
    approver: RoleGrant = RoleGrant()
    operator: RoleGrant = RoleGrant()
