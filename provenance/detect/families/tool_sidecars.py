"""The tool-sidecars family: the files other tools leave beside an asset, a ``.c2pa``
manifest store and a SwarmUI ``.swarm.json`` parameter file (the XMP sidecar is the
``xmp_sidecar`` family's)."""

from __future__ import annotations

import dataclasses
import logging
import os
import stat
from pathlib import Path

from provenance.detect.buffers import Buffer
from provenance.detect.families.c2pa import read_c2pa
from provenance.detect.families.parameters_text import read_parameters_text
from provenance.detect.formats.blocks import MAX_BLOCK, TextEntry
from provenance.detect.reading import Found, Reading
from provenance.detect.signals import Signal
from provenance.detect.trust import NO_TRUST, C2paTrust

log = logging.getLogger(__name__)

#: Suffixes of the files this module reads; the walk notes them beside each file.
SUFFIXES = (".c2pa", ".swarm.json")


def c2pa_sidecar_paths(path: Path) -> list[Path]:
    """Return where a manifest store of ``path`` may be: ``NAME.c2pa``, then ``NAME.EXT.c2pa``."""
    if path.suffix.lower() == ".c2pa":
        return []
    return [path.with_suffix(".c2pa"), path.with_name(path.name + ".c2pa")]


def swarm_sidecar_paths(path: Path) -> list[Path]:
    """Return where SwarmUI's parameters of ``path`` may be: ``NAME.swarm.json``."""
    if path.name.lower().endswith(".json"):
        return []
    return [path.with_suffix(".swarm.json"), path.with_name(path.name + ".swarm.json")]


def read(reading: Reading) -> Found:
    """The family's entry point: the files beside the file, unless sidecars are off."""
    if not reading.options.sidecar:
        return [], []
    return read_beside(reading.path, reading.data, reading.media_type, reading.options.trust)


def read_beside(
    path: Path, data: Buffer, media_type: str, trust: C2paTrust = NO_TRUST
) -> tuple[list[Signal], list[str]]:
    """Return the signals (kind ``sidecar``) of a ``.c2pa`` or ``.swarm.json`` file beside
    ``path``. Only regular files are opened, none followed through a symlink, none read
    past ``MAX_BLOCK`` bytes."""
    signals: list[Signal] = []
    problems: list[str] = []
    for candidate in dict.fromkeys(c2pa_sidecar_paths(path)):
        manifest = read_small_file(candidate, problems)
        if manifest is None:
            continue
        marker = f"sidecar {candidate.name}"
        found, trouble = read_c2pa(data, media_type, marker, manifest, trust)
        signals.extend(dataclasses.replace(signal, kind="sidecar") for signal in found)
        problems.extend(trouble)
        break
    for candidate in dict.fromkeys(swarm_sidecar_paths(path)):
        content = read_small_file(candidate, problems)
        if content is None:
            continue
        text = content.decode("utf-8", errors="replace")
        entry = TextEntry("parameters", text, f"sidecar {candidate.name}")
        found, trouble = read_parameters_text([entry])
        signals.extend(dataclasses.replace(signal, kind="sidecar") for signal in found)
        problems.extend(trouble)
        break
    return signals, problems


def read_small_file(path: Path, problems: list[str], cap: int = MAX_BLOCK) -> bytes | None:
    """Return the bytes of the regular file at ``path``, or None if it is absent, not a
    regular file (a FIFO, a device, a symlink) or over ``cap`` bytes (a problem then)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        problems.append(f"{path.name}: cannot be read ({exc.strerror})")
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            problems.append(f"{path.name}: not a regular file; not read")
            return None
        if info.st_size > cap:
            problems.append(f"{path.name}: over the {cap} byte cap; skipped")
            return None
        data = os.read(fd, cap + 1)
    except OSError as exc:
        problems.append(f"{path.name}: cannot be read ({exc.strerror})")
        return None
    finally:
        os.close(fd)
    return data if len(data) <= cap else None
