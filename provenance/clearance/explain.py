"""What `show` and `uncleared` say about an asset's clearance: risk, rules, evidence (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provenance.catalog import Asset, Clearance, Event, SignalRow
from provenance.clearance.assess import (
    Assessment,
    Evidence,
    Facts,
    Needed,
    ToolInfo,
    missing,
    needed,
)
from provenance.clearance.policy import ClearancePolicy
from provenance.report.render_text import iso

#: Signal kinds that are a machine-readable AI mark inside the file itself (not a sidecar).
LABEL_KINDS = ("c2pa", "xmp-iptc")


def is_labelled(signals: Sequence[SignalRow]) -> bool:
    """Return whether the file itself carries a C2PA manifest or an IPTC DigitalSourceType."""
    return any(
        s.kind == "c2pa"
        or (s.kind == "xmp-iptc" and (s.parameters or {}).get("digital_source_type"))
        for s in signals
    )


def label_record(
    signals: Sequence[SignalRow],
    events: Sequence[Event] = (),
    content_hash: str | None = None,
    sidecar: bool | None = None,
) -> dict[str, Any]:
    """Return where the file's machine-readable AI mark is: ``in_file`` names the marks in
    the bytes (``c2pa``; ``xmp``: an IPTC DigitalSourceType read at the last scan, or
    embedded by provenance into the bytes the file has now, after that scan), ``sidecar``
    whether its sidecar exists (None: not looked at)."""
    in_file = []
    if any(s.kind == "c2pa" for s in signals):
        in_file.append("c2pa")
    read = any(
        s.kind == "xmp-iptc" and (s.parameters or {}).get("digital_source_type") for s in signals
    )
    embedded = content_hash is not None and any(
        e.action == "embedded" and (e.after or {}).get("content_hash") == content_hash
        for e in events
    )
    if read or embedded:
        in_file.append("xmp")
    return {"in_file": in_file, "sidecar": sidecar}


def label_text(label: dict[str, Any]) -> str:
    """Say where the mark is: "in the file (IPTC XMP) and its sidecar", "sidecar only"."""
    names = {"c2pa": "C2PA", "xmp": "IPTC XMP"}
    in_file = ", ".join(names.get(kind, kind) for kind in label["in_file"])
    sidecar = label["sidecar"]
    if in_file:
        return f"in the file ({in_file})" + (" and its sidecar" if sidecar else "")
    if sidecar:
        return "sidecar only"
    if sidecar is None:
        return "none in the file"
    return "none (no mark in the file, no sidecar)"


def signer_state(signals: Sequence[SignalRow]) -> str:
    """Return what the file's C2PA claims say of their signer: ``invalid`` if any claim
    does not validate, else ``trusted`` if one was signed by a trusted signer, else
    ``untrusted``; ``unsigned`` without a claim (see ``detect.trust``)."""
    found = {(s.detail or {}).get("trust") for s in signals} & {"trusted", "untrusted", "invalid"}
    for word in ("invalid", "trusted", "untrusted"):
        if word in found:
            return word
    return "unsigned"


def clearance_assessment(
    asset: Asset, policy: ClearancePolicy
) -> tuple[Assessment, ToolInfo, Facts]:
    """Return the assessment a clearance of ``asset`` is judged on (final unless declared)."""
    assessment, tool = policy.assess(asset.generator, asset.family, asset.facts)
    return assessment, tool, Facts.from_mapping(asset.facts).for_clearance()


def clear_needed(
    policy: ClearancePolicy,
    generator: str | None,
    family: str | None,
    facts: Mapping[str, Any] | None,
    signals: Sequence[SignalRow] | None = None,
) -> tuple[Needed, bool]:
    """Return what `provenance clear` must be given for an asset of this generator, family
    and facts to pass (as ``plan_clearance`` judges it), and whether the answer depends on
    its C2PA signer (then ``signals`` are the asset's: without them, unsigned)."""
    assessment, _tool = policy.assess(generator, family, facts)
    return needed(assessment, signer_state(signals or ())), assessment.signer_tool is not None


def evidence_of(clearance: Clearance | None) -> Evidence:
    """Return the evidence recorded with a clearance (none when there is no clearance)."""
    if clearance is None:
        return Evidence()
    return Evidence(
        clearance.approval_ref, tuple(clearance.consent_refs or ()), clearance.escalation_ref
    )


def clearance_record(
    asset: Asset,
    signals: Sequence[SignalRow],
    clearance: Clearance | None,
    policy: ClearancePolicy,
    label: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the JSON-ready clearance part of an asset's record (``label``: where its AI
    mark is, from ``label_record``; by default from the signals alone)."""
    label = label if label is not None else label_record(signals)
    assessment, tool, facts = clearance_assessment(asset, policy)
    evidence = evidence_of(clearance)
    signer = signer_state(signals)
    gaps = missing(assessment, evidence, signer)
    present = {
        "approval_ref": evidence.approval_ref,
        "consent_refs": list(evidence.consent_refs),
        "escalation_ref": evidence.escalation_ref,
    }
    return {
        "risk": assessment.risk,
        "rules": [
            {"id": r.id, "title": r.title, "risk": r.risk, "requires": list(r.requires)}
            for r in assessment.fired
        ],
        "facts": facts.as_mapping(),
        "tool": {
            "name": tool.name,
            "status": tool.status,
            "enterprise_agreement": tool.enterprise_agreement,
            "no_training_on_inputs": tool.no_training_on_inputs,
            "vendor_retains_inputs": tool.vendor_retains_inputs,
            "terms_ref": tool.terms_ref or None,
            "require_trusted_signer": tool.require_trusted_signer,
        },
        "signer": signer,
        "labelled": bool(label["in_file"]) or is_labelled(signals),
        "label": label,
        "evidence": {k: v for k, v in present.items() if v},
        "missing": [
            {"kind": m.kind, "rules": list(m.rule_ids), "text": m.text, "wanted": m.wanted}
            for m in gaps
        ],
        "clearance": None
        if clearance is None
        else {
            "id": clearance.id,
            "approval_ref": clearance.approval_ref,
            "note": clearance.note,
            "by": f"{clearance.user}@{clearance.host}",
            "at": clearance.cleared_at.isoformat().replace("+00:00", "Z"),
            "content_hash": clearance.content_hash,
            "source_clearance_id": clearance.source_clearance_id,
        },
    }


def render_clearance(record: dict[str, Any]) -> list[str]:
    """Return the lines `provenance show` prints for the clearance part of a record."""
    lines = [f"{'risk:':<14}{record['risk']}"]
    tool = record["tool"]
    lines.append(f"{'tool:':<14}{tool['name'] or '(not in the tools registry)'} ({tool['status']})")
    if record["facts"]:
        facts = ", ".join(
            f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in record["facts"].items()
        )
        lines.append(f"{'facts:':<14}{facts}")
    lines.append("rules fired:")
    lines += [f"  {r['id']:<14} {r['risk']:<8} {r['title']}" for r in record["rules"]]
    label = record.get("label") or {
        "in_file": ["mark"] if record["labelled"] else [],
        "sidecar": None,
    }
    lines.append(f"{'label:':<14}{label_text(label)}")
    if record.get("signer", "unsigned") != "unsigned" or tool.get("require_trusted_signer"):
        lines.append(f"{'c2pa signer:':<14}{record.get('signer', 'unsigned')}")
    clearance = record["clearance"]
    if clearance is not None:
        lines.append(
            f"{'cleared:':<14}{iso(clearance['at'])} by {clearance['by']}, "
            f"approval {clearance['approval_ref']}"
        )
    for kind, value in record["evidence"].items():
        shown = ", ".join(value) if isinstance(value, list) else value
        lines.append(f"  present: {kind} {shown}")
    for gap in record["missing"]:
        lines.append(f"  missing: {gap['text']} ({', '.join(gap['rules'])})")
    return lines
