"""A digest of everything besides a file's bytes that decides its verdict: the detectors'
version, the packaged generator tables, ``deep``, sidecars, path rules and C2PA trust. A scan
records it per root; when it differs, the root's files are read again (no rebuild)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence

from provenance.detect.families import DETECTORS_VERSION
from provenance.detect.families.c2pa_claims import table_digest
from provenance.detect.options import PathRule
from provenance.detect.trust import NO_TRUST, C2paTrust

log = logging.getLogger(__name__)


def detection_fingerprint(
    *,
    deep: bool,
    sidecars: bool,
    path_rules: Sequence[PathRule],
    c2pa_trust: C2paTrust = NO_TRUST,
) -> str:
    """Return a short, stable digest of the detection settings and tables.

    Example: the same settings give the same digest in every process; adding a path rule,
    turning ``deep`` on or editing ``c2pa-generators.toml`` gives another.
    """
    facts = {
        "detectors": DETECTORS_VERSION,
        "c2pa_claims": table_digest(),
        "deep": deep,
        "sidecars": sidecars,
        "path_rules": [[rule.glob, rule.tool, rule.model] for rule in path_rules],
        "c2pa_trust": c2pa_trust.digest(),
    }
    encoded = json.dumps(facts, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]
