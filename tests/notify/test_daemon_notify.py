"""A real daemon (``python3 -m provenance daemon``) sends the notifications: the files it
records, swept by the real service, reach a real HTTP receiver signed; killed outright while
the receiver is down, the next daemon sends what the first could not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from provenance.access.roles import Role
from provenance.catalog import Catalog
from provenance.config import load_settings
from provenance.service import retention
from provenance.service.context import App
from tests.media import write_a1111_png
from tests.notify.receiver import Receiver
from tests.service.conftest import caller
from tests.test_daemon import REPO, DaemonProcess, config
from tests.watch.conftest import wait_for

SECRET_ENV = "PROVENANCE_TEST_WEBHOOK_SECRET"
SECRET = "daemon-shared-secret"


def notify_config(tmp_path: Path, root: Path, receiver: Receiver) -> Path:
    path = config(tmp_path, root)
    with path.open("a") as stream:
        stream.write(
            "[retention]\n[[retention.policies]]\n"
            'name = "at-once"\nexpire_after = "1s"\nwarn_before = "0s"\naction = "flag"\n'
            '[notify]\nenabled = true\ninterval = "1s"\nmax_backoff = "2s"\n'
            "[[notify.webhooks]]\n"
            f'name = "desk"\nurl = "{receiver.url}"\nsecret_env = "{SECRET_ENV}"\n'
            'events = ["flagged"]\n'
        )
    return path


def start(tmp_path: Path, cfg: Path, started: list[DaemonProcess]) -> DaemonProcess:
    daemon = DaemonProcess(tmp_path, "--config", str(cfg), "daemon", env={SECRET_ENV: SECRET})
    started.append(daemon)
    daemon.wait_ready()
    return daemon


def recorded(catalog: Catalog, path: Path) -> bool:
    with catalog.read() as tx:
        return tx.asset_by_path(str(path)) is not None


def sweep_until_flagged(cfg: Path, catalog: Catalog) -> None:
    time.sleep(1.2)  # past the policy's 1s
    for _ in range(2):  # warned, then flagged
        retention.sweep(App.using(load_settings(cfg), catalog), caller(Role.OPERATOR))


def status_text(cfg: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "provenance", "--config", str(cfg), "status"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
        check=False,
    )
    return done.stdout


def flagged_paths(receiver: Receiver) -> set[str]:
    return {b["path"] for b in receiver.bodies() if b["event"] == "flagged"}


def test_a_daemon_sends_flagged_events_and_a_killed_one_loses_none(
    tmp_path: Path, root: Path, receiver: Receiver
) -> None:
    cfg = notify_config(tmp_path, root, receiver)
    started: list[DaemonProcess] = []
    catalog = Catalog.open(f"sqlite:///{tmp_path / 'state' / 'catalog.sqlite'}")
    try:
        daemon = start(tmp_path, cfg, started)
        first = write_a1111_png(root / "shots" / "castle.png")
        wait_for(lambda: recorded(catalog, first), 20, "the file to be recorded")
        sweep_until_flagged(cfg, catalog)
        wait_for(lambda: str(first) in flagged_paths(receiver), 20, "the flagged notice")
        request = receiver.received[-1]
        assert request.headers["x-provenance-signature"].startswith("v1=")

        receiver.stop()  # the receiver goes down, then the daemon is killed outright
        second = write_a1111_png(root / "shots" / "dragon.png")
        wait_for(lambda: recorded(catalog, second), 20, "the second file to be recorded")
        sweep_until_flagged(cfg, catalog)
        wait_for(lambda: "not reached" in daemon.text(), 20, "a failed send to be logged")
        wait_for(lambda: "FAILING" in status_text(cfg), 20, "provenance status to tell")
        told = status_text(cfg)
        assert "webhook desk: 1 notices sent since the start, " in told
        assert "sends failed (tried again), 0 given up; FAILING" in told
        daemon.process.send_signal(signal.SIGKILL)
        daemon.wait(10)
        assert SECRET not in daemon.text() and "T0KEN" not in daemon.text()

        receiver.start()  # back on its port; a new daemon resumes from the cursor
        again = start(tmp_path, cfg, started)
        wait_for(lambda: str(second) in flagged_paths(receiver), 20, "the notice held back")
        assert flagged_paths(receiver) == {str(first), str(second)}
        again.signal(signal.SIGTERM)
        assert again.wait(10) == 0, again.text()
    finally:
        for process in started:
            process.kill()
        catalog.close()
