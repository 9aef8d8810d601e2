"""Lifecycle fixtures: real assets under a real root (shared with the retention tests)."""

from tests.retention.helpers import make_asset, root

__all__ = ["make_asset", "root"]
