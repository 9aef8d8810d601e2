"""Shared fixtures for the detection tests: the real-sample corpus and a C2PA test signer."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.fixtures_media import SigningIdentity, make_test_signer

#: Real third-party samples live beside the repository, never inside it.
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def corpus_rows() -> list[dict[str, str]]:
    """Return the rows of the corpus MANIFEST.tsv, or none when the corpus is absent."""
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture
def corpus() -> Path:
    if not (CORPUS / "MANIFEST.tsv").is_file():
        pytest.skip(f"real-sample corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def test_signer() -> SigningIdentity:
    return make_test_signer()
