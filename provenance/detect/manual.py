"""The signal of a person's tag (``provenance tag``): no reader finds it, a person states it."""

from __future__ import annotations

from provenance.detect.signals import Signal
from provenance.detect.vocab import family_of


def manual_signal(tool: str, model: str | None = None, prompt: str | None = None) -> Signal:
    """Return the signal of a person's tag (``provenance tag``): AI output of ``tool``."""
    return Signal(
        kind="manual",
        ai_class="ai",
        generator=tool,
        family=family_of(tool),
        model=model,
        prompt=prompt,
        confidence=1.0,
        source="manual tag",
    )
