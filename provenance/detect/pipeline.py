"""Run every reader over one file's content and combine what they find into a verdict."""

from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from provenance.detect.buffers import Buffer, open_buffer
from provenance.detect.combine import combine
from provenance.detect.families.exif import read_exif_signals
from provenance.detect.families.generator_json import read_generator_json
from provenance.detect.families.parameters_text import read_parameters_text
from provenance.detect.families.path_rules import PathRule, read_path_rules
from provenance.detect.families.tool_sidecars import read_beside
from provenance.detect.families.xmp_iptc import read_xmp_signals
from provenance.detect.families.xmp_sidecar import read_sidecars
from provenance.detect.formats import walk
from provenance.detect.formats.blocks import Parts, TextEntry, exif_texts
from provenance.detect.formats.sniff import sniff_media_type
from provenance.detect.formats.xmp import TEXT_FIELDS, parse_xmp
from provenance.detect.signals import Signal, Verdict
from provenance.detect.trust import NO_TRUST, C2paTrust

log = logging.getLogger(__name__)

T = TypeVar("T")
_Found = tuple[list[Signal], list[str]]
#: What a malformed part can make a reader raise. Each is caught per reader, recorded as a
#: problem, and the other readers go on; anything else is a bug and propagates.
_MALFORMED = (
    ValueError,
    struct.error,
    zlib.error,
    IndexError,
    KeyError,
    TypeError,
    OverflowError,
    RecursionError,
    EOFError,
    UnicodeError,
)


def detect_file(
    path: Path | str,
    data: Buffer | None = None,
    *,
    deep: bool = False,
    path_rules: Sequence[PathRule] = (),
    sidecar: bool = True,
    c2pa_trust: C2paTrust = NO_TRUST,
) -> Verdict:
    """Return the verdict for the file at ``path`` from its headers, sidecar and path.

    ``data`` is the whole content when the caller already holds it (bytes, or an mmap for
    a big file); readers only slice it. Pixels are decoded only with ``deep=True`` (the
    stealth LSB check); ``c2pa_trust`` says whose C2PA signatures are trusted. Raises
    ReadError only when the file cannot be read at all; malformed parts are skipped and
    listed in ``Verdict.problems``.
    """
    if data is None:
        with open_buffer(Path(path)) as content:
            return _detect(path, content, deep, path_rules, sidecar, c2pa_trust)
    return _detect(path, data, deep, path_rules, sidecar, c2pa_trust)


def _detect(
    path: Path | str,
    data: Buffer,
    deep: bool,
    path_rules: Sequence[PathRule],
    sidecar: bool,
    trust: C2paTrust,
) -> Verdict:
    media_type = sniff_media_type(data)
    problems: list[str] = [] if len(data) else ["file is empty"]
    signals: list[Signal] = []
    parts = _guard(problems, "container walk", lambda: walk(data, media_type), Parts())
    problems.extend(parts.problems)
    if parts.c2pa_marker is not None:
        # the C2PA library (and Pillow, below) load on first use: few files need them, and
        # each worker process would pay for them at its start
        from provenance.detect.families.c2pa import read_c2pa

        marker = parts.c2pa_marker
        before = len(problems)
        empty: _Found = ([], [])
        found, trouble = _guard(
            problems, "C2PA", lambda: read_c2pa(data, media_type, marker, None, trust), empty
        )
        signals.extend(found)
        problems.extend(trouble)
        if not found and len(problems) > before:
            # a manifest is there and cannot be read: evidence for a person, not nothing
            signals.append(_unreadable_mark("c2pa", marker, problems[-1]))
    texts = list(parts.texts)
    for block in parts.xmp:
        properties, trouble = parse_xmp(block)
        problems.extend(trouble)
        signals.extend(read_xmp_signals(properties, block.source))
        texts.extend(
            TextEntry(
                "UserComment" if name.endswith("UserComment") else "Description",
                values[0],
                f"{block.source} {label}",
            )
            for name, label in TEXT_FIELDS.items()
            if (values := properties.get(name))
        )
    for exif in parts.exif:
        signals.extend(read_exif_signals(exif))
        texts.extend(exif_texts(exif))
    if deep and parts.over_cap:
        problems.append("stealth: pixels not decoded (the file is over its metadata caps)")
    elif deep and media_type in ("image/png", "image/webp", "image/tiff"):
        from provenance.detect.families.stealth import read_stealth

        nothing: tuple[list[TextEntry], list[str]] = ([], [])
        hidden, trouble = _guard(problems, "stealth", lambda: read_stealth(data), nothing)
        problems.extend(trouble)
        signals.extend(_as_watermark(hidden, problems))
    no_found: _Found = ([], [])
    if texts:
        no_text: _Found = ([], [])
        found, trouble = _guard(problems, "SD text", lambda: read_parameters_text(texts), no_text)
        signals.extend(found)
        problems.extend(trouble)
        known = [signal.source for signal in found]
        found, trouble = _guard(
            problems, "generator JSON", lambda: read_generator_json(texts, known), no_text
        )
        signals.extend(found)
        problems.extend(problem for problem in trouble if problem not in problems)
    if sidecar:
        found, trouble = read_sidecars(Path(path))
        signals.extend(found)
        problems.extend(trouble)
        found, trouble = _guard(
            problems,
            "sidecar",
            lambda: read_beside(Path(path), data, media_type, trust),
            no_found,
        )
        signals.extend(found)
        problems.extend(trouble)
    if path_rules:
        signals.extend(read_path_rules(Path(path), path_rules))
    for problem in problems:
        log.debug("%s: %s", path, problem)
    return combine(signals, media_type, problems)


def _unreadable_mark(kind: str, where: str, problem: str) -> Signal:
    """The signal of a mark that is present but cannot be read (class ``suspect``)."""
    return Signal(
        kind=kind,
        ai_class="suspect",
        confidence=0.5,
        source=where,
        detail={"unreadable": problem[:300]},
    )


def _as_watermark(hidden: list[TextEntry], problems: list[str]) -> list[Signal]:
    """Read LSB-hidden text with the parameters-text family and label its signals ``watermark``."""
    if not hidden:
        return []
    found, trouble = read_parameters_text(hidden)
    problems.extend(trouble)
    if not found:
        return [Signal(kind="watermark", ai_class="ai", confidence=0.9, source=hidden[0].source)]
    return [
        Signal(
            kind="watermark",
            ai_class=signal.ai_class,
            generator=signal.generator,
            family=signal.family,
            model=signal.model,
            prompt=signal.prompt,
            parameters=signal.parameters,
            confidence=0.9,
            source=hidden[0].source,
        )
        for signal in found
    ]


def _guard(problems: list[str], what: str, read: Callable[[], T], fallback: T) -> T:
    """Run one reader; a malformed part becomes a problem and the fallback value."""
    try:
        return read()
    except _MALFORMED as exc:
        log.debug("%s reader failed", what, exc_info=True)
        problems.append(f"{what}: skipped malformed data ({type(exc).__name__}: {exc})"[:300])
        return fallback
