"""Find AI marks in a file's headers and combine them into a verdict (pure readers)."""

from provenance.detect.combine import combine
from provenance.detect.model import SIGNAL_KINDS, AiClass, Signal, Verdict
from provenance.detect.pipeline import detect_file
from provenance.detect.rules import PathRule, manual_signal
from provenance.detect.sniff import sniff_media_type

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
