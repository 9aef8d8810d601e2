"""Combine a file's signals into one verdict: class, generator, model, prompt, confidence;
and bind a verdict to its content (our sidecars written for other content are no evidence)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence

from provenance.detect.signals import AiClass, Signal, Verdict

log = logging.getLogger(__name__)

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
    family, model and prompt come from the strongest signal of the winning class (in the
    order of ``families.SIGNAL_KINDS``; a manual tag, a person's word, before any), gaps
    filled from the next ones; a signal whose family another winning signal refines
    (``REFINES``) comes after all the others. Confidence is that of independent evidence:
    ``1 - prod(1 - c)`` over the winning signals.
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


@functools.lru_cache(maxsize=64)
def _kind_rank(kind: str) -> int:
    """The place of ``kind`` in ``families.SIGNAL_KINDS``, strongest first (an unknown kind
    last). Asked when a verdict is combined: the families' modules are loaded then (a
    worker's readers), not by every importer of this module (the daemon's main process)."""
    from provenance.detect.families import SIGNAL_KINDS

    return SIGNAL_KINDS.index(kind) if kind in SIGNAL_KINDS else len(SIGNAL_KINDS)


def _first(values: Iterable[str | None]) -> str | None:
    return next((value for value in values if value), None)


# --- a verdict bound to its content -------------------------------------------------------


def _stale_signals(verdict: Verdict, content_hash: str) -> list[Signal]:
    return [
        signal
        for signal in verdict.signals
        if signal.kind == "sidecar"
        and signal.detail.get("content_hash") not in (None, content_hash)
    ]


def stale_sidecars(verdict: Verdict, content_hash: str) -> tuple[str, ...]:
    """Return the names of our own sidecars (the XMP-sidecar family's signals) in ``verdict``
    written for other content than ``content_hash`` (what ``bind_sidecars`` drops), for the
    scan to report."""
    return tuple(sorted({s.detail["sidecar"] for s in _stale_signals(verdict, content_hash)}))


def bind_sidecars(verdict: Verdict, content_hash: str) -> Verdict:
    """Return ``verdict`` without the evidence of our own sidecars written for other content.

    A sidecar provenance wrote records the content hash of its file. When the file beside
    it now holds other bytes (a new file saved under an old AI file's name, or the AI file
    edited), that sidecar says nothing about it: its signals are dropped and a problem
    names it. Other tools' sidecars carry no binding and are kept.
    """
    stale = _stale_signals(verdict, content_hash)
    if not stale:
        return verdict
    problems = list(verdict.problems)
    for name, recorded in {s.detail["sidecar"]: s.detail["content_hash"] for s in stale}.items():
        problems.append(
            f"sidecar {name}: written for other content ({recorded[:24]}...), not this"
            " file's; ignored as evidence (left over from a renamed or replaced file?)"
        )
    dropped = {id(signal) for signal in stale}
    kept = [signal for signal in verdict.signals if id(signal) not in dropped]
    return combine(kept, verdict.media_type, problems)
