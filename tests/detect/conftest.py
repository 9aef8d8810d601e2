"""Shared fixtures for the detection tests: the real-sample corpus and a C2PA test signer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.detect.corpus import CORPUS
from tests.fixtures_media import SigningIdentity, make_test_signer
from tests.needs import unavailable


@pytest.fixture
def corpus() -> Path:
    if not (CORPUS / "MANIFEST.tsv").is_file():
        unavailable(f"real-sample corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def test_signer() -> SigningIdentity:
    return make_test_signer()
