"""The catalog and the state files are private to their owner (0600, 0700) whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from provenance.catalog import Catalog
from provenance.catalog.locks import fleet_lock
from provenance.cli import cli
from provenance.daemon.runstate import PidLock, write_status
from provenance.daemon.scheduler import JOBSTORE_FILE, Scheduler


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture(params=[0o022, 0o002, 0o000])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_a_new_catalog_and_its_state_dir_are_private(
    umask: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "deep" / "state"
    monkeypatch.setenv("PROVENANCE_STATE_DIR", str(state))
    (tmp_path / "show").mkdir()
    result = CliRunner().invoke(cli, ["scan", str(tmp_path / "show")])
    assert result.exit_code == 0, result.output
    catalog = Catalog.open(f"sqlite:///{state / 'catalog.sqlite'}")
    try:
        with catalog.read() as tx:  # the -wal and -shm files exist while a connection is open
            tx.known_roots()
            files = sorted(p.name for p in state.iterdir())
            assert {"catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"} <= set(files)
            assert {name: mode(state / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        catalog.close()
    assert mode(state) == 0o700


def test_a_catalog_left_open_by_an_older_release_is_made_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("PROVENANCE_STATE_DIR", str(state))
    Catalog.open(f"sqlite:///{state / 'catalog.sqlite'}").close()
    state.chmod(0o755)
    (state / "catalog.sqlite").chmod(0o644)
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 0, result.output
    assert (mode(state), mode(state / "catalog.sqlite")) == (0o700, 0o600)


def test_state_files_are_private(umask: int, tmp_path: Path) -> None:
    state = tmp_path / "state"
    catalog = Catalog.open(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    try:
        with fleet_lock(catalog, "sweep", state) as held:
            assert held
    finally:
        catalog.close()
    lock = PidLock(state / "daemon.lock")
    lock.acquire()
    lock.release()
    write_status(state, {"pid": 1})
    Scheduler(state)
    files = [p for p in state.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"sweep.lock", "daemon.lock", JOBSTORE_FILE}
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    assert mode(state) == 0o700
