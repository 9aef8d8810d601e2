"""Notify fixtures: a real local HTTP receiver, and the retention fixtures (a real root and
catalog of each backend)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notify.receiver import Receiver
from tests.retention.helpers import make_asset, root

__all__ = ["make_asset", "root"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()
