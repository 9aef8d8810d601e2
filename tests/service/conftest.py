"""Service fixtures: a real catalog on both backends, a root with real files, an ``App`` on them,
and callers holding given roles."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.access.roles import Grants, Role, expand
from provenance.catalog import Catalog
from provenance.config import Settings
from provenance.service.context import App, Caller
from tests.retention.helpers import ACTOR, make_asset, retention_settings, root

__all__ = ["make_asset", "root"]


def caller(*roles: Role) -> Caller:
    """The test's actor holding ``roles`` on a shared catalog."""
    return Caller(ACTOR, Grants(ACTOR.user, expand(roles), "shared"))


@pytest.fixture
def settings(tmp_path: Path, root: Path) -> Settings:
    """One root, the default retention policies."""
    return retention_settings(tmp_path, root)


@pytest.fixture
def app(settings: Settings, catalog: Catalog) -> App:
    return App.using(settings, catalog)
