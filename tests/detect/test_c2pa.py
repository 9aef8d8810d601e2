"""C2PA manifests made in the test with a throw-away CA: actions decide, trust does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.detect import detect_file
from tests.fixtures_media import SigningIdentity, c2pa_signed, jpeg, plain_png

MIME = {"jpeg": "image/jpeg", "png": "image/png"}
SOURCE = {"jpeg": jpeg, "png": plain_png}


@pytest.mark.parametrize("kind", ["jpeg", "png"])
@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ([("c2pa.created", "trainedAlgorithmicMedia")], "ai"),
        ([("c2pa.created", "compositeWithTrainedAlgorithmicMedia")], "partial"),
        (
            [("c2pa.created", "digitalCapture"), ("c2pa.edited", "trainedAlgorithmicMedia")],
            "partial",
        ),
        ([("c2pa.created", "algorithmicMedia")], "none"),
        ([("c2pa.created", "digitalCapture")], "none"),
    ],
    ids=["created-trained", "composite", "edited-trained", "algorithmic", "capture"],
)
@pytest.mark.timeout(30)
def test_c2pa_action_source_type_decides(
    test_signer: SigningIdentity,
    kind: str,
    actions: list[tuple[str, str | None]],
    expected: str,
) -> None:
    data = c2pa_signed(SOURCE[kind](), MIME[kind], test_signer, actions=actions)
    verdict = detect_file(Path(f"signed.{kind}"), data, sidecar=False)
    assert verdict.ai_class == expected
    (signal,) = [signal for signal in verdict.signals if signal.kind == "c2pa"]
    # The test CA is untrusted; that is recorded, and it does not change the verdict.
    assert "signingCredential.untrusted" in signal.detail["validation_codes"]
    assert signal.detail["signer"] == "provenance tests"
    if expected != "none":
        assert verdict.generator == "Test Generator 1.0"


def test_c2pa_signed_file_passed_as_mmap(test_signer: SigningIdentity, tmp_path: Path) -> None:
    import mmap

    path = tmp_path / "signed.jpg"
    path.write_bytes(c2pa_signed(jpeg(), "image/jpeg", test_signer))
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        verdict = detect_file(path, m)
    assert verdict.ai_class == "ai"


def test_c2pa_reader_is_not_called_without_a_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    import c2pa

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("C2PA reader ran on a file without a manifest marker")

    monkeypatch.setattr(c2pa.Reader, "try_create", refuse)
    assert detect_file(Path("a.jpg"), jpeg(), sidecar=False).ai_class == "none"


def test_remote_manifest_is_refused_not_fetched(corpus: Path) -> None:
    from provenance.detect.families.c2pa import read_c2pa

    data = (corpus / "edge_c2pa_remote_manifest.jpg").read_bytes()
    # Forced past the marker check: the offline SDK settings refuse to fetch, and the file
    # is a problem with its reason, not a verdict (the XMP reader notes the remote store).
    signals, problems = read_c2pa(data, "image/jpeg", "forced")
    assert signals == []
    assert len(problems) == 1 and problems[0].startswith("C2PA (forced): manifest ")
