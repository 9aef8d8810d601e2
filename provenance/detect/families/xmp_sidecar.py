"""The XMP-sidecar family: a ``.xmp`` sidecar that sits beside a file (ours or another
tool's), read as the XMP/IPTC family reads an embedded packet."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

from provenance.detect.buffers import NotRegularFileError, open_regular
from provenance.detect.combine import combine
from provenance.detect.families.xmp_iptc import read_xmp_signals
from provenance.detect.formats.blocks import MAX_BLOCK, Block
from provenance.detect.formats.xmp import parse_xmp
from provenance.detect.reading import Found, Reading
from provenance.detect.signals import Signal, Verdict

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


def _stale_signals(verdict: Verdict, content_hash: str) -> list[Signal]:
    return [
        signal
        for signal in verdict.signals
        if signal.kind == "sidecar"
        and signal.detail.get("content_hash") not in (None, content_hash)
    ]


def stale_sidecars(verdict: Verdict, content_hash: str) -> tuple[str, ...]:
    """Return the names of our own sidecars in ``verdict`` written for other content than
    ``content_hash`` (what ``bind_sidecars`` drops), for the scan to report."""
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
