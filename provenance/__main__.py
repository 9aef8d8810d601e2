"""Run the command line as ``python -m provenance``."""

from provenance.cli import run

run()
