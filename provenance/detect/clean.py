"""Make a verdict's values safe for every catalog backend: no NUL, no lone surrogate, no
value so big it fails a row (each is cut, with a marker saying so).

A file's text is the file's: a NUL in a prompt made PostgreSQL refuse every batch holding
it ("text fields cannot contain NUL"), forever. Readers keep what they found; this runs
once on the verdict, in the worker, before it goes anywhere.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from provenance.detect.signals import Signal, Verdict

#: Characters kept of a name (generator, model, source, a parameter's key).
MAX_NAME = 1024
#: Characters kept of a prompt or a parameter's text.
MAX_TEXT = 64 * 1024
#: Items kept of a list or mapping in parameters or detail, and how deep they may nest.
MAX_ITEMS = 256
MAX_DEPTH = 16
_SURROGATE = re.compile("[\ud800-\udfff]")  # one character each: linear
#: Appended where a value was cut.
CUT = " [...cut]"


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """Return ``text`` without NUL or lone surrogates (each becomes U+FFFD), cut to
    ``limit`` characters with ``CUT`` at the end.

    Example: ``"a\\x00b"`` -> ``"a\\ufffdb"``.
    """
    if len(text) > limit:
        text = text[: limit - len(CUT)] + CUT
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _SURROGATE.sub("\ufffd", text)
    return text


def _clean_optional(text: str | None, limit: int) -> str | None:
    return None if text is None else clean_text(text, limit)


def clean_value(value: Any, depth: int = 0) -> Any:
    """Return a JSON-like value with every string cleaned and its size bounded."""
    if isinstance(value, str):
        return clean_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= MAX_DEPTH:
        return CUT.strip()
    if isinstance(value, Mapping):
        items = list(value.items())[:MAX_ITEMS]
        return {clean_text(str(key), MAX_NAME): clean_value(item, depth + 1) for key, item in items}
    if isinstance(value, Sequence | set | frozenset):
        items = [clean_value(item, depth + 1) for item in list(value)[:MAX_ITEMS]]
        return tuple(items) if isinstance(value, tuple) else items
    return clean_text(str(value))


class _Naming(TypedDict):
    generator: str | None
    family: str | None
    model: str | None
    prompt: str | None


def _clean_naming(found: Signal | Verdict) -> _Naming:
    """The generator, family, model and prompt of a signal or verdict, cleaned."""
    return {
        "generator": _clean_optional(found.generator, MAX_NAME),
        "family": _clean_optional(found.family, MAX_NAME),
        "model": _clean_optional(found.model, MAX_NAME),
        "prompt": _clean_optional(found.prompt, MAX_TEXT),
    }


def clean_signal(signal: Signal) -> Signal:
    return dataclasses.replace(
        signal,
        **_clean_naming(signal),
        kind=clean_text(signal.kind, MAX_NAME),
        parameters=clean_value(dict(signal.parameters)),
        source=clean_text(signal.source, MAX_NAME),
        detail=clean_value(dict(signal.detail)),
    )


def clean_verdict(verdict: Verdict) -> Verdict:
    """Return ``verdict`` with every text value safe for the catalog (see ``clean_text``)."""
    if (
        not verdict.signals
        and not verdict.problems
        and verdict.generator is None
        and verdict.family is None
        and verdict.model is None
        and verdict.prompt is None
        and clean_text(verdict.media_type, MAX_NAME) is verdict.media_type
    ):
        return verdict  # nothing found and a clean media type (most files): nothing to clean
    return dataclasses.replace(
        verdict,
        **_clean_naming(verdict),
        media_type=clean_text(verdict.media_type, MAX_NAME),
        signals=tuple(clean_signal(signal) for signal in verdict.signals),
        problems=tuple(clean_text(problem, MAX_NAME) for problem in verdict.problems[:100]),
    )
