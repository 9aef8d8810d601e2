"""Combine a file's signals into one verdict: class, generator, model, prompt, confidence."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence

from provenance.detect.signals import AiClass, Signal, Verdict

log = logging.getLogger(__name__)

#: Which signal names the generator when several agree on the class, strongest first:
#: a signed manifest, then a generator's own parameters, then standard and tool fields,
#: then what sits beside the file, then configuration. A manual tag is a person's word and
#: overrides the naming (not the class) whenever it is present.
KIND_ORDER = ("c2pa", "sd-text", "watermark", "xmp-iptc", "exif", "sidecar", "path-rule")
_RANK: dict[AiClass, int] = {"none": 0, "suspect": 1, "partial": 2, "ai": 3}
#: Generators built on another one: family -> the families it runs on or forks. When marks
#: of both agree on the class, the more specific one names the file, whatever its kind
#: (SwarmUI drives ComfyUI and its files carry both a SwarmUI block and a ComfyUI graph;
#: Civitai's generator runs A1111- and ComfyUI-style pipelines; RuinedFooocus forks
#: Fooocus; Forge and SD.Next report themselves as A1111 text).
REFINES: dict[str, tuple[str, ...]] = {
    "swarmui": ("comfyui",),
    "civitai": ("a1111", "comfyui"),
    "ruinedfooocus": ("fooocus",),
    "invokeai": ("stability",),
    "a1111": ("stability",),
    "comfyui": ("stability",),
    "fooocus": ("stability",),
}


def combine(signals: Iterable[Signal], media_type: str, problems: Sequence[str] = ()) -> Verdict:
    """Return the verdict of a file's signals.

    Any ``ai`` signal makes the file ``ai``; else any ``partial`` makes it ``partial``; else
    any ``suspect`` (an unreadable mark) makes it ``suspect``; else ``none``. The generator,
    family, model and prompt come from the strongest signal of the winning class
    (``KIND_ORDER``), gaps filled from the next ones; a signal whose family another winning
    signal refines (``REFINES``) comes after all the others. Confidence is that of
    independent evidence: ``1 - prod(1 - c)`` over the winning signals.
    """
    signals = tuple(signals)
    if not signals and not problems:
        return _plain(media_type)
    ai_class: AiClass = max((s.ai_class for s in signals), key=_RANK.__getitem__, default="none")
    if ai_class == "none":
        return Verdict(
            ai_class="none", media_type=media_type, signals=signals, problems=tuple(problems)
        )
    agreeing = [s for s in signals if s.ai_class == ai_class and s.kind != "manual"]
    refined = {base for s in agreeing for base in REFINES.get(s.family or "", ())}
    winners = sorted(
        agreeing, key=lambda s: (s.family in refined, _kind_rank(s.kind), -s.confidence)
    )
    manual = [s for s in signals if s.kind == "manual"]
    ordered = manual + winners
    doubt = 1.0
    for signal in ordered:
        doubt *= 1.0 - max(0.0, min(1.0, signal.confidence))
    return Verdict(
        ai_class=ai_class,
        media_type=media_type,
        generator=_first(s.generator for s in ordered),
        family=_first(s.family for s in ordered),
        model=_first(s.model for s in ordered),
        prompt=_first(s.prompt for s in ordered),
        confidence=round(1.0 - doubt, 4),
        signals=signals,
        problems=tuple(problems),
    )


@functools.lru_cache(maxsize=64)
def _plain(media_type: str) -> Verdict:
    """The verdict of a file with no mark and no problem, one per media type: most files of a
    scan share it, and a worker's chunk of results then pickles it once (a frozen value)."""
    return Verdict(ai_class="none", media_type=media_type)


def _kind_rank(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def _first(values: Iterable[str | None]) -> str | None:
    return next((value for value in values if value), None)
