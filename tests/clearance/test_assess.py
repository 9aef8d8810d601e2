"""The pure assessment: facts, tool and rules in; risk, fired rules and missing evidence out."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from provenance.clearance.assess import (
    Evidence,
    Facts,
    ToolInfo,
    assess,
    find_tool,
    missing,
    needed,
)
from provenance.clearance.rules import INTENDED_USES, default_rules
from provenance.config.clearance import ToolSettings

RULES = default_rules()
CLEAN = ToolInfo("Studio SD", "approved", True, "yes", "no")

facts_strategy = st.builds(
    Facts,
    intended_use=st.sampled_from((None, *INTENDED_USES)),
    talent=st.lists(st.sampled_from(("Jane Doe", "John Roe", "Ann Lee")), unique=True).map(tuple),
    personal_data=st.booleans(),
    copyrighted_ref=st.booleans(),
    real_person=st.booleans(),
    public_figure=st.booleans(),
    deceased_person=st.booleans(),
    other_project_model=st.booleans(),
)
answers = st.sampled_from(("yes", "no", "unknown"))
tool_strategy = st.one_of(
    st.just(ToolInfo()),
    st.builds(
        ToolInfo,
        name=st.just("T"),
        status=st.sampled_from(("approved", "unapproved")),
        enterprise_agreement=st.booleans(),
        no_training_on_inputs=answers,
        vendor_retains_inputs=answers,
    ),
)
refs = st.one_of(st.none(), st.sampled_from(("", "REF-1")))
evidence_strategy = st.builds(
    Evidence,
    approval_ref=refs,
    consent_refs=st.lists(st.sampled_from(("C-1", "C-2", "C-3", "")), max_size=4).map(tuple),
    escalation_ref=refs,
)


def _more(evidence: Evidence, extra: Evidence) -> Evidence:
    return Evidence(
        evidence.approval_ref or extra.approval_ref,
        evidence.consent_refs + extra.consent_refs,
        evidence.escalation_ref or extra.escalation_ref,
    )


@given(facts_strategy, tool_strategy, evidence_strategy, evidence_strategy)
def test_adding_evidence_never_adds_to_what_is_missing(
    facts: Facts, tool: ToolInfo, evidence: Evidence, extra: Evidence
) -> None:
    assessment = assess(facts, tool, RULES)
    before = {gap.kind for gap in missing(assessment, evidence)}
    after = {gap.kind for gap in missing(assessment, _more(evidence, extra))}
    assert after <= before


@given(facts_strategy, tool_strategy, evidence_strategy)
def test_a_blocked_asset_never_passes(facts: Facts, tool: ToolInfo, evidence: Evidence) -> None:
    assessment = assess(facts, tool, RULES)
    if assessment.risk == "blocked":
        assert missing(assessment, evidence)
    assert (assessment.risk == "blocked") == facts.other_project_model


@given(facts_strategy, tool_strategy)
def test_the_same_facts_give_the_same_assessment_and_always_need_an_approval(
    facts: Facts, tool: ToolInfo
) -> None:
    assessment = assess(facts, tool, RULES)
    assert assessment == assess(facts, tool, RULES)
    assert "approval" in {gap.kind for gap in missing(assessment, Evidence())}
    assert assessment.rule_ids[0] == "NFX-INTRO"


def test_a_clean_ideation_asset_is_low_risk_and_needs_only_an_approval() -> None:
    assessment = assess(Facts(intended_use="ideation"), CLEAN, RULES)
    assert assessment.risk == "low" and assessment.rule_ids == ("NFX-INTRO",)
    assert [gap.kind for gap in missing(assessment, Evidence())] == ["approval"]
    assert missing(assessment, Evidence("REF")) == ()


def test_talent_needs_one_consent_per_performer() -> None:
    assessment = assess(Facts(talent=("Jane Doe", "John Roe")), CLEAN, RULES)
    assert assessment.risk == "high" and "NFX-TP1" in assessment.rule_ids
    one = missing(assessment, Evidence("A", ("C-1",), "E"))
    assert [gap.kind for gap in one] == ["consent"]
    assert one[0].line() == (
        "2 consent reference(s) for Jane Doe, John Roe (--consent REF; 1 given) (NFX-TP1)"
    )
    assert missing(assessment, Evidence("A", ("C-1", "C-2"), "E")) == ()


def test_unknown_tools_and_unknown_terms_need_an_escalation() -> None:
    assessment = assess(Facts(), ToolInfo(), RULES)
    assert assessment.risk == "review"
    assert assessment.needing("escalation") == ("NFX-CONF3", "NFX-P2")
    not_enterprise = ToolInfo("T", "approved", False, "yes", "no")
    assert assess(Facts(), not_enterprise, RULES).rule_ids == ("NFX-INTRO", "NFX-P3")


def test_final_use_asks_for_a_label() -> None:
    assessment = assess(Facts().for_clearance(), CLEAN, RULES)
    assert assessment.label_rules == ("NFX-FINAL1",)
    assert Facts(intended_use="previs").for_clearance().intended_use == "previs"


def test_find_tool_matches_generator_or_family_in_any_case() -> None:
    tools = [
        ToolSettings(name="Adobe Firefly", match=["firefly"], approved=True),
        ToolSettings(name="Comfy", match=["comfyui"]),
    ]
    assert find_tool("Adobe FIREFLY Image 3", None, tools).status == "approved"
    assert find_tool("Something", "comfyui", tools).name == "Comfy"
    assert find_tool("Something", "comfyui", tools).status == "unapproved"
    assert find_tool("Midjourney", None, tools) == ToolInfo()


def test_facts_merge_and_round_trip() -> None:
    first = Facts(intended_use="temp", talent=("Jane Doe",))
    merged = first.merged(Facts(talent=("John Roe", "Jane Doe"), personal_data=True))
    assert merged.as_mapping() == {
        "intended_use": "temp",
        "talent": ["Jane Doe", "John Roe"],
        "personal_data": True,
    }
    assert Facts.from_mapping(merged.as_mapping()) == merged


signers = st.sampled_from(("trusted", "untrusted", "invalid", "unsigned"))
#: Tools, some of whose approval holds only for a file a trusted signer signed.
signing_tools = st.one_of(
    tool_strategy,
    st.builds(
        ToolInfo,
        name=st.just("F"),
        status=st.just("approved"),
        require_trusted_signer=st.just(True),
    ),
)


@given(facts_strategy, signing_tools, signers)
def test_the_references_needed_are_what_a_clearance_lacks_given_none(
    facts: Facts, tool: ToolInfo, signer: str
) -> None:
    # what the report's `clear` names (``needed``), filled in, passes exactly when a
    # reference can pass at all; one consent fewer, or no escalation, does not
    assessment = assess(facts, tool, RULES)
    need = needed(assessment, signer)
    words = need.options()
    assert words[:2] == ("--approval", "REF")
    assert words.count("--consent") == need.consent and words.count("--escalation") == int(
        need.escalation
    )
    filled = Evidence("A-1", tuple(f"C-{n}" for n in range(need.consent)), "E-1" * need.escalation)
    assert (not missing(assessment, filled, signer)) == need.clearable
    if need.clearable and need.consent:
        fewer = Evidence("A-1", filled.consent_refs[1:], filled.escalation_ref)
        assert missing(assessment, fewer, signer)
    if need.clearable and need.escalation:
        assert missing(assessment, Evidence("A-1", filled.consent_refs), signer)
    if assessment.blocked_by or (assessment.signer_tool and signer != "trusted"):
        assert not need.clearable
