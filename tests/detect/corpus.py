"""Where the shared real-sample corpus lives, and its MANIFEST.tsv rows."""

from __future__ import annotations

import csv
from pathlib import Path

#: Real third-party samples live beside the repository, never inside it.
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def corpus_rows() -> list[dict[str, str]]:
    """Return the rows of the corpus MANIFEST.tsv, or none when the corpus is absent."""
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))
