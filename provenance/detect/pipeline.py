"""Run every signal family over one file's content and combine what they find into a verdict.

The pipeline knows no family: it sniffs the media type, walks the container
(:mod:`provenance.detect.formats.walk`), runs each family of
:data:`provenance.detect.families.FAMILIES` over the same reading, and combines.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from provenance.detect.buffers import Buffer, open_buffer
from provenance.detect.combine import combine
from provenance.detect.families import FAMILIES
from provenance.detect.formats.blocks import Parts
from provenance.detect.formats.sniff import sniff_media_type
from provenance.detect.formats.walk import walk
from provenance.detect.options import Options, PathRule
from provenance.detect.reading import Family, Found, Reading, guard
from provenance.detect.signals import Verdict
from provenance.detect.trust import NO_TRUST, C2paTrust

log = logging.getLogger(__name__)


def detect_file(
    path: Path | str,
    data: Buffer | None = None,
    *,
    deep: bool = False,
    path_rules: Sequence[PathRule] = (),
    sidecar: bool = True,
    c2pa_trust: C2paTrust = NO_TRUST,
    families: Sequence[Family] = FAMILIES,
) -> Verdict:
    """Return the verdict for the file at ``path`` from its headers, sidecar and path.

    ``data`` is the whole content when the caller already holds it (bytes, or an mmap for
    a big file); readers only slice it. Pixels are decoded only with ``deep=True`` (the
    stealth LSB check); ``c2pa_trust`` says whose C2PA signatures are trusted; ``families``
    are the signal families run, in order (all of them unless told). Raises ReadError only
    when the file cannot be read at all; malformed parts are skipped and listed in
    ``Verdict.problems``.
    """
    options = Options(deep=deep, sidecar=sidecar, path_rules=path_rules, trust=c2pa_trust)
    if data is None:
        with open_buffer(Path(path)) as content:
            return _detect(path, content, options, families)
    return _detect(path, data, options, families)


def _detect(
    path: Path | str, data: Buffer, options: Options, families: Sequence[Family]
) -> Verdict:
    media_type = sniff_media_type(data)
    problems: list[str] = [] if len(data) else ["file is empty"]
    parts = guard(problems, "container walk", lambda: walk(data, media_type), Parts())
    problems.extend(parts.problems)
    reading = Reading(path, data, media_type, parts, options, problems=problems)
    nothing: Found = ([], [])
    for family in families:
        found, trouble = guard(problems, family.name, family.read, nothing, reading)
        reading.signals.extend(found)
        problems.extend(trouble)
    for problem in problems:
        log.debug("%s: %s", path, problem)
    return combine(reading.signals, media_type, problems)
