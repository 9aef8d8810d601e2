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


def _replace_emails(text: str) -> str:
    """Return ``text`` with each ``local@domain.tld`` replaced by ``[EMAIL]``.

    Found from each ``@`` outwards, in time linear in the text: a prompt is the file's, and
    the pattern ``[\\w.+-]+@...`` took minutes on a long run of letters with no ``@``.
    The local part is the run of word characters, dots, pluses and hyphens before the
    ``@``; the domain two or more dot-separated labels of word characters and hyphens.
    """
    if "@" not in text:
        return text
    out: list[str] = []
    done = 0  # text[:done] is in ``out``
    at = text.find("@")
    while at >= 0:
        start = at
        while start > done and _is_local(text[start - 1]):
            start -= 1
        end = _domain_end(text, at + 1)
        if start < at and end > at + 1:
            out.append(text[done:start])
            out.append("[EMAIL]")
            done = end
        at = text.find("@", max(at + 1, done))
    out.append(text[done:])
    return "".join(out)


def _is_local(character: str) -> bool:
    return character.isalnum() or character in "_.+-"


def _domain_end(text: str, start: int) -> int:
    """Where a domain of two or more labels starting at ``start`` ends; ``start`` if none."""
    labels, position, end = 0, start, start
    while True:
        label_end = position
        while label_end < len(text) and (text[label_end].isalnum() or text[label_end] in "_-"):
            label_end += 1
        if label_end == position:
            break
        labels += 1
        if labels >= 2:
            end = label_end
        if label_end < len(text) and text[label_end] == ".":
            position = label_end + 1
        else:
            break
    return end


def redact_text(text: str, names: Sequence[str] = ()) -> str:
    """Return ``text`` with e-mails, phone numbers and ``names`` replaced by typed tokens."""
    text = _replace_emails(text)
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
