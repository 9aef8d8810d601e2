"""Find AI marks in a file's headers and combine them into a verdict (pure readers)."""

from provenance.detect.model import SIGNAL_KINDS, AiClass, Signal, Verdict

__all__ = ["SIGNAL_KINDS", "AiClass", "Signal", "Verdict"]
