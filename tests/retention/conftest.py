"""Retention fixtures (defined in helpers.py, which tests also import values from)."""

from tests.retention.helpers import make_asset, root, settings_purge

__all__ = ["make_asset", "root", "settings_purge"]
