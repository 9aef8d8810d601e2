"""What a test needs from the machine, and what happens when it is missing.

On a developer's machine a test whose requirement is missing (root, PostgreSQL, chromium,
exiftool, the real-sample corpus, mount(8)) is skipped with the reason and the fix. In CI
(``CI`` set, as ``.ci/run`` runs there) it fails instead: CI has all of these, so a skip
there would only hide a test that never ran.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Skip the running test with ``reason``; in CI, fail it with the same reason."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test, but: {reason}", pytrace=False)
    pytest.skip(reason)
