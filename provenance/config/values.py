"""Kinds of setting value that several sections share."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator


def _empty_is_unset(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


#: A file or folder that may be left unset: ``""`` (as config.example.toml shows it) means
#: the default, never the current folder.
OptionalPath = Annotated[Path | None, BeforeValidator(_empty_is_unset)]


def read_secret(env: str, file: Path | None, key: str) -> str | None:
    """Return the secret a setting pair names: the environment variable ``env`` (when set),
    else the first line of ``file``; None when neither is given. ``key`` is the settings'
    place (``report.smtp.password``) the ValueError names when the secret cannot be read; the
    message never holds the secret."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise ValueError(f"{key}_env: ${env} is not set")
        return value
    if file is not None:
        try:
            lines = file.expanduser().read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValueError(f"{key}_file: cannot read {file}: {exc.strerror or exc}") from exc
        return lines[0] if lines else ""
    return None
