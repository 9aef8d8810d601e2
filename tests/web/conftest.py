"""The served review queue, signed in to through PAM or through a proxy's trusted header."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.osusers import OsAccounts, accounts
from tests.web.site import Site, make_site

__all__ = ["accounts"]

#: The address the tests' "proxy" sends from (any loopback address is this machine).
PROXY = "127.0.0.2"


@pytest.fixture
def pam_site(accounts: OsAccounts, tmp_path: Path) -> Iterator[Site]:
    yield from make_site(accounts, tmp_path, 'auth = "pam"\npam_service = "login"')


@pytest.fixture
def header_site(accounts: OsAccounts, tmp_path: Path) -> Iterator[Site]:
    yield from make_site(
        accounts,
        tmp_path,
        f'auth = "header"\ntrusted_header = "X-Remote-User"\ntrusted_proxies = ["{PROXY}"]',
    )
