"""Report fixtures: the sample catalog and its report, built the way the command builds it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provenance.catalog import Catalog
from provenance.config import Settings
from provenance.report.build import build_report
from provenance.report.data import Period, Report
from tests.report.sample import AS_OF, GENERATED_AT, populate, sample_settings
from tests.retention.helpers import make_asset, root

__all__ = ["make_asset", "root"]  # the lifecycle's fixtures, for the report over real sweeps

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_ENV = "PROVENANCE_UPDATE_GOLDEN"


@pytest.fixture
def report_settings(tmp_path: Path) -> Settings:
    return sample_settings(tmp_path / "state")


@pytest.fixture
def sample_report(catalog: Catalog, report_settings: Settings) -> Report:
    """The sample catalog's report, on each backend."""
    populate(catalog)
    return build_report(catalog, report_settings, Period(AS_OF, 7), GENERATED_AT)


def assert_golden(name: str, text: str) -> None:
    """Compare ``text`` with golden/NAME; PROVENANCE_UPDATE_GOLDEN=1 rewrites the file."""
    path = GOLDEN / name
    if os.environ.get(UPDATE_ENV):
        path.write_bytes(text.encode("utf-8"))
    assert path.is_file(), f"no golden file {name}; run once with {UPDATE_ENV}=1 and review it"
    expected = path.read_bytes().decode("utf-8")
    assert text == expected, f"{name} differs from the golden file ({UPDATE_ENV}=1 rewrites it)"


@pytest.fixture
def sqlite_report(sqlite_catalog: Catalog, report_settings: Settings) -> Report:
    """The sample catalog's report on SQLite only (for tests of rendering, not of SQL)."""
    populate(sqlite_catalog)
    return build_report(sqlite_catalog, report_settings, Period(AS_OF, 7), GENERATED_AT)
