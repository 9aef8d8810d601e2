"""Facts, tool and rules in; the risk, the rules that fired and the evidence needed out (pure).

Nothing here reads a file, the clock or the catalog. ``assess`` says what an asset needs;
``missing`` says which of those needs the evidence given does not meet. A blocked asset
always has something missing, so it never passes; adding evidence never adds a need.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from provenance.clearance.rules import RISKS, ClearanceRule, RuleSet
from provenance.config.clearance import ToolSettings

#: Declared fact names (flags of `provenance tag`), besides intended_use and talent.
FLAG_FACTS = (
    "personal_data",
    "copyrighted_ref",
    "real_person",
    "public_figure",
    "deceased_person",
    "other_project_model",
)


@dataclass(frozen=True)
class Facts:
    """What is declared about an asset (``provenance tag``); stored as the asset's ``facts``."""

    intended_use: str | None = None
    #: Performers whose likeness, replica or voice the asset carries.
    talent: tuple[str, ...] = ()
    personal_data: bool = False
    copyrighted_ref: bool = False
    real_person: bool = False
    public_figure: bool = False
    deceased_person: bool = False
    other_project_model: bool = False

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Facts:
        data = data or {}
        return cls(
            intended_use=data.get("intended_use"),
            talent=tuple(data.get("talent") or ()),
            **{name: bool(data.get(name, False)) for name in FLAG_FACTS},
        )

    def as_mapping(self) -> dict[str, Any]:
        """Return the declared facts only (unset flags left out), JSON-ready."""
        out: dict[str, Any] = {}
        if self.intended_use:
            out["intended_use"] = self.intended_use
        if self.talent:
            out["talent"] = list(self.talent)
        out.update({name: True for name in FLAG_FACTS if getattr(self, name)})
        return out

    def merged(self, other: Facts) -> Facts:
        """Return these facts with ``other``'s declarations added (a tag adds, never clears)."""
        return Facts(
            intended_use=other.intended_use or self.intended_use,
            talent=tuple(dict.fromkeys(self.talent + other.talent)),
            **{name: getattr(self, name) or getattr(other, name) for name in FLAG_FACTS},
        )

    def for_clearance(self) -> Facts:
        """Return the facts a clearance is judged on: cleared means final unless declared."""
        return self if self.intended_use else replace(self, intended_use="final")


@dataclass(frozen=True)
class ToolInfo:
    """The registry's entry for the tool that made an asset (status "unknown" when none)."""

    name: str | None = None
    status: str = "unknown"
    enterprise_agreement: bool | None = None
    no_training_on_inputs: str = "unknown"
    vendor_retains_inputs: str = "unknown"
    terms_ref: str = ""
    #: The tool's approval holds only for a file whose C2PA claim a trusted signer made.
    require_trusted_signer: bool = False


def find_tool(generator: str | None, family: str | None, tools: Sequence[ToolSettings]) -> ToolInfo:
    """Return the registry entry whose name or ``match`` names the generator or its family.

    A match term equal to the family or generator, or contained in the generator's name
    ("firefly" in "Adobe Firefly Image 3"), matches; case is ignored.
    """
    names = [name.lower() for name in (generator, family) if name]
    for tool in tools:
        terms = [term.lower() for term in (tool.name, *tool.match) if term]
        if any(term == name or term in name for term in terms for name in names):
            return ToolInfo(
                name=tool.name,
                status="approved" if tool.approved else "unapproved",
                enterprise_agreement=tool.enterprise_agreement,
                no_training_on_inputs=tool.no_training_on_inputs,
                vendor_retains_inputs=tool.vendor_retains_inputs,
                terms_ref=tool.terms_ref,
                require_trusted_signer=tool.require_trusted_signer,
            )
    return ToolInfo()


@dataclass(frozen=True)
class Evidence:
    """What a person gives `provenance clear`."""

    approval_ref: str | None = None
    consent_refs: tuple[str, ...] = ()
    escalation_ref: str | None = None


@dataclass(frozen=True)
class Fired:
    """A rule that fired, with what it asks for."""

    id: str
    title: str
    risk: str
    requires: tuple[str, ...]


@dataclass(frozen=True)
class Missing:
    """One piece of evidence a clearance still lacks, and the rules that ask for it."""

    kind: str
    rule_ids: tuple[str, ...]
    text: str
    #: How many references of this kind are wanted (consent: one per performer).
    wanted: int = 1

    def line(self) -> str:
        return f"{self.text} ({', '.join(self.rule_ids)})"


@dataclass(frozen=True)
class Assessment:
    """The risk of an asset, the rules that fired, and what a clearance needs."""

    risk: str
    fired: tuple[Fired, ...]
    talent: tuple[str, ...] = ()
    #: Rules whose "label" requirement asks for a machine-readable AI mark.
    label_rules: tuple[str, ...] = field(default=())
    #: The registered tool whose approval needs a C2PA claim by a trusted signer (its
    #: ``require_trusted_signer``), when a rule asks for an approval; None otherwise.
    signer_tool: str | None = None

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.fired)

    @property
    def blocked_by(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.fired if rule.risk == "blocked")

    def needing(self, kind: str) -> tuple[str, ...]:
        """Return the ids of the fired rules that require ``kind`` of evidence."""
        return tuple(rule.id for rule in self.fired if kind in rule.requires)


def _holds(name: str, expected: Any, facts: Facts, tool: ToolInfo) -> bool:
    if name == "intended_use":
        return facts.intended_use in expected
    if name == "talent":
        return bool(facts.talent) == expected
    if name in FLAG_FACTS:
        return bool(getattr(facts, name)) == expected
    if name == "tool":
        return tool.status in expected
    if name in ("no_training_on_inputs", "vendor_retains_inputs"):
        return getattr(tool, name) in expected
    if name == "enterprise_agreement":
        return tool.enterprise_agreement is not None and tool.enterprise_agreement == expected
    raise ValueError(f"unknown condition {name!r}")


def fires(rule: ClearanceRule, facts: Facts, tool: ToolInfo) -> bool:
    """Return whether ``rule`` fires for these facts and this tool."""
    conditions = rule.when.given()
    if not conditions:
        return True
    results = (_holds(name, value, facts, tool) for name, value in conditions.items())
    return any(results) if rule.match == "any" else all(results)


def assess(facts: Facts, tool: ToolInfo, rules: RuleSet) -> Assessment:
    """Return the assessment of an asset: highest risk of the rules that fired (low if none)."""
    fired = tuple(
        Fired(rule.id, rule.title, rule.risk, tuple(rule.requires))
        for rule in rules.rules
        if fires(rule, facts, tool)
    )
    risk = max((rule.risk for rule in fired), key=RISKS.index, default="low")
    labels = tuple(rule.id for rule in fired if "label" in rule.requires)
    approvals = any("approval" in rule.requires for rule in fired)
    signer_tool = tool.name if tool.require_trusted_signer and approvals else None
    return Assessment(risk, fired, facts.talent, labels, signer_tool)


#: What a file's C2PA claims say of their signer (``signer_state``): the words of
#: ``detect.trust`` and "unsigned" for a file without a claim.
SIGNER_WORDS = {
    "untrusted": "its C2PA claim's signer is not trusted",
    "invalid": "its C2PA claim does not validate",
    "unsigned": "it carries no C2PA claim",
}


def missing(
    assessment: Assessment, evidence: Evidence, signer: str = "unsigned"
) -> tuple[Missing, ...]:
    """Return what ``evidence`` lacks for a clearance (empty: it may be cleared).

    ``signer`` is what the file's C2PA claims say of their signer (``trusted``,
    ``untrusted``, ``invalid`` or ``unsigned``): a tool whose approval needs a trusted signer
    (``signer_tool``) leaves a gap no reference fills unless it is ``trusted``. Labels are
    not evidence: a missing mark is a warning (see ``label_rules``).
    """
    gaps: list[Missing] = []
    if assessment.blocked_by:
        gaps.append(Missing("blocked", assessment.blocked_by, "blocked: cannot be cleared"))
    if assessment.signer_tool and signer != "trusted":
        why = SIGNER_WORDS.get(signer, f"its C2PA signer is {signer}")
        gaps.append(
            Missing(
                "trusted_signer",
                assessment.needing("approval"),
                f"a C2PA claim by a trusted signer ({assessment.signer_tool}'s approval"
                f" requires one; {why})",
            )
        )
    rules = assessment.needing("approval")
    if rules and not (evidence.approval_ref or "").strip():
        gaps.append(Missing("approval", rules, "an approval reference (--approval REF)"))
    rules = assessment.needing("consent")
    given = [ref for ref in evidence.consent_refs if ref.strip()]
    wanted = max(1, len(assessment.talent))
    if rules and len(given) < wanted:
        who = f" for {', '.join(assessment.talent)}" if assessment.talent else ""
        gaps.append(
            Missing(
                "consent",
                rules,
                f"{wanted} consent reference(s){who} (--consent REF; {len(given)} given)",
                wanted,
            )
        )
    rules = assessment.needing("escalation")
    if rules and not (evidence.escalation_ref or "").strip():
        gaps.append(Missing("escalation", rules, "an escalation reference (--escalation REF)"))
    return tuple(gaps)


#: The evidence a reference fills, by the ``Missing`` kind, and the `provenance clear`
#: option that gives it. The other kinds (blocked, a trusted signer) no reference fills.
OPTIONS = {"approval": "--approval", "consent": "--consent", "escalation": "--escalation"}


@dataclass(frozen=True)
class Needed:
    """What `provenance clear` must be given for a clearance to pass: always an approval
    reference, and the consent and escalation references the rules that fired ask for.
    ``clearable`` False: a gap no reference fills (blocked; a trusted signer), so no
    ``clear`` passes whatever it is given. ``a | b``: what clearing both at once needs."""

    consent: int = 0
    escalation: bool = False
    clearable: bool = True

    def __or__(self, other: Needed) -> Needed:
        return Needed(
            max(self.consent, other.consent),
            self.escalation or other.escalation,
            self.clearable and other.clearable,
        )

    def __and__(self, other: Needed) -> Needed:
        """What both need at least."""
        return Needed(
            min(self.consent, other.consent),
            self.escalation and other.escalation,
            self.clearable or other.clearable,
        )

    def options(self, placeholder: str = "REF") -> tuple[str, ...]:
        """Return the options of `provenance clear` that give this evidence, in order."""
        words = [OPTIONS["approval"], placeholder]
        for _ in range(self.consent):
            words += [OPTIONS["consent"], placeholder]
        if self.escalation:
            words += [OPTIONS["escalation"], placeholder]
        return tuple(words)


def needed(assessment: Assessment, signer: str = "unsigned") -> Needed:
    """Return what a clearance of an asset so assessed must be given: what ``missing``
    finds lacking when nothing is given (the refusal of `provenance clear` says the same)."""
    return needed_for(missing(assessment, Evidence(), signer))


def needed_for(gaps: Iterable[Missing]) -> Needed:
    """Return what fills ``gaps``, the ``missing`` of an asset given no evidence."""
    kinds = {gap.kind: gap for gap in gaps}
    consent = kinds.get("consent")
    return Needed(
        consent=consent.wanted if consent is not None else 0,
        escalation="escalation" in kinds,
        clearable=all(kind in OPTIONS for kind in kinds),
    )
