"""Audit fixtures: the retention helpers' root, real files and assets recorded for them."""

from tests.retention.helpers import make_asset, root, settings_purge

__all__ = ["make_asset", "root", "settings_purge"]
