"""The XMP-sidecar family: a ``.xmp`` sidecar that sits beside a file (ours or another
tool's), read as the XMP/IPTC family reads an embedded packet."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

from provenance.detect.buffers import NotRegularFileError, open_regular
from provenance.detect.families.xmp_iptc import read_xmp_signals
from provenance.detect.formats.blocks import MAX_BLOCK, Block
from provenance.detect.formats.xmp import parse_xmp
from provenance.detect.reading import Found, Reading
from provenance.detect.signals import Signal

log = logging.getLogger(__name__)

#: Our own tag's namespace (schema/xmp-namespace.md): a sidecar that has its ContentHash was
#: written by provenance for one content, and is evidence about that content only.
_OWN = "http://ns.provenance-tool.org/xmp/1.0/"
_CONTENT_HASH = f"{{{_OWN}}}ContentHash"
_ASSET_ID = f"{{{_OWN}}}AssetId"


def sidecar_paths(path: Path) -> list[Path]:
    """Return where a sidecar of ``path`` may be: ``NAME.EXT.xmp``, then ``NAME.xmp``."""
    if path.suffix.lower() == ".xmp":
        return []
    return [path.with_name(path.name + ".xmp"), path.with_suffix(".xmp")]


def read(reading: Reading) -> Found:
    """The family's entry point: the sidecars beside the file, unless sidecars are off."""
    if not reading.options.sidecar:
        return [], []
    return read_sidecars(reading.path)


def read_sidecars(path: Path) -> tuple[list[Signal], list[str]]:
    """Return the signals of the XMP sidecars beside ``path`` (kind ``sidecar``).

    A missing or empty sidecar is normal; one that cannot be read or parsed is a problem.
    """
    signals: list[Signal] = []
    problems: list[str] = []
    for candidate in sidecar_paths(path):
        try:
            fd, _ = open_regular(candidate)
            with os.fdopen(fd, "rb") as handle:
                data = handle.read(MAX_BLOCK + 1)
        except FileNotFoundError:
            continue
        except NotRegularFileError as exc:
            problems.append(f"sidecar {candidate.name}: {exc.reason}")
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
        bound = _binding(properties, candidate.name)
        signals.extend(
            dataclasses.replace(signal, kind="sidecar", detail={**signal.detail, **bound})
            for signal in read_xmp_signals(properties, source)
        )
    return signals, problems


def _binding(properties: dict[str, list[str]], name: str) -> dict[str, str]:
    """Return the content hash and asset id our own tag was written for ({} if not ours)."""
    content_hash = properties.get(_CONTENT_HASH)
    if not content_hash:
        return {}
    asset_id = properties.get(_ASSET_ID)
    return {
        "content_hash": content_hash[0],
        "asset_id": asset_id[0] if asset_id else "",
        "sidecar": name,
    }
