"""C2PA trust: anchors and signer lists decide trusted | untrusted | invalid, recorded on
each C2PA signal apart from the AI verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.config import Settings
from provenance.detect import detect_file
from provenance.detect.trust import C2paTrust, judge_trust
from provenance.errors import ConfigError
from provenance.files.readfile import read_options
from tests.fixtures_media import SigningIdentity, c2pa_signed, jpeg

SIGNER = "provenance tests"  # the organization of the test signer's certificate


def _ca(identity: SigningIdentity) -> str:
    """The test CA's certificate (the second PEM block of the chain)."""
    end = b"-----END CERTIFICATE-----"
    first = identity.chain_pem.index(end) + len(end)
    return identity.chain_pem[first:].decode().strip() + "\n"


@pytest.mark.parametrize(
    ("state", "signer", "trust", "expected"),
    [
        ("Trusted", SIGNER, C2paTrust(), "trusted"),
        ("Valid", SIGNER, C2paTrust(), "untrusted"),
        ("Valid", SIGNER, C2paTrust(allowed=("Provenance Tests",)), "trusted"),
        ("Trusted", SIGNER, C2paTrust(blocked=(SIGNER,)), "untrusted"),
        ("Invalid", SIGNER, C2paTrust(allowed=(SIGNER,)), "invalid"),
        (None, None, C2paTrust(), "invalid"),
        ("Valid", None, C2paTrust(allowed=("",)), "untrusted"),
    ],
)
def test_judge_trust(
    state: str | None, signer: str | None, trust: C2paTrust, expected: str
) -> None:
    assert judge_trust(state, signer, trust) == expected


def _c2pa_signal(data: bytes, trust: C2paTrust) -> dict[str, object]:
    verdict = detect_file(Path("signed.jpg"), data, sidecar=False, c2pa_trust=trust)
    (signal,) = [signal for signal in verdict.signals if signal.kind == "c2pa"]
    assert verdict.ai_class == "ai", "trust never changes the AI verdict"
    return dict(signal.detail)


@pytest.mark.timeout(60)
def test_signature_is_untrusted_without_anchors_and_trusted_with_its_ca(
    test_signer: SigningIdentity,
) -> None:
    data = c2pa_signed(jpeg(), "image/jpeg", test_signer)
    assert _c2pa_signal(data, C2paTrust())["trust"] == "untrusted"
    anchored = _c2pa_signal(data, C2paTrust(anchors=_ca(test_signer)))
    assert (anchored["trust"], anchored["validation_state"]) == ("trusted", "Trusted")
    blocked = C2paTrust(anchors=_ca(test_signer), blocked=(SIGNER,))
    assert _c2pa_signal(data, blocked)["trust"] == "untrusted"
    assert _c2pa_signal(data, C2paTrust(allowed=(SIGNER,)))["trust"] == "trusted"


@pytest.mark.timeout(60)
def test_tampered_file_is_invalid_whatever_the_lists(test_signer: SigningIdentity) -> None:
    data = bytearray(c2pa_signed(jpeg(), "image/jpeg", test_signer))
    data[-10] ^= 0xFF  # a byte of the image data, under the manifest's hash
    detail = _c2pa_signal(bytes(data), C2paTrust(anchors=_ca(test_signer), allowed=(SIGNER,)))
    assert detail["trust"] == "invalid"


def test_anchor_files_are_read_into_the_reader_options(
    tmp_path: Path, test_signer: SigningIdentity
) -> None:
    anchor = tmp_path / "studio-ca.pem"
    anchor.write_text(_ca(test_signer))
    settings = Settings.model_validate(
        {"detect": {"c2pa": {"trust_anchors": [str(anchor)], "blocked_signers": ["Evil Co"]}}}
    )
    options = read_options(settings)
    assert options.c2pa_trust.anchors == _ca(test_signer)
    assert options.c2pa_trust.blocked == ("Evil Co",)


@pytest.mark.parametrize("content", [None, "not a certificate"], ids=["missing", "not-pem"])
def test_bad_anchor_file_is_a_config_error(tmp_path: Path, content: str | None) -> None:
    anchor = tmp_path / "ca.pem"
    if content is not None:
        anchor.write_text(content)
    settings = Settings.model_validate({"detect": {"c2pa": {"trust_anchors": [str(anchor)]}}})
    with pytest.raises(ConfigError, match=r"^detect\.c2pa\.trust_anchors: "):
        read_options(settings)
