"""A tool whose approval needs a trusted signer: `clear` refuses a file whose C2PA claim is
untrusted (or invalid, or missing), and `show`/`uncleared` name that as evidence missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance.catalog import Catalog
from tests.clearance.helpers import CLEAN_TOOL, asset_at, run, write_config
from tests.fixtures_media import SigningIdentity, c2pa_signed, jpeg, make_test_signer

SIGNER = "provenance tests"  # the organization of the test signer's certificate
#: The clean tool, matching the signed files' generator, whose approval needs a trusted signer.
SIGNED_TOOL = {
    **CLEAN_TOOL,
    "name": "Signed Gen",
    "match": ["test generator"],
    "require_trusted_signer": True,
}


@pytest.fixture(scope="module")
def signer() -> SigningIdentity:
    return make_test_signer()


def _setup(
    tmp_path: Path, root: Path, catalog: Catalog, signer: SigningIdentity, allowed: list[str]
) -> tuple[Path, Path]:
    clip = root / "finals" / "signed.jpg"
    clip.write_bytes(c2pa_signed(jpeg(), "image/jpeg", signer))
    config = write_config(tmp_path, root, catalog, tools=[SIGNED_TOOL, CLEAN_TOOL])
    with config.open("a") as handle:
        handle.write(f"[detect.c2pa]\nallowed_signers = {json.dumps(allowed)}\n")
    result = run(config, "scan", str(root))
    assert result.exit_code == 0, result.output
    return config, clip


@pytest.mark.timeout(120)
def test_an_untrusted_claim_is_refused_and_shown_as_missing(
    tmp_path: Path, root: Path, catalog: Catalog, signer: SigningIdentity
) -> None:
    config, clip = _setup(tmp_path, root, catalog, signer, [])
    result = run(config, "clear", str(clip), "--approval", "LEGAL-1")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output
    assert "a C2PA claim by a trusted signer" in errors[0]
    assert "Signed Gen's approval requires one" in errors[0]
    assert "not trusted" in errors[0]
    assert asset_at(catalog, clip).status != "cleared"

    shown = run(config, "show", str(clip), "--json")
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.stdout)["clearance"]
    assert record["signer"] == "untrusted"
    assert "trusted_signer" in {gap["kind"] for gap in record["missing"]}
    text = run(config, "show", str(clip)).stdout
    assert "c2pa signer:  untrusted" in text
    assert "missing: a C2PA claim by a trusted signer" in text
    uncleared = run(config, "uncleared")
    assert uncleared.exit_code == 0, uncleared.output
    assert "1 trusted_signer" in uncleared.stdout  # the folder's count of evidence needed
    listed = run(config, "uncleared", "--files")
    assert "a C2PA claim by a trusted signer" in listed.stdout

    # the same tool's approval still clears a file of another, unsigned tool as before
    poster = root / "finals" / "poster.png"
    assert run(config, "clear", str(poster), "--approval", "LEGAL-2").exit_code == 0


@pytest.mark.timeout(120)
def test_a_trusted_claim_clears(
    tmp_path: Path, root: Path, catalog: Catalog, signer: SigningIdentity
) -> None:
    config, clip = _setup(tmp_path, root, catalog, signer, [SIGNER])
    result = run(config, "clear", str(clip), "--approval", "LEGAL-1")
    assert result.exit_code == 0, result.output
    assert asset_at(catalog, clip).status == "cleared"
    record = json.loads(run(config, "show", str(clip), "--json").stdout)["clearance"]
    assert record["signer"] == "trusted"


@pytest.mark.timeout(120)
def test_an_unsigned_file_of_such_a_tool_is_refused(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    unsigned = {**SIGNED_TOOL, "match": ["a1111"]}
    config = write_config(tmp_path, root, catalog, tools=[unsigned])
    assert run(config, "scan", str(root)).exit_code == 0
    poster = root / "finals" / "poster.png"
    result = run(config, "clear", str(poster), "--approval", "LEGAL-1")
    assert result.exit_code == 1
    assert "it carries no C2PA claim" in result.stderr


@pytest.mark.timeout(120)
def test_new_trust_settings_rejudge_a_recorded_claim_and_the_attention_list_follows(
    tmp_path: Path, root: Path, catalog: Catalog, signer: SigningIdentity
) -> None:
    from provenance.catalog.reports import untrusted_c2pa_lines

    config, clip = _setup(tmp_path, root, catalog, signer, [])
    with catalog.read() as tx:
        assert [line.path for line in untrusted_c2pa_lines(tx)] == [str(clip)]
    # the same bytes, the signer now allowed: the next scan reads the root again (the
    # detection fingerprint changed) and records the claim's new trust word
    text = config.read_text().replace("allowed_signers = []", f'allowed_signers = ["{SIGNER}"]')
    config.write_text(text)
    result = run(config, "scan", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["modified"] == 1
    with catalog.read() as tx:
        assert list(untrusted_c2pa_lines(tx)) == []
    assert json.loads(run(config, "show", str(clip), "--json").stdout)["clearance"]["signer"] == (
        "trusted"
    )
