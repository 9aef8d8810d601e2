"""The daemon loses no event: what the catalog cannot take now is kept, spooled and retried."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provenance.daemon.runstate import STATUS_NAME
from provenance.watch.backlog import SPOOL_NAME, Backlog
from provenance.watch.settle import Gone, Ready
from tests.media import write_plain_png
from tests.needs import unavailable
from tests.test_daemon import DaemonProcess
from tests.test_daemon import config as daemon_config
from tests.watch.conftest import wait_for


def test_a_backlog_is_spooled_and_read_back_after_a_restart(tmp_path: Path) -> None:
    spool = tmp_path / SPOOL_NAME
    backlog = Backlog(spool)
    ready = [Ready("/r", "/r/a.png"), Ready("/r", "/r/b.png", moved_from="/r/old.png")]
    backlog.keep(ready, [Gone("/r", "/r/gone", is_dir=True)], "catalog write failed: down", 1.0)
    assert len(backlog) == 3 and backlog.last_error.endswith("down")
    assert not backlog.is_due(1.0) and backlog.is_due(100.0)
    again = Backlog(spool)  # a restart
    assert again.take() == (ready, [Gone("/r", "/r/gone", is_dir=True)])
    again.recorded(3)
    assert not spool.exists() and len(Backlog(spool)) == 0


def test_a_later_change_of_a_kept_path_replaces_it(tmp_path: Path) -> None:
    backlog = Backlog(tmp_path / SPOOL_NAME)
    backlog.keep([Ready("/r", "/r/a.png")], [], "down", 0.0)
    backlog.hold([], [Gone("/r", "/r/a.png")])
    assert backlog.take() == ([], [Gone("/r", "/r/a.png")])


# --- a real PostgreSQL that stops and starts again -------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThrowawayPostgres:
    """A PostgreSQL server of its own (initdb in a temporary folder, its own port), run as
    the ``postgres`` user: stopping it touches no other test's server."""

    def __init__(self) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not binaries or os.getuid() != 0:
            unavailable("needs root and PostgreSQL's server binaries (CI has both)")
        try:
            self.user = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("needs a postgres user")
        self.bin = Path(binaries[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="provenance-pg-"))
        os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
        self.data = self.folder / "data"
        self.port = _free_port()
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(
            command,
            check=True,
            capture_output=True,
            timeout=120,
            user=self.user.pw_uid,
            group=self.user.pw_gid,
            cwd=self.folder,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
        )

    def remove(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def postgres_server() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def _status(daemon: DaemonProcess) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        status: dict[str, Any] = json.loads((daemon.state / STATUS_NAME).read_text())
        return status
    return {}


def _recorded(url: str) -> set[str]:
    from provenance.catalog import Catalog

    catalog = Catalog.open(url)
    try:
        with catalog.read() as tx:
            return {asset.path for asset in tx.list_assets()}
    finally:
        catalog.close()


@pytest.mark.timeout(180)
def test_files_that_arrive_while_postgresql_is_down_are_recorded_when_it_is_back(
    tmp_path: Path, postgres_server: ThrowawayPostgres
) -> None:
    root = tmp_path / "production"
    root.mkdir()
    catalog = f'[catalog]\nurl = "{postgres_server.url}"'
    config = daemon_config(tmp_path, root, watch="polling", extra=catalog)
    daemon = DaemonProcess(tmp_path, "--config", str(config), "daemon")
    try:
        daemon.wait_ready()
        before = write_plain_png(root / "before.png", color="red")
        wait_for(lambda: str(before) in _recorded(postgres_server.url), 20, "a first file")
        postgres_server.stop()
        during = [write_plain_png(root / f"during_{n}.png", color=(n, 9, 9)) for n in range(20)]  # type: ignore[arg-type]
        spool = daemon.state / SPOOL_NAME
        wait_for(spool.exists, 20, "the files to be kept in the spool")
        wait_for(lambda: _status(daemon).get("backlog", 0) > 0, 10, "the status to show them")
        assert "catalog" in _status(daemon)["last_error"]
        assert daemon.process.poll() is None, daemon.text()
        postgres_server.start()
        wanted = {str(path) for path in during}
        wait_for(lambda: wanted <= _recorded(postgres_server.url), 30, "the kept files")
        wait_for(lambda: not spool.exists(), 10, "the spool to be emptied")
        assert daemon.process.poll() is None, daemon.text()
        assert "catalog unavailable" in daemon.text()
    finally:
        daemon.signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.wait(10)
        daemon.kill()


# --- a state disk that fills up and gets room again ------------------------------------


@pytest.fixture
def small_state_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of 16 MB mounted on the daemon's state directory (tmp_path/state): its
    catalog, spool, status file and audit key all on a disk that can be filled."""
    state = tmp_path / "state"
    state.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(state)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        unavailable(f"mounting a tmpfs is not permitted here: {exc} {detail.decode().strip()}")
    try:
        yield state
    finally:
        done = subprocess.run(["umount", str(state)], capture_output=True, check=False)
        if done.returncode != 0:  # the daemon's last files still open: detach it
            subprocess.run(["umount", "-l", str(state)], check=False, capture_output=True)


def _fill(disk: Path) -> Path:
    """Fill ``disk`` to its last byte; return the file that holds it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


@pytest.mark.timeout(180)
@pytest.mark.parametrize("first_event", ["before", "during"])
def test_files_that_arrive_while_the_state_disk_is_full_are_recorded_when_it_has_room(
    tmp_path: Path, small_state_disk: Path, first_event: str
) -> None:
    # "during": the catalog's first event (which makes the audit key file) comes while the
    # disk is full, as on a new install whose state disk has filled up
    root = tmp_path / "production"
    root.mkdir()
    url = f"sqlite:///{small_state_disk / 'catalog.sqlite'}"
    daemon = DaemonProcess(tmp_path, "--config", str(daemon_config(tmp_path, root)), "daemon")
    try:
        daemon.wait_ready()
        if first_event == "before":
            before = write_plain_png(root / "before.png", color="red")
            wait_for(lambda: str(before) in _recorded(url), 20, "a first file")
        filler = _fill(small_state_disk)
        during = [write_plain_png(root / f"during_{n}.png", color=(n, 9, 9)) for n in range(10)]  # type: ignore[arg-type]
        wait_for(lambda: "catalog unavailable" in daemon.text(), 20, "the files to be kept")
        assert daemon.process.poll() is None, daemon.text()
        filler.unlink()
        wanted = {str(path) for path in during}
        wait_for(lambda: wanted <= _recorded(url), 30, "the kept files")
        assert daemon.process.poll() is None, daemon.text()
        assert "failed; going on" not in daemon.text(), daemon.text()
    finally:
        daemon.signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.wait(10)
        daemon.kill()
