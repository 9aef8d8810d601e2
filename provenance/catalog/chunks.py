"""Long lists of values asked for in slices: one ``IN (...)`` query each."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

#: Values per ``IN`` list: well under every database's limit on bound parameters (SQLite's
#: was 999 before 3.32), and short enough for the planner to use the index.
IN_CHUNK = 500


def in_chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """Yield ``values`` in slices of at most ``IN_CHUNK``."""
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]
