"""A real daemon on tmp_path, in a thread of the test: real observers, a real SQLite catalog."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from provenance.audit import Actor
from provenance.catalog import Asset, Catalog, utcnow
from provenance.config import CatalogSettings, DaemonSettings, RootSettings, Settings
from provenance.daemon.service import Daemon
from provenance.daemon.systemd import Notifier
from provenance.watch.hearing import CANARY_TIMEOUT, PROOF_INTERVAL

ACTOR = Actor("daemon", "host1")
QUIET = 0.2


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Return the first truthy value of ``condition()``, polling until ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class Running:
    """A daemon running in a background thread; ``stop()`` ends it and joins."""

    def __init__(self, daemon: Daemon, catalog: Catalog) -> None:
        self.daemon = daemon
        self.catalog = catalog
        self.thread = threading.Thread(target=self._run, name="test-daemon")
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.daemon.run(install_signals=False)
        except BaseException as exc:
            self.error = exc

    def start(self) -> Running:
        self.thread.start()
        for root in self.daemon.settings.roots:
            wait_for(
                lambda root=root: (
                    self.last_scan(str(root.path)) is not None or not root.path.exists()
                ),
                what=f"start-up scan of {root.path}",
            )
        return self

    def stop(self) -> None:
        if self.thread.is_alive():
            self.daemon.request_stop()
            self.thread.join(10)
        assert not self.thread.is_alive(), "daemon did not stop"
        if self.error is not None:
            raise self.error

    def last_scan(self, root: str) -> Any:
        with self.catalog.read() as tx:
            return tx.last_scan(root)

    def scans(self, root: str) -> int:
        with self.catalog.read() as tx:
            return _count_scans(tx, root)

    def asset(self, path: Path) -> Asset | None:
        with self.catalog.read() as tx:
            return tx.asset_by_path(str(path))

    def wait_asset(self, path: Path, timeout: float = 10.0, **expected: Any) -> Asset:
        def check() -> Asset | None:
            asset = self.asset(path)
            if asset is None or any(getattr(asset, k) != v for k, v in expected.items()):
                return None
            return asset

        return wait_for(check, timeout, f"{path} in the catalog with {expected}")

    def actions(self, path: Path) -> list[str]:
        asset = self.asset(path)
        assert asset is not None and asset.id is not None
        with self.catalog.read() as tx:
            return [e.action for e in tx.events_of(asset.id)]

    def idle(self, timeout: float = 10.0) -> None:
        consumer = self.daemon._consumer
        assert consumer is not None
        # nothing queued or settling, and the consumer back waiting for changes: a batch
        # taken off the settler is recorded (and counted) before the consumer waits again
        wait_for(lambda: consumer.pending() == 0 and consumer.waiting, timeout, "an idle consumer")


def _count_scans(tx: Any, root: str) -> int:
    from sqlmodel import col, func, select

    from provenance.catalog import ScanRun

    query = select(func.count()).select_from(ScanRun).where(col(ScanRun.root) == root)
    return int(tx.session.execute(query).scalar_one())


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Return a function that starts a daemon on roots and stops it after the test."""
    running: list[Running] = []
    catalogs: list[Catalog] = []

    def start(
        *roots: RootSettings,
        notifier: Notifier | None = None,
        catalog_settings: CatalogSettings | None = None,
        proof_interval: float = PROOF_INTERVAL,
        canary_timeout: float = CANARY_TIMEOUT,
        status_interval: float = 0.1,
        **daemon: Any,
    ) -> Running:
        options = {"quiet_period": QUIET, "poll_interval": 0.1, **daemon}
        settings = Settings(
            state_dir=tmp_path / "state",
            catalog=catalog_settings or CatalogSettings(),
            roots=list(roots),
            daemon=DaemonSettings(**options),
            scan={"workers": 1},  # type: ignore[arg-type]
        )
        catalog = Catalog.open(settings.catalog_url)
        catalogs.append(catalog)
        instance = Daemon(
            settings,
            catalog,
            ACTOR,
            utcnow,
            notifier=notifier or Notifier({}),
            status_interval=status_interval,
            proof_interval=proof_interval,
            canary_timeout=canary_timeout,
        )
        run = Running(instance, catalog)
        running.append(run)
        return run.start()

    yield start
    for run in running:
        run.stop()
    for catalog in catalogs:
        catalog.close()


Start = Callable[..., Running]


@pytest.fixture(params=["native", "polling"])
def mode(request: pytest.FixtureRequest) -> str:
    """Each watch backend in turn: inotify (native) and polling."""
    return str(request.param)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "production"
    folder.mkdir()
    return folder
