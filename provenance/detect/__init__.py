"""Find AI marks in a file's headers and combine them into a verdict (pure readers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance import lazy_exports
from provenance.detect.combine import combine
from provenance.detect.formats.sniff import sniff_media_type
from provenance.detect.manual import manual_signal
from provenance.detect.options import PathRule
from provenance.detect.signals import AiClass, Signal, Verdict

if TYPE_CHECKING:
    from provenance.detect.families import SIGNAL_KINDS
    from provenance.detect.pipeline import detect_file


# The readers (and the C2PA and imaging libraries they load) are imported on first use:
# the daemon's main process only hands files to workers and need not carry them.
__getattr__ = lazy_exports(
    __name__,
    {"detect_file": "provenance.detect.pipeline", "SIGNAL_KINDS": "provenance.detect.families"},
)


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
