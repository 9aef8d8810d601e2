"""The ``[clearance]`` settings: who may clear, the rule set, the tools registry, prompt privacy."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from provenance.config.values import OptionalPath

TermsAnswer = Literal["yes", "no", "unknown"]
PromptStorage = Literal["full", "redacted", "hash", "none"]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolSettings(_Section):
    """One generative tool the production has reviewed (NFX-P2, NFX-P3, NFX-CONF1..3)."""

    name: str = Field(min_length=1, max_length=200)
    #: Generator or family names detected in files that mean this tool (any case).
    match: list[str] = Field(default_factory=list)
    vendor: str = ""
    #: Covered by an enterprise agreement that protects inputs (NFX-CONF1).
    enterprise_agreement: bool = False
    #: The vendor does not train on our inputs or outputs: "yes", "no" or "unknown" (NFX-P2).
    no_training_on_inputs: TermsAnswer = "unknown"
    #: The vendor keeps our inputs: "yes", "no" or "unknown" (NFX-P2).
    vendor_retains_inputs: TermsAnswer = "unknown"
    #: Approved for production use (onboarded with the studio contact).
    approved: bool = False
    #: Which terms and conditions were reviewed (a URL, version, ticket).
    terms_ref: str = ""
    #: The approval holds only for files whose C2PA claim was signed by a trusted signer
    #: (``[detect.c2pa]`` trust anchors and signer lists): `clear` refuses the rest.
    require_trusted_signer: bool = False


class ClearanceSettings(_Section):
    """Who may clear AI assets as final deliverables, and what a clearance must show."""

    #: OS user names allowed to run `provenance clear` and `provenance revoke`.
    approvers: list[str] = Field(default_factory=list)
    #: OS groups whose members may clear (checked against the real groups of the user).
    approver_groups: list[str] = Field(default_factory=list)
    #: A TOML rule set replacing the built-in one (provenance/data/clearance-rules.toml).
    rules_file: OptionalPath = None
    #: How prompts are kept: "full", "redacted" (emails, phones, names -> tokens), "hash", "none".
    prompt_storage: PromptStorage = "redacted"
    #: Names replaced by [NAME] in redacted prompts (cast, crew, talent).
    redact_names: list[str] = Field(default_factory=list)
    #: The tools registry: detected generators -> reviewed tools.
    tools: list[ToolSettings] = Field(default_factory=list)
