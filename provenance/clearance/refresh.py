"""Keep the stored risk columns in step with the rules and tools registry when they change.

The columns (``risk``, ``risk_rules``, ``tool_status``, ``tool_name``) are written at ingest,
tag and clear. When the rule set or the registry changes, their fingerprint differs from the
one stored in the catalog, and every AI asset still in the lifecycle is assessed again. The
fixity job does this before its check, so the weekly report reads current values.
"""

from __future__ import annotations

import hashlib
import json
import logging

from provenance.catalog import Catalog
from provenance.catalog.chunks import in_chunks
from provenance.catalog.clearance import uncleared_ids
from provenance.catalog.lifecycle import get_meta, set_meta
from provenance.clearance.policy import ClearancePolicy

log = logging.getLogger(__name__)

FINGERPRINT_KEY = "clearance_fingerprint"
#: How the columns are computed; a new value has every stored risk assessed again (2: judged
#: as a clearance judges it, final unless another use is declared, as ``show`` says it).
ASSESSMENT_VERSION = 2


def policy_fingerprint(policy: ClearancePolicy) -> str:
    """Return a short hash of the rules and tools (what the risk columns depend on)."""
    body = json.dumps(
        {
            "assessment": ASSESSMENT_VERSION,
            "rules": [rule.model_dump(mode="json") for rule in policy.rules.rules],
            "tools": [tool.model_dump(mode="json") for tool in policy.tools],
        },
        sort_keys=True,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def refresh_risk(catalog: Catalog, policy: ClearancePolicy, *, force: bool = False) -> int:
    """Assess uncleared AI assets again if the rules or tools changed; return how many changed."""
    stamp = policy_fingerprint(policy)
    with catalog.write() as tx:
        if not force and get_meta(tx, FINGERPRINT_KEY) == stamp:
            return 0
        changed = 0
        ids = uncleared_ids(tx)
        for page in in_chunks(ids):  # a page at a time: never all of them loaded
            for asset in tx.assets_by_ids(page).values():
                columns = policy.columns(asset.ai_class, asset.generator, asset.family, asset.facts)
                if any(getattr(asset, name) != value for name, value in columns.items()):
                    for name, value in columns.items():
                        setattr(asset, name, value)
                    changed += 1
            tx.let_go()
        set_meta(tx, FINGERPRINT_KEY, stamp)
    if changed:
        log.info("clearance rules or tools changed: %d assets assessed again", changed)
    return changed
