"""Kinds of setting value that several sections share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator


def _empty_is_unset(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


#: A file or folder that may be left unset: ``""`` (as config.example.toml shows it) means
#: the default, never the current folder.
OptionalPath = Annotated[Path | None, BeforeValidator(_empty_is_unset)]
