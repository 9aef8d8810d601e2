"""Signal families: one module per kind of AI mark, each with one entry point,
``read(reading) -> (signals, problems)`` (see :mod:`provenance.detect.reading`).

``FAMILIES`` is the one list of them; the pipeline runs them in this order, each seeing the
signals and problems of those before it. A new family is a module with a ``read`` and one
line here, its signals' kind in ``SIGNAL_KINDS`` when it is a new one (and in
``schema/provenance-record.schema.json``), and a raise of ``DETECTORS_VERSION``, so that
files already judged are read again. A family's name labels the problem of a part it could
not read.
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

#: Raised whenever a reader (a format walker or a family) learns to see a mark it did not
#: see before, so that files a scan already judged are judged again by the new readers
#: (``fingerprint.detection_fingerprint``).
DETECTORS_VERSION = 7

#: The signal kinds, as stored in the catalog and written to JSON, in the order a verdict
#: trusts them to name the generator when several agree on the class, strongest first
#: (``combine``): a signed manifest, then a generator's own parameters, then standard and
#: tool fields, then what sits beside the file, then configuration. A manual tag is a
#: person's word and names the file whenever it is present (not by this order).
SIGNAL_KINDS: tuple[str, ...] = (
    "c2pa",  # C2PA manifest (embedded)
    "sd-text",  # Stable Diffusion family text (PNG chunks, EXIF UserComment)
    "watermark",  # data hidden in pixels (deep check only)
    "xmp-iptc",  # IPTC DigitalSourceType or a generator's XMP fields
    "exif",  # EXIF Software / Make (or an OpenEXR, DPX, MXF tool field) naming a generator
    "sidecar",  # a .xmp sidecar beside the file
    "path-rule",  # a configured path glob
    "manual",  # `provenance tag`
)

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

__all__ = ["DETECTORS_VERSION", "FAMILIES", "SIGNAL_KINDS"]
