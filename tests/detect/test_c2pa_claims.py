"""The C2PA generator-claim table: each entry names an AI generator when a manifest states
no digitalSourceType, and never overrides one that does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provenance.detect import detect_file
from provenance.detect.families.c2pa import signal_from_store
from provenance.detect.families.c2pa_claims import Claim, claims, match_claim, table_digest
from tests.fixtures_media import IPTC_DST, SigningIdentity, jpeg

CLAIMS = claims()


def _store(manifest: dict[str, Any], ingredients: list[dict[str, Any]] = ()) -> dict[str, Any]:
    manifests = {"active": {**manifest, "ingredients": list(ingredients)}}
    for number, _ in enumerate(ingredients):
        manifests[f"ingredient{number}"] = {"claim_generator": "Adobe_Photoshop/25.0"}
    return {"active_manifest": "active", "manifests": manifests}


def _actions(*actions: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"label": "c2pa.actions.v2", "data": {"actions": list(actions)}}]


def _manifest_for(claim: Claim) -> dict[str, Any]:
    """A manifest whose only mark is the entry's example, in the entry's field."""
    value = claim.example
    if claim.field == "claim_generator":
        return {"claim_generator": value, "assertions": _actions({"action": "c2pa.created"})}
    if claim.field == "title":
        return {"title": value, "claim_generator": "some service/1.0"}
    if claim.field == "software_agent":
        return {"assertions": _actions({"action": "c2pa.created", "softwareAgent": value})}
    return {
        "assertions": _actions({"action": "c2pa.created", "parameters": {value: "text_to_image"}})
    }


@pytest.mark.parametrize("claim", CLAIMS, ids=[f"{c.field}:{c.example}" for c in CLAIMS])
def test_each_table_entry_names_its_generator(claim: Claim) -> None:
    manifest = _manifest_for(claim)
    match = match_claim(manifest)
    assert match is not None
    signal = signal_from_store(_store(manifest), "test")
    assert signal.ai_class == claim.ai_class
    assert signal.confidence == 0.9
    if claim.generator is not None:
        assert (signal.generator, signal.family) == (claim.generator, claim.family)
    assert signal.parameters["claim"].startswith(claim.field)


@pytest.mark.parametrize("claim", CLAIMS, ids=[f"{c.field}:{c.example}" for c in CLAIMS])
def test_each_table_entry_yields_to_a_stated_source_type(claim: Claim) -> None:
    manifest = _manifest_for(claim)
    stated = {"action": "c2pa.opened", "digitalSourceType": IPTC_DST + "digitalCapture"}
    manifest["assertions"] = [*manifest.get("assertions", []), *_actions(stated)]
    assert signal_from_store(_store(manifest), "test").ai_class == "none"


@pytest.mark.parametrize(
    "manifest",
    [
        {"claim_generator": "Adobe_Photoshop/26.9.0 adobe_c2pa/0.14.2 c2pa-rs/0.43.0"},
        {"claim_generator_info": [{"name": "Google C2PA Core Generator Library"}]},
        {"claim_generator": "Nikon Z 9", "title": "DSC_0001.JPG"},
        {"claim_generator": "make_test_images/0.33.1 c2pa-rs/0.33.1", "title": "CA.jpg"},
        {"claim_generator": "Truepic Lens", "title": "AI-free photo"},
        {"assertions": _actions({"action": "c2pa.created", "softwareAgent": "Adobe Lightroom"})},
    ],
    ids=["photoshop", "google-camera", "nikon", "c2pa-rs-tests", "truepic", "lightroom"],
)
def test_editors_and_cameras_match_no_entry(manifest: dict[str, Any]) -> None:
    assert match_claim(manifest) is None
    assert signal_from_store(_store(manifest), "test").ai_class == "none"


def test_agent_on_an_edit_action_is_partial() -> None:
    manifest = {
        "assertions": _actions(
            {"action": "c2pa.opened"},
            {"action": "c2pa.edited", "softwareAgent": "Adobe Firefly"},
        )
    }
    signal = signal_from_store(_store(manifest), "test")
    assert (signal.ai_class, signal.family) == ("partial", "adobe")


def test_claim_on_a_parent_ingredient_passes_on() -> None:
    parent = {"claim_generator": "Microsoft_Responsible_AI/1.0"}
    store = {
        "active_manifest": "edit",
        "manifests": {
            "edit": {
                "claim_generator": "Adobe_Photoshop/25.0",
                "ingredients": [{"relationship": "parentOf", "active_manifest": "gen"}],
            },
            "gen": parent,
        },
    }
    signal = signal_from_store(store, "test")
    assert (signal.ai_class, signal.generator, signal.family) == (
        "ai",
        "Microsoft Image Creator",
        "microsoft",
    )


def test_title_entry_takes_the_family_from_the_claim_generator() -> None:
    manifest = {"title": "AI Generated Image", "claim_generator": "Leonardo.Ai/2.0"}
    signal = signal_from_store(_store(manifest), "test")
    assert (signal.ai_class, signal.family) == ("ai", "leonardo")


def test_table_digest_is_stable() -> None:
    assert table_digest() == table_digest()
    assert len(table_digest()) == 16


@pytest.mark.timeout(30)
def test_signed_firefly_1_manifest_without_source_type_is_ai(
    test_signer: SigningIdentity,
) -> None:
    # The SDK refuses to sign a c2pa.created without a source type unless told not to
    # verify after signing: that is how early Firefly and Image Creator files look.
    import io
    import json

    import c2pa

    manifest = {
        "claim_generator_info": [{"name": "Adobe_Firefly", "version": "0.1"}],
        "title": "Generated image",
        "format": "image/jpeg",
        "assertions": _actions(
            {
                "action": "c2pa.created",
                "softwareAgent": "Adobe Firefly",
                "parameters": {"com.adobe.firefly.operation": "text_to_image"},
            }
        ),
    }
    context = c2pa.Context(
        settings=c2pa.Settings.from_dict({"verify": {"verify_after_sign": False}})
    )
    info = c2pa.C2paSignerInfo(b"es256", test_signer.chain_pem, test_signer.key_pem, None)
    output = io.BytesIO()
    with (
        c2pa.Signer.from_info(info) as signer,
        c2pa.Builder(json.dumps(manifest), context=context) as builder,
    ):
        builder.sign(signer, "image/jpeg", io.BytesIO(jpeg()), output)
    verdict = detect_file(Path("firefly.jpg"), output.getvalue(), sidecar=False)
    assert verdict.ai_class == "ai"
    assert (verdict.generator, verdict.family) == ("Adobe Firefly", "adobe")
