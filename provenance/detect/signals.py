"""Values every detector returns: one Signal per mark found, one Verdict per file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

#: ``suspect``: a mark is there but cannot be read (a C2PA manifest that does not parse):
#: not a verdict of AI, but evidence a person must look at (the asset stays uncleared).
AiClass = Literal["ai", "partial", "suspect", "none"]


@dataclass(frozen=True)
class Signal:
    """One mark found in or beside a file, and what it says about AI generation.

    ``family`` is a stable key for the generator family (``a1111``, ``comfyui``, ``invokeai``,
    ``novelai``, ``fooocus``, ``swarmui``, ``drawthings``, ``civitai``, ``openai``, ``google``,
    ``adobe``, ``microsoft``, ...); ``generator`` is the human name as the file states it.
    ``source`` says where the mark was found, e.g. ``"PNG tEXt 'parameters'"``.
    ``detail`` holds facts that are not the verdict, e.g. ``{"signature_valid": False}``.
    """

    kind: str
    ai_class: AiClass
    generator: str | None = None
    family: str | None = None
    model: str | None = None
    prompt: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    confidence: float = 1.0
    source: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


def unreadable_mark(kind: str, where: str, problem: str) -> Signal:
    """The signal of a mark that is present but cannot be read (class ``suspect``)."""
    return Signal(
        kind=kind,
        ai_class="suspect",
        confidence=0.5,
        source=where,
        detail={"unreadable": problem[:300]},
    )


@dataclass(frozen=True)
class Verdict:
    """The combined reading of a file's signals.

    ``ai_class`` is ``"ai"`` (generated), ``"partial"`` (a composite or an AI edit step),
    ``"suspect"`` (a mark present but unreadable) or ``"none"``; ``media_type`` is sniffed
    from the file's magic bytes, not its name.
    """

    ai_class: AiClass
    media_type: str
    generator: str | None = None
    family: str | None = None
    model: str | None = None
    prompt: str | None = None
    confidence: float = 0.0
    signals: tuple[Signal, ...] = ()
    #: Parts of the file that were skipped, each a one-line reason (logged by the caller).
    problems: tuple[str, ...] = ()

    @property
    def is_ai(self) -> bool:
        return self.ai_class != "none"
