"""provenance: track generative-AI assets on production storage."""

__version__ = "0.1.0"
