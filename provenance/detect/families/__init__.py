"""Signal families: one module per kind of AI mark, each with one entry point,
``read(reading) -> (signals, problems)`` (see :mod:`provenance.detect.reading`).

``FAMILIES`` is the one list of them; the pipeline runs them in this order, each seeing the
signals and problems of those before it. A new family is a module with a ``read`` and one
line here (and a raise of ``fingerprint.DETECTORS_VERSION``, so that files already judged
are read again). A family's name labels the problem of a part it could not read.
"""

from __future__ import annotations

from provenance.detect.families import (
    c2pa,
    exif,
    generator_json,
    parameters_text,
    path_rules,
    stealth,
    tool_sidecars,
    xmp_iptc,
    xmp_sidecar,
)
from provenance.detect.reading import Family

FAMILIES: tuple[Family, ...] = (
    Family("C2PA", c2pa.read),  # an embedded manifest store
    Family("XMP", xmp_iptc.read),  # IPTC digital source type, generator tool fields
    Family("EXIF", exif.read),  # a generator named in Software, Make, Model
    Family("stealth", stealth.read),  # text hidden in pixel LSBs (deep only)
    Family("SD text", parameters_text.read),  # A1111-style parameters, the SD UIs' JSON
    Family("generator JSON", generator_json.read),  # other generators' JSON (after SD text)
    Family("XMP sidecar", xmp_sidecar.read),  # NAME.xmp beside the file
    Family("sidecar", tool_sidecars.read),  # NAME.c2pa, NAME.swarm.json beside the file
    Family("path rules", path_rules.read),  # configured globs
)

__all__ = ["FAMILIES"]
