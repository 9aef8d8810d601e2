"""Find AI marks in a file's headers and combine them into a verdict (pure readers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from provenance.detect.combine import combine
from provenance.detect.model import SIGNAL_KINDS, AiClass, Signal, Verdict
from provenance.detect.rules import PathRule, manual_signal
from provenance.detect.sniff import sniff_media_type

if TYPE_CHECKING:
    from provenance.detect.pipeline import detect_file


def __getattr__(name: str) -> Any:
    # The readers (and the C2PA and imaging libraries they load) are imported on first use:
    # the daemon's main process only hands files to workers and need not carry them.
    if name == "detect_file":
        from provenance.detect.pipeline import detect_file

        return detect_file
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SIGNAL_KINDS",
    "AiClass",
    "PathRule",
    "Signal",
    "Verdict",
    "combine",
    "detect_file",
    "manual_signal",
    "sniff_media_type",
]
