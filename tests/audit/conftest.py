"""Audit fixtures: the retention helpers' root, real files and assets recorded for them, and
a real daemon in a thread (the watch tests')."""

from tests.retention.helpers import make_asset, root, settings_purge
from tests.watch.conftest import start_daemon

__all__ = ["make_asset", "root", "settings_purge", "start_daemon"]
