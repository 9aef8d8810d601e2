"""Prompt privacy (POLICY-RULES 4.5, NFX-DU1): what of a prompt the catalog may keep (pure).

``redact_prompt`` returns the text to store and the SHA-256 of the raw prompt:

- ``full``: the prompt as found;
- ``redacted`` (the default): e-mail addresses, phone numbers and configured names are
  replaced by typed tokens (``[EMAIL]``, ``[PHONE]``, ``[NAME]``);
- ``hash``: no text, only the hash (proves which prompt it was without keeping it);
- ``none``: neither.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

MODES = ("full", "redacted", "hash", "none")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# a country code or an area code in brackets or followed by a separator, then two groups:
# "+44 20 7946 0958", "(555) 123-4567", "555-123-4567"; not "1024x768" or a bare seed
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}(?!\w)"
)


@lru_cache(maxsize=32)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = sorted({name.strip() for name in names if name.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    alternatives = "|".join(re.escape(name) for name in cleaned)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def prompt_sha256(text: str) -> str:
    """Return the hex SHA-256 of a prompt's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def redact_text(text: str, names: Sequence[str] = ()) -> str:
    """Return ``text`` with e-mails, phone numbers and ``names`` replaced by typed tokens."""
    text = _EMAIL.sub("[EMAIL]", text)
    text = _PHONE.sub("[PHONE]", text)
    pattern = _names_pattern(tuple(names))
    return pattern.sub("[NAME]", text) if pattern is not None else text


def redact_prompt(
    text: str | None, mode: str, names: Sequence[str] = ()
) -> tuple[str | None, str | None]:
    """Return (text to store, SHA-256 of the raw prompt) for ``mode``; (None, None) for no prompt.

    Raises ValueError for an unknown mode.
    """
    if mode not in MODES:
        raise ValueError(f"unknown prompt storage {mode!r} (use one of {', '.join(MODES)})")
    if text is None or text == "":
        return text, None
    digest = prompt_sha256(text)
    if mode == "full":
        return text, digest
    if mode == "redacted":
        return redact_text(text, names), digest
    if mode == "hash":
        return None, digest
    return None, None


def redact_parameters(
    parameters: Mapping[str, Any], mode: str, names: Sequence[str] = ()
) -> dict[str, Any]:
    """Return signal parameters with every prompt-like text value (``negative_prompt``) treated
    as the prompt is; other values are kept."""
    result: dict[str, Any] = {}
    for key, value in parameters.items():
        if "prompt" in key.lower() and isinstance(value, str):
            stored, _digest = redact_prompt(value, mode, names)
            if stored is not None:
                result[key] = stored
        else:
            result[key] = value
    return result
