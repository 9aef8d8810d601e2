"""Shared fixtures: catalogs on both backends, settings, a CLI runner, the real corpus."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from provenance.catalog import Catalog
from provenance.config import Settings, locations
from tests.needs import unavailable

POSTGRES_ENV = "PROVENANCE_TEST_POSTGRES_URL"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def _postgres_catalog() -> Iterator[Catalog]:
    """A fresh schema on the real PostgreSQL server, dropped afterwards."""
    url = postgres_url()
    if url is None:
        unavailable(
            f"PostgreSQL leg not selected: set {POSTGRES_ENV} "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); .ci/run always sets it"
        )
    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"
    catalog = Catalog.open(f"{url}{separator}options=-csearch_path%3D{schema}")
    try:
        yield catalog
    finally:
        catalog.close()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    """A real, empty catalog: a SQLite file in tmp_path, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        opened = Catalog.open(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
        yield opened
        opened.close()
    else:
        yield from _postgres_catalog()


@pytest.fixture
def postgres_catalog() -> Iterator[Catalog]:
    """A fresh schema on the real PostgreSQL server (the PostgreSQL leg only)."""
    yield from _postgres_catalog()


@pytest.fixture
def sqlite_catalog(tmp_path: Path) -> Iterator[Catalog]:
    opened = Catalog.open(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    yield opened
    opened.close()


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the user's state directory or config, nor the system's config."""
    monkeypatch.setenv("PROVENANCE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("PROVENANCE_CONFIG", raising=False)
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-config"))
    monkeypatch.setattr(locations, "SYSTEM_CONFIG", tmp_path / "etc" / "provenance.toml")


@pytest.fixture
def no_umask() -> Iterator[None]:
    """Umask 0: what the service makes must be private by its own modes."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def corpus() -> Path:
    if not (CORPUS / "MANIFEST.tsv").is_file():
        unavailable(f"real sample corpus not found at ../shared/corpus ({CORPUS})")
    return CORPUS


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread running (observers, schedulers, pools)."""
    before = set(threading.enumerate())
    yield
    deadline = 5.0
    import time

    start = time.monotonic()
    while time.monotonic() - start < deadline:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked:
            return
        time.sleep(0.05)
    pytest.fail(f"test leaked threads: {leaked}")
