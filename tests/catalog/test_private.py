"""The catalog and the state files are private to their owner (0600, 0700) whatever the umask."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from provenance.audit.anchor import ANCHOR_FILE, Anchor, read_anchors, write_anchor
from provenance.audit.keys import KEY_FILE, read_keys
from provenance.catalog import Catalog
from provenance.catalog.locks import fleet_lock
from provenance.cli import cli
from provenance.daemon.metrics import METRICS_NAME, Snapshot, write_metrics
from provenance.daemon.runstate import (
    LOCK_NAME,
    STATUS_NAME,
    PidLock,
    daemon_pid,
    read_status,
    write_status,
)
from provenance.daemon.scheduler import JOBSTORE_FILE, Scheduler
from provenance.errors import AuditError, ConfinementError, Refusal
from provenance.watch.backlog import SPOOL_NAME, Backlog
from provenance.watch.settle import Ready
from tests.planted import link_of_another_user, mode, plant_link


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


def test_a_state_dir_reached_through_another_users_link_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "theirs").mkdir()
    link_of_another_user(tmp_path / "via", tmp_path / "theirs")
    monkeypatch.setenv("PROVENANCE_STATE_DIR", str(tmp_path / "via" / "state"))
    (tmp_path / "show").mkdir()
    result = CliRunner().invoke(cli, ["scan", str(tmp_path / "show")])
    assert result.exit_code != 0
    assert result.stderr.startswith(f"error: {tmp_path / 'via'}: is a symbolic link of uid ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert list((tmp_path / "theirs").iterdir()) == []  # nothing made where it leads


def test_the_daemon_refuses_a_state_dir_behind_another_users_link(tmp_path: Path) -> None:
    (tmp_path / "theirs").mkdir()
    link_of_another_user(tmp_path / "via", tmp_path / "theirs")
    with pytest.raises(ConfinementError) as caught:
        PidLock(tmp_path / "via" / "state" / LOCK_NAME).acquire()
    assert caught.value.kind is Refusal.SYMLINK
    with pytest.raises(ConfinementError):
        write_status(tmp_path / "via" / "state", {"pid": 1})
    assert list((tmp_path / "theirs").iterdir()) == []


def _write_spool(state: Path) -> None:
    Backlog(state / SPOOL_NAME).hold([Ready("/r", "/r/a.png")], [])


def _write_metrics(state: Path) -> None:
    write_metrics(
        state,
        Snapshot(at=1.0, started_at=0.0, queue=0, files_ingested=0, read_errors=0, events_lost=0),
    )


@pytest.mark.parametrize(
    ("name", "write"),
    [
        (STATUS_NAME, lambda state: write_status(state, {"pid": 1})),
        (METRICS_NAME, _write_metrics),
        (SPOOL_NAME, _write_spool),
    ],
)
def test_a_link_at_a_state_files_name_is_replaced_not_written_through(
    tmp_path: Path, no_umask: None, name: str, write: Callable[[Path], None]
) -> None:
    state = tmp_path / "state"
    target = plant_link(state / name, tmp_path)
    write(state)
    assert target.read_bytes() == b"keep me"
    assert not (state / name).is_symlink() and (state / name).stat().st_size > 0
    assert (mode(state), mode(state / name)) == (0o700, 0o600)
    assert sorted(p.name for p in state.iterdir()) == [name]  # no temporary file left


def test_status_reads_back_and_an_emptied_spool_takes_a_planted_link_away(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    write_status(state, {"pid": 7})
    assert read_status(state) == {"pid": 7}
    target = plant_link(state / SPOOL_NAME, tmp_path)
    backlog = Backlog(state / SPOOL_NAME)  # a link is not read as kept changes
    assert len(backlog) == 0
    backlog.recorded(0)  # nothing kept: the spool's name is cleared, link and all
    assert not (state / SPOOL_NAME).is_symlink() and target.read_bytes() == b"keep me"


def test_lock_and_anchor_files_refuse_a_link_at_their_name(tmp_path: Path) -> None:
    state = tmp_path / "state"
    lock_target = plant_link(state / LOCK_NAME, tmp_path)
    with pytest.raises(ConfinementError) as caught:
        PidLock(state / LOCK_NAME).acquire()
    assert caught.value.kind is Refusal.SYMLINK
    anchor_target = plant_link(state / ANCHOR_FILE, tmp_path)
    with pytest.raises(AuditError, match="symbolic link"):
        write_anchor(state, Anchor("2026-12-04T20:00:00+00:00", 1, "0" * 64))
    with pytest.raises(AuditError, match="symbolic link"):
        read_anchors(state)  # nor read through
    key_target = plant_link(state / KEY_FILE, tmp_path)
    with pytest.raises(AuditError, match="symbolic link"):
        read_keys(state / KEY_FILE)
    assert lock_target.read_bytes() == anchor_target.read_bytes() == b"keep me"
    assert key_target.read_bytes() == b"keep me"


def test_state_files_are_read_without_following_a_link_or_waiting_on_a_fifo(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    os.mkfifo(state / STATUS_NAME)  # opened to read, a FIFO would wait for a writer
    assert read_status(state) is None
    target = plant_link(state / LOCK_NAME, tmp_path)
    target.write_text("4242\n")
    with target.open() as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # looks like a running daemon, through the link
        assert daemon_pid(state) is None
    lock = PidLock(state / "real" / LOCK_NAME)
    lock.acquire()
    try:
        assert daemon_pid(state / "real") == os.getpid()
    finally:
        lock.release()
