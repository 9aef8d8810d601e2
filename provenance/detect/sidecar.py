"""Read a ``.xmp`` sidecar that sits beside a file (ours or another tool's)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from provenance.detect.model import Signal
from provenance.detect.parts import MAX_BLOCK, Block
from provenance.detect.xmp import parse_xmp, read_xmp_signals

log = logging.getLogger(__name__)


def sidecar_paths(path: Path) -> list[Path]:
    """Return where a sidecar of ``path`` may be: ``NAME.EXT.xmp``, then ``NAME.xmp``."""
    if path.suffix.lower() == ".xmp":
        return []
    return [path.with_name(path.name + ".xmp"), path.with_suffix(".xmp")]


def read_sidecars(path: Path) -> tuple[list[Signal], list[str]]:
    """Return the signals of the XMP sidecars beside ``path`` (kind ``sidecar``).

    A missing or empty sidecar is normal; one that cannot be read or parsed is a problem.
    """
    signals: list[Signal] = []
    problems: list[str] = []
    for candidate in sidecar_paths(path):
        try:
            with candidate.open("rb") as handle:
                data = handle.read(MAX_BLOCK + 1)
        except FileNotFoundError:
            continue
        except OSError as exc:
            problems.append(f"sidecar {candidate.name}: cannot be read ({exc.strerror})")
            continue
        if len(data) > MAX_BLOCK:
            problems.append(f"sidecar {candidate.name}: over the {MAX_BLOCK} byte cap; skipped")
            continue
        if not data.strip():
            continue  # an empty sidecar says nothing (see tagging.sidecar)
        source = f"sidecar {candidate.name}"
        properties, found = parse_xmp(Block(data, source))
        problems.extend(found)
        signals.extend(
            dataclasses.replace(signal, kind="sidecar")
            for signal in read_xmp_signals(properties, source)
        )
    return signals, problems
