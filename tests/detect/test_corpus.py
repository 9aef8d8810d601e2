"""Every real sample in the shared corpus gets the class and generator family it should."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.detect import Verdict, detect_file
from tests.detect.corpus import CORPUS, corpus_rows

EXPECTED_CLASS = {"yes": "ai", "partial": "partial", "no": "none"}

#: MANIFEST.tsv's free-text ``generator`` column -> our family key.
FAMILY = {
    "ChatGPT (OpenAI)": "openai",
    "OpenAI gpt-image": "openai",
    "Sora (OpenAI)": "openai",
    "Google generative AI (Gemini/Imagen)": "google",
    "Google Gemini": "google",
    "Google generative AI (video)": "google",
    "Microsoft Image Creator from Designer": "microsoft",
    "Adobe Photoshop + Firefly": "adobe",
    "Adobe Express + Firefly": "adobe",
    "AUTOMATIC1111": "a1111",
    "AUTOMATIC1111 (stealth-pnginfo)": "a1111",
    "Forge Neo": "a1111",
    "Civitai generator": "civitai",
    "ComfyUI": "comfyui",
    "ComfyUI (Mochi video model)": "comfyui",
    "ComfyUI (Save Image Extended node)": "comfyui",
    "ComfyUI (Flux, A1111-format text)": "comfyui",
    "InvokeAI 3+": "invokeai",
    "InvokeAI 2.x": "invokeai",
    "InvokeAI 1.x (Dream)": "invokeai",
    "Fooocus": "fooocus",
    "SwarmUI": "swarmui",
    "NovelAI (legacy)": "novelai",
    "NovelAI Diffusion V4.5": "novelai",
    "Draw Things": "drawthings",
}

#: Files whose AI origin left no mark that a header read can see.
NEEDS_DEEP = {"sd_a1111_stealth_alpha.png"}
KNOWN_MISS = {"edge_ai_stripped.jpg"}

ROWS = corpus_rows()
ROW_IDS = [row["file"] for row in ROWS]


def _read(path: Path, as_bytes: bool, *, deep: bool = False) -> Verdict:
    data = path.read_bytes() if as_bytes else None
    return detect_file(path, data, deep=deep)


def test_the_real_sample_corpus_is_there(corpus: Path) -> None:
    assert ROWS, f"{corpus}/MANIFEST.tsv lists no file"


@pytest.mark.parametrize("as_bytes", [False, True], ids=["path", "bytes"])
@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
@pytest.mark.timeout(30)
def test_corpus_file_gets_expected_class_and_family(row: dict[str, str], as_bytes: bool) -> None:
    name = row["file"]
    verdict = _read(CORPUS / name, as_bytes)
    if name in NEEDS_DEEP or name in KNOWN_MISS:
        assert verdict.ai_class == "none", "header-only detection cannot see this mark"
        return
    assert verdict.ai_class == EXPECTED_CLASS[row["expected_ai"]], verdict
    if verdict.ai_class != "none":
        assert verdict.family == FAMILY[row["generator"]], verdict


@pytest.mark.parametrize("as_bytes", [False, True], ids=["path", "bytes"])
def test_stealth_alpha_sample_found_only_with_deep(corpus: Path, as_bytes: bool) -> None:
    path = corpus / "sd_a1111_stealth_alpha.png"
    assert _read(path, as_bytes).ai_class == "none"
    verdict = _read(path, as_bytes, deep=True)
    assert verdict.ai_class == "ai"
    assert verdict.family == "a1111"
    assert [signal.kind for signal in verdict.signals] == ["watermark"]
    assert verdict.prompt == "a circle"


def test_stripped_ai_jpeg_is_the_known_miss(corpus: Path) -> None:
    # Every metadata block was removed: only a path rule or a manual tag can find it.
    verdict = detect_file(corpus / "edge_ai_stripped.jpg", deep=True)
    assert verdict.ai_class == "none"
    assert verdict.signals == ()


def test_remote_manifest_sample_is_not_fetched(corpus: Path) -> None:
    verdict = detect_file(corpus / "edge_c2pa_remote_manifest.jpg")
    assert verdict.ai_class == "none"
    remote = [signal for signal in verdict.signals if "remote_manifest" in signal.detail]
    assert remote
    assert remote[0].detail["fetched"] is False


def test_openai_ingredient_sample_records_signature_state_apart(corpus: Path) -> None:
    verdict = detect_file(corpus / "c2pa_openai_chatgpt_ingredient.png")
    assert verdict.ai_class == "ai"
    (signal,) = verdict.signals
    assert signal.detail["validation_state"] == "Invalid"
    assert "signingCredential.untrusted" in signal.detail["validation_codes"]
    assert signal.detail["signer"] == "OpenAI"


def test_sd_sample_carries_model_prompt_and_seed(corpus: Path) -> None:
    verdict = detect_file(corpus / "sd_a1111_cropped.png")
    assert verdict.model == "realistic_realisticVisionV20_v20"
    assert verdict.prompt == "photo of a duck"
    (signal,) = verdict.signals
    assert signal.parameters["seed"] == 235284042
    assert signal.parameters["steps"] == 15


def test_png_named_jpeg_is_sniffed_as_png(corpus: Path) -> None:
    verdict = detect_file(corpus / "comfyui_png_named_jpeg.jpeg")
    assert verdict.media_type == "image/png"
    assert verdict.family == "comfyui"
