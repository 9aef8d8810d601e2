"""Clearance fixtures: a production root with one AI file and one plain file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import write_a1111_png, write_plain_png


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "show_a"
    write_a1111_png(folder / "finals" / "poster.png")
    write_plain_png(folder / "plates" / "plate.png")
    return folder
