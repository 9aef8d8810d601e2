"""`provenance clear` and `provenance revoke`: approve AI content as a final deliverable, or
withdraw that approval, with the evidence the rules ask for.

A clearance is refused as a whole (nothing changes) when the OS user is not an approver,
when no approval reference is given, or when any asset lacks evidence its facts call for;
every problem is named with its rule ids. It binds to the content hash, re-checked from the
file's bytes just before it is written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from provenance.audit import Actor
from provenance.catalog import Asset, Catalog, Clearance, Tx
from provenance.catalog.clearance import active_clearance, add_clearance
from provenance.clearance.assess import Evidence, Missing, missing
from provenance.clearance.binding import void
from provenance.clearance.explain import clearance_assessment, is_labelled, signer_state
from provenance.clearance.policy import ClearancePolicy, clearance_policy
from provenance.config import Settings
from provenance.errors import ClearanceError
from provenance.files.reader import Failure, FileReader, read_options
from provenance.ingest.tags import TagOptions, embed_label, write_tags
from provenance.lifecycle.states import Status, move
from provenance.retention.policy import AssetFacts, milestones_for, rules_from_settings, schedule

log = logging.getLogger(__name__)

#: States whose file is not where the catalog says, or no longer exists: never cleared.
NOT_CLEARABLE: dict[str, str] = {
    Status.QUARANTINED: "quarantined: restore it first (provenance restore)",
    Status.PURGED: "purged: its bytes are gone",
    Status.NOT_AI: "not an AI asset: nothing to clear",
}


@dataclass(frozen=True)
class ClearRequest:
    """What the approver gives `provenance clear`."""

    approval_ref: str | None
    note: str = ""
    consent_refs: tuple[str, ...] = ()
    escalation_ref: str | None = None
    label: bool = False

    @property
    def evidence(self) -> Evidence:
        return Evidence(self.approval_ref, self.consent_refs, self.escalation_ref)


@dataclass
class ClearOutcome:
    """One asset of a clearance: its risk, what is missing, what was done."""

    path: str
    risk: str
    rules: tuple[str, ...]
    missing: tuple[Missing, ...] = ()
    labelled: bool = False
    held: bool = False
    already: bool = False
    problem: str | None = None
    warnings: list[str] = field(default_factory=list)
    clearance_id: int | None = None


def _targets(tx: Tx, paths: Sequence[str]) -> tuple[list[Asset], list[str]]:
    """Return the assets the paths name (a folder: its AI assets) and the problems found."""
    assets: list[Asset] = []
    problems: list[str] = []
    for path in paths:
        if Path(path).is_dir():
            under = [a for a in tx.assets_under(path) if a.is_ai and a.status not in NOT_CLEARABLE]
            if not under:
                problems.append(f"{path}: no AI assets under this folder to clear")
            assets.extend(a for a in under if a.present)
            continue
        asset = tx.asset_by_path(path)
        if asset is None:
            problems.append(f"{path}: not in the catalog (run `provenance scan` on its folder)")
        elif asset.status in NOT_CLEARABLE:
            problems.append(f"{path}: {NOT_CLEARABLE[asset.status]}")
        elif not asset.present:
            problems.append(f"{path}: the file is missing")
        else:
            assets.append(asset)
    unique = {asset.path: asset for asset in assets}
    return [unique[path] for path in sorted(unique)], problems


def _hash_files(settings: Settings, assets: Sequence[Asset]) -> list[str | Failure]:
    """Hash each asset's file as it is now, bound to its bytes: opened from its root without
    following a link (a regular file only) and hashed from that descriptor in a reader
    worker, within the read budgets (``FileReader.hash_inside``)."""
    if not assets:
        return []
    files = [(asset.root, asset.path, asset.size) for asset in assets]
    with FileReader(read_options(settings), workers=min(len(files), 2)) as reader:
        return reader.hash_inside(files)


def plan_clearance(
    settings: Settings,
    catalog: Catalog,
    policy: ClearancePolicy,
    paths: Sequence[str],
    request: ClearRequest,
) -> tuple[list[tuple[Asset, ClearOutcome]], list[str]]:
    """Return each asset with what clearing it would need, and the problems that refuse it.

    Reads the catalog and re-hashes each file (``_hash_files``); changes nothing.
    """
    with catalog.read() as tx:
        assets, problems = _targets(tx, paths)
        outcomes = []
        for asset in assets:
            assert asset.id is not None
            assessment, _tool, _facts = clearance_assessment(asset, policy)
            signals = tx.signals_of(asset.id)
            outcome = ClearOutcome(
                asset.path,
                assessment.risk,
                assessment.rule_ids,
                missing(assessment, request.evidence, signer_state(signals)),
                is_labelled(signals),
                held=asset.status == Status.HELD,
            )
            current = active_clearance(tx, asset.id)
            outcome.already = current is not None and current.content_hash == asset.content_hash
            if assessment.label_rules and not outcome.labelled:
                outcome.warnings.append(
                    f"{asset.path}: no machine-readable AI mark in the file (C2PA or IPTC "
                    f"DigitalSourceType; {', '.join(assessment.label_rules)}); its sidecar has "
                    "one; --label embeds it into JPEG and PNG"
                )
            outcomes.append((asset, outcome))
    found = _hash_files(settings, [asset for asset, _outcome in outcomes])
    for (asset, outcome), content_hash in zip(outcomes, found, strict=True):
        if isinstance(content_hash, Failure):
            outcome.problem = f"{asset.path}: cannot read: {content_hash.reason}"
        elif content_hash != asset.content_hash:
            outcome.problem = (
                f"{asset.path}: changed since it was scanned (run `provenance scan`, then clear)"
            )
        if outcome.problem is None and outcome.missing and not outcome.already:
            gaps = "; ".join(gap.line() for gap in outcome.missing)
            outcome.problem = f"{asset.path}: missing {gaps}"
        if outcome.problem is not None:
            problems.append(outcome.problem)
    return outcomes, problems


def clear(
    settings: Settings,
    catalog: Catalog,
    actor: Actor,
    now: datetime,
    paths: Sequence[str],
    request: ClearRequest,
    *,
    dry_run: bool = False,
    policy: ClearancePolicy | None = None,
) -> list[ClearOutcome]:
    """Clear the assets at ``paths`` as final deliverables; return one outcome per asset.

    With ``dry_run`` nothing changes and every problem is in the outcomes. Raises
    ClearanceError listing every problem otherwise. Who may clear is the caller's check
    (``provenance.access.roles``: the approver role).
    """
    if not dry_run and not (request.approval_ref or "").strip():
        raise ClearanceError(
            "no approval reference: clearing needs --approval REF, the written approval (NFX-INTRO)"
        )
    policy = policy or clearance_policy(settings)
    planned, problems = plan_clearance(settings, catalog, policy, paths, request)
    if dry_run:
        return [outcome for _asset, outcome in planned]
    if problems:
        raise ClearanceError("\n".join(problems))
    cleared: list[Asset] = []
    with catalog.write() as tx:
        for planned_asset, outcome in planned:
            if outcome.already:
                continue
            asset = tx.asset_by_id(planned_asset.id or 0)
            if asset is None or asset.content_hash != planned_asset.content_hash:
                raise ClearanceError(f"{planned_asset.path}: changed while clearing; try again")
            outcome.clearance_id = _record(tx, asset, outcome, request, policy, actor, now)
            cleared.append(asset)
    write_tags(cleared, _tag_options(settings), catalog, actor, now)
    outcomes = {outcome.path: outcome for _asset, outcome in planned}
    for asset in cleared:
        outcome = outcomes[asset.path]
        if request.label and not outcome.labelled:
            done = embed_label(asset, _tag_options(settings), catalog, actor, now)
            outcome.warnings = [f"{asset.path}: {done}"]
        log.info("cleared %s (risk %s)", asset.path, outcome.risk)
    return [outcome for _asset, outcome in planned]


def _record(
    tx: Tx,
    asset: Asset,
    outcome: ClearOutcome,
    request: ClearRequest,
    policy: ClearancePolicy,
    actor: Actor,
    now: datetime,
) -> int | None:
    assessment, _tool, facts = clearance_assessment(asset, policy)
    clearance = add_clearance(
        tx,
        Clearance(
            asset_id=asset.id or 0,
            content_hash=asset.content_hash or "",
            approval_ref=(request.approval_ref or "").strip(),
            note=request.note,
            consent_refs=list(request.consent_refs),
            escalation_ref=request.escalation_ref,
            user=actor.user,
            host=actor.host,
            cleared_at=now,
            intended_use=facts.intended_use,
            risk=assessment.risk,
            rules=",".join(assessment.rule_ids),
            labelled=outcome.labelled,
        ),
    )
    to = Status.CLEARED
    if asset.status == Status.HELD:  # a hold wins; the approval is kept for when it is released
        to = Status.HELD
    else:
        asset.deadline, asset.policy = None, None
    asset.risk, asset.risk_rules = assessment.risk, ",".join(assessment.rule_ids)
    move(
        tx,
        asset,
        to,
        actor,
        now,
        action="cleared",
        reason=request.note or "cleared as a final deliverable",
        after={
            "approval_ref": clearance.approval_ref,
            "clearance_id": clearance.id,
            "content_hash": clearance.content_hash,
            "risk": assessment.risk,
            "rules": list(assessment.rule_ids),
            "consent_refs": list(request.consent_refs),
            "escalation_ref": request.escalation_ref,
            "labelled": outcome.labelled,
        },
    )
    return clearance.id


def _tag_options(settings: Settings) -> TagOptions:
    tagging = settings.tagging
    return TagOptions(tagging.sidecar, tagging.sidecar_pattern, tuple(tagging.embed))


def temporary_deadline(settings: Settings, asset: Asset) -> tuple[datetime | None, str | None]:
    """Return the deadline and policy an asset gets when it goes back to temporary."""
    root = settings.root_for(Path(asset.path))
    root_path = str(root.path) if root is not None else asset.root
    relative = (
        Path(asset.path).relative_to(root_path).as_posix()
        if asset.path.startswith(root_path)
        else Path(asset.path).name
    )
    facts = AssetFacts(
        path=relative,
        ai_class=asset.ai_class,
        status=Status.TEMPORARY,
        first_seen=asset.first_seen,
        created_at=asset.created_at,
        generator=asset.generator,
        family=asset.family,
    )
    return schedule(facts, rules_from_settings(settings), milestones_for(settings, root))


@dataclass(frozen=True)
class Revoked:
    """A clearance withdrawn (on a dry run, that would be): the asset, the approval it had,
    and the status it went back to (None on a dry run)."""

    path: str
    approval_ref: str
    status: str | None


def revoke(
    settings: Settings,
    catalog: Catalog,
    actor: Actor,
    now: datetime,
    paths: Sequence[str],
    reason: str,
    *,
    dry_run: bool = False,
) -> list[Revoked]:
    """Withdraw the clearance of each asset at ``paths`` (event ``revoked``); return each.

    The asset goes back to temporary with a deadline from its retention policy.
    """
    if not reason.strip():
        raise ClearanceError("a revocation needs a reason (--reason TEXT)")
    outcomes: list[Revoked] = []
    revoked: list[Asset] = []
    with catalog.write() as tx:
        assets, problems = _targets(tx, paths)
        found = [(asset, active_clearance(tx, asset.id or 0)) for asset in assets]
        named = set(paths)
        problems += [f"{a.path}: not cleared" for a, c in found if c is None and a.path in named]
        if problems:
            raise ClearanceError("\n".join(problems))
        for asset, clearance in found:
            if clearance is None:
                continue
            if dry_run:
                outcomes.append(Revoked(asset.path, clearance.approval_ref, None))
                continue
            deadline, policy = temporary_deadline(settings, asset)
            void(
                tx,
                asset,
                clearance,
                action="revoked",
                reason=reason,
                actor=actor,
                now=now,
                deadline=deadline,
                policy=policy,
            )
            revoked.append(asset)
            outcomes.append(Revoked(asset.path, clearance.approval_ref, asset.status))
    write_tags(revoked, _tag_options(settings), catalog, actor, now)
    return outcomes
