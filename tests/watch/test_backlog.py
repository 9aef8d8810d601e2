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
