"""SD-family text in PNG chunks and EXIF UserComment names the tool, model and prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance.detect import detect_file
from provenance.detect.families.parameters_text import parse_a1111, read_parameters_text
from provenance.detect.formats.blocks import TextEntry
from provenance.detect.formats.tiff import decode_user_comment
from tests.fixtures_media import (
    A1111_PARAMETERS,
    exif_bytes,
    jpeg,
    png_with_chunks,
    text_chunk,
    user_comment,
    webp,
)


def _entry(keyword: str, text: str) -> TextEntry:
    return TextEntry(keyword, text, f"test {keyword}")


def test_parse_a1111_reads_prompt_negative_and_settings() -> None:
    fields = parse_a1111(A1111_PARAMETERS)
    assert fields is not None
    assert fields["prompt"] == "a lighthouse at dusk, oil painting"
    assert fields["negative_prompt"] == "blurry"
    assert fields["seed"] == 1234
    assert fields["steps"] == 20
    assert fields["sampler"] == "Euler a"
    assert fields["model"] == "testModel_v1"


@pytest.mark.parametrize(
    "text", ["Steps to reproduce: open the file", "a photo of a cat", "", "Steps: many"]
)
def test_parse_a1111_rejects_ordinary_text(text: str) -> None:
    assert parse_a1111(text) is None


@pytest.mark.parametrize(
    ("version", "family"),
    [("v1.10.1", "a1111"), ("ComfyUI", "comfyui"), ("neo", "a1111"), ("Fooocus v2.5", "fooocus")],
)
def test_a1111_version_names_the_tool(version: str, family: str) -> None:
    text = A1111_PARAMETERS.replace("Version: v1.10.1", f"Version: {version}")
    signals, _ = read_parameters_text([_entry("parameters", text)])
    assert signals[0].family == family


def test_comfyui_graph_gives_model_prompt_and_seed() -> None:
    graph = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl.safetensors"}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red fox", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "ugly", "clip": ["4", 1]}},
        "3": {
            "class_type": "KSampler",
            "inputs": {"seed": 42, "steps": 8, "positive": ["6", 0], "negative": ["7", 0]},
        },
    }
    signals, problems = read_parameters_text([_entry("prompt", json.dumps(graph))])
    assert problems == []
    (signal,) = signals
    assert signal.family == "comfyui"
    assert (signal.model, signal.prompt) == ("sdxl.safetensors", "a red fox")
    assert signal.parameters["seed"] == 42


def test_comfyui_exif_prefix_values_are_unwrapped() -> None:
    workflow = json.dumps({"nodes": [], "links": []})
    signals, _ = read_parameters_text([_entry("Make", f"workflow:{workflow}")])
    assert signals[0].family == "comfyui"


def test_invokeai_novelai_swarm_and_fooocus_shapes() -> None:
    cases = {
        "invokeai": [_entry("invokeai_metadata", '{"positive_prompt": "p", "seed": 1}')],
        "novelai": [
            _entry("Software", "NovelAI"),
            _entry("Source", "NovelAI Diffusion V4.5 ABCD"),
            _entry("Comment", '{"prompt": "p", "steps": 28, "seed": 3}'),
        ],
        "swarmui": [_entry("UserComment", '{"sui_image_params": {"prompt": "p", "model": "m"}}')],
        "fooocus": [_entry("parameters", '{"prompt": "p"}'), _entry("fooocus_scheme", "fooocus")],
    }
    for family, entries in cases.items():
        signals, _ = read_parameters_text(entries)
        assert [signal.family for signal in signals] == [family]


def test_plain_comment_json_is_not_a_signal() -> None:
    signals, _ = read_parameters_text([_entry("Comment", '{"author": "me"}')])
    assert signals == []


@pytest.mark.parametrize("encoding", ["utf-16-be", "utf-16-le", "ascii"])
def test_user_comment_prefixes_decode(encoding: str) -> None:
    assert decode_user_comment(user_comment("Steps: 1", encoding)) == "Steps: 1"


def test_user_comment_without_prefix_is_utf8() -> None:
    assert decode_user_comment("Prompt: é".encode()) == "Prompt: é"


@pytest.mark.parametrize("encoding", ["utf-16-be", "utf-16-le"])
def test_jpeg_exif_user_comment_parameters_are_ai(encoding: str) -> None:
    data = jpeg(exif=exif_bytes(comment=user_comment(A1111_PARAMETERS, encoding)))
    verdict = detect_file(Path("out.jpg"), data, sidecar=False)
    assert verdict.ai_class == "ai"
    assert verdict.family == "a1111"
    assert verdict.model == "testModel_v1"


def test_webp_exif_user_comment_parameters_are_ai() -> None:
    data = webp(exif=exif_bytes(comment=user_comment(A1111_PARAMETERS)))
    verdict = detect_file(Path("out.webp"), data, sidecar=False)
    assert verdict.media_type == "image/webp"
    assert verdict.ai_class == "ai"


def test_huge_json_is_skipped_with_a_problem() -> None:
    from provenance.detect.families.parameters_text import MAX_JSON

    huge = '{"prompt": "' + "x" * (MAX_JSON + 10) + '"}'
    signals, problems = read_parameters_text([_entry("prompt", huge)])
    assert signals == []
    assert any("over the cap" in problem for problem in problems)


def test_png_text_that_is_not_sd_gives_nothing() -> None:
    data = png_with_chunks([text_chunk("Comment", "made with GIMP"), text_chunk("Title", "cat")])
    verdict = detect_file(Path("cat.png"), data, sidecar=False)
    assert verdict.ai_class == "none"
    assert verdict.signals == ()
