"""Generator JSON beside the SD-text shapes: ComfyUI graphs in EXIF comments, JSON
``parameters`` chunks of other UIs, and hostile JSON that must not stop a read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance.detect import detect_file
from provenance.detect.families.generator_json import MAX_JSON, read_generator_json
from provenance.detect.formats.blocks import TextEntry
from tests.fixtures_media import (
    IPTC_DST,
    exif_bytes,
    itxt_chunk,
    jpeg,
    png_with_chunks,
    text_chunk,
    user_comment,
    webp,
    xmp_packet,
)

GRAPH = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "flux1-dev.safetensors"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red fox", "clip": ["4", 1]}},
    "3": {
        "class_type": "KSampler",
        "inputs": {"seed": 42, "steps": 20, "positive": ["6", 0], "model": ["4", 0]},
    },
}
WORKFLOW = {"nodes": [{"id": 4, "type": "CheckpointLoaderSimple"}], "links": []}


def _entry(keyword: str, text: str) -> TextEntry:
    return TextEntry(keyword, text, f"test {keyword}")


@pytest.mark.parametrize(
    "comment",
    [
        json.dumps(GRAPH),
        json.dumps({"prompt": GRAPH, "workflow": WORKFLOW}),
        json.dumps({"prompt": json.dumps(GRAPH), "workflow": json.dumps(WORKFLOW)}),
        json.dumps({"workflow": WORKFLOW}),
    ],
    ids=["api-graph", "wrapped", "wrapped-strings", "workflow-only"],
)
@pytest.mark.parametrize("container", ["jpeg", "webp"])
def test_comfyui_graph_in_exif_user_comment_is_comfyui(comment: str, container: str) -> None:
    exif = exif_bytes(comment=user_comment(comment))
    data = jpeg(exif=exif) if container == "jpeg" else webp(exif=exif)
    verdict = detect_file(Path(f"out.{container}"), data, sidecar=False)
    assert verdict.ai_class == "ai"
    assert verdict.generator == "ComfyUI"
    assert verdict.family == "comfyui"
    if "workflow-only" not in comment and '"4"' in comment:
        assert verdict.model == "flux1-dev.safetensors"
        assert verdict.prompt == "a red fox"


def test_comfyui_graph_in_ascii_user_comment_is_comfyui() -> None:
    data = jpeg(exif=exif_bytes(comment=user_comment(json.dumps(GRAPH), "ascii")))
    verdict = detect_file(Path("out.jpg"), data, sidecar=False)
    assert verdict.family == "comfyui"
    assert verdict.signals[0].parameters["seed"] == 42


def test_ruinedfooocus_parameters_chunk_names_ruinedfooocus() -> None:
    parameters = {
        "Prompt": "a castle in fog",
        "Negative": "",
        "steps": 30,
        "cfg": 7.5,
        "seed": 99,
        "sampler_name": "dpmpp_2m_sde_gpu",
        "base_model_name": "sd_xl_base_1.0.safetensors",
        "software": "RuinedFooocus",
    }
    data = png_with_chunks([text_chunk("parameters", json.dumps(parameters))])
    verdict = detect_file(Path("out.png"), data, sidecar=False)
    assert verdict.ai_class == "ai"
    assert verdict.generator == "RuinedFooocus"
    assert verdict.family == "ruinedfooocus"
    assert verdict.model == "sd_xl_base_1.0.safetensors"
    assert verdict.prompt == "a castle in fog"
    assert verdict.signals[0].parameters == {
        "seed": 99,
        "steps": 30,
        "sampler": "dpmpp_2m_sde_gpu",
        "cfg_scale": 7.5,
    }


def test_web_demo_parameters_chunk_is_ai_without_a_named_tool() -> None:
    # A Gradio/diffusers demo: the chunk name alone says a generation tool wrote it.
    parameters = {
        "prompt": "an astronaut",
        "negative_prompt": "",
        "resolution": "1024 x 1024",
        "guidance_scale": 5,
        "num_inference_steps": 28,
        "Model": "Animagine XL 4.0",
    }
    data = png_with_chunks([text_chunk("parameters", json.dumps(parameters))])
    verdict = detect_file(Path("out.png"), data, sidecar=False)
    assert verdict.ai_class == "ai"
    assert verdict.generator is None
    assert verdict.model == "Animagine XL 4.0"
    assert verdict.prompt == "an astronaut"


@pytest.mark.parametrize(
    ("parameters", "generator", "family"),
    [
        ({"use_stable_diffusion_model": "v1", "prompt": "p"}, "Easy Diffusion", "easydiffusion"),
        ({"software": "Fooocus-MRE v2", "prompt": "p"}, "Fooocus-MRE v2", "fooocus"),
        ({"app": "my gradio demo", "prompt": "p"}, "my gradio demo", None),
    ],
)
def test_tool_named_by_a_key_or_shape(
    parameters: dict[str, str], generator: str, family: str | None
) -> None:
    signals, _ = read_generator_json([_entry("parameters", json.dumps(parameters))])
    (signal,) = signals
    assert (signal.generator, signal.family) == (generator, family)


def test_generation_settings_json_in_user_comment_is_ai() -> None:
    comment = json.dumps({"prompt": "a cat", "seed": 1, "steps": 8})
    signals, _ = read_generator_json([_entry("UserComment", comment)])
    assert [signal.ai_class for signal in signals] == ["ai"]


@pytest.mark.parametrize(
    "comment",
    ['{"author": "me"}', '{"prompt": "say cheese"}', "[1, 2, 3]", "{}", "not json"],
)
def test_other_json_comments_are_not_ai(comment: str) -> None:
    signals, problems = read_generator_json([_entry("UserComment", comment)])
    assert signals == []
    assert problems == []


def test_empty_parameters_object_is_not_ai() -> None:
    assert read_generator_json([_entry("parameters", "{}")]) == ([], [])


def test_entries_another_reader_named_are_skipped() -> None:
    entry = _entry("UserComment", json.dumps(GRAPH))
    assert read_generator_json([entry], skip_sources=[entry.source]) == ([], [])


def test_sd_text_shapes_give_one_signal_not_two() -> None:
    swarm = json.dumps({"sui_image_params": {"prompt": "p", "model": "m"}})
    data = png_with_chunks([text_chunk("parameters", swarm)])
    verdict = detect_file(Path("out.png"), data, sidecar=False)
    assert [signal.family for signal in verdict.signals] == ["swarmui"]


def test_deeply_nested_json_is_a_problem_not_a_crash() -> None:
    nested = "[" * 200_000 + "]" * 200_000
    signals, problems = read_generator_json([_entry("parameters", nested)])
    assert signals == []
    assert problems == ["test parameters: JSON nested too deeply; skipped"]
    deep_object = '{"a":' * 100_000 + "1" + "}" * 100_000
    verdict = detect_file(
        Path("out.png"), png_with_chunks([text_chunk("parameters", deep_object)]), sidecar=False
    )
    # a parameters chunk no reader could read is a diffusion UI's mark unread: suspect
    assert verdict.ai_class == "suspect"
    assert any("nested too deeply" in problem for problem in verdict.problems)
    assert verdict.signals[0].detail["unreadable"] in verdict.problems


def test_json_over_the_cap_is_not_parsed() -> None:
    huge = '{"prompt": "' + "x" * MAX_JSON + '"}'
    signals, problems = read_generator_json([_entry("parameters", huge)])
    assert signals == []
    assert "over the" in problems[0]


def test_bad_json_is_a_problem() -> None:
    signals, problems = read_generator_json([_entry("parameters", '{"prompt": ')])
    assert signals == []
    assert problems[0].startswith("test parameters: unreadable JSON")


def test_swarmui_block_beside_a_comfyui_graph_is_named_swarmui() -> None:
    swarm = json.dumps({"sui_image_params": {"prompt": "a red fox", "model": "flux1-dev"}})
    data = png_with_chunks(
        [text_chunk("prompt", json.dumps(GRAPH)), text_chunk("parameters", swarm)]
    )
    verdict = detect_file(Path("out.png"), data, sidecar=False)
    assert sorted(signal.family for signal in verdict.signals) == ["comfyui", "swarmui"]
    assert (verdict.generator, verdict.family) == ("SwarmUI", "swarmui")


def test_swarmui_block_wrapped_with_a_graph_in_user_comment_is_swarmui() -> None:
    swarm = json.dumps({"sui_image_params": {"prompt": "a red fox"}})
    comment = json.dumps({"prompt": GRAPH, "parameters": swarm})
    data = jpeg(exif=exif_bytes(comment=user_comment(comment)))
    verdict = detect_file(Path("out.jpg"), data, sidecar=False)
    assert (verdict.generator, verdict.family) == ("SwarmUI", "swarmui")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"prompt": "a red fox", "seed": ', "unreadable JSON (Expecting value"),
        ("{'prompt': 'a red fox'}", "unreadable JSON (Expecting property name"),
        ("a red fox, by a river at dusk", "neither A1111 parameters nor JSON"),
        ("Steps: 20", "neither A1111 parameters nor JSON"),
        ("[1, 2, 3]", "JSON of no generator's settings"),
        ("{}", "JSON of no generator's settings"),
        ("  ", "empty"),
    ],
    ids=["cut-json", "python-dict", "prose", "steps-alone", "array", "empty-object", "blank"],
)
@pytest.mark.parametrize("chunk", ["tEXt", "iTXt"])
def test_a_parameters_chunk_no_reader_can_read_is_an_unread_mark(
    text: str, why: str, chunk: str
) -> None:
    # the chunk name is a diffusion UI's own: unread, it is for a person to look at
    made = text_chunk("parameters", text) if chunk == "tEXt" else itxt_chunk("parameters", text)
    verdict = detect_file(Path("out.png"), png_with_chunks([made]), sidecar=False)
    assert verdict.ai_class == "suspect"
    (signal,) = verdict.signals
    assert (signal.kind, signal.ai_class) == ("sd-text", "suspect")
    assert signal.source == f"PNG {chunk} 'parameters'"
    assert signal.detail["unreadable"].startswith(f"PNG {chunk} 'parameters': ")
    assert why in signal.detail["unreadable"]
    # the problem says why, once
    assert [p for p in verdict.problems if why in p] == [signal.detail["unreadable"]]


def test_an_unreadable_parameters_chunk_beside_a_read_mark_stays_ai() -> None:
    # another family read the file as AI: the junk chunk beside it adds no unread mark
    junk = text_chunk("parameters", "{not json")
    graph = text_chunk("prompt", json.dumps(GRAPH))
    packet = xmp_packet(digital_source_type=IPTC_DST + "trainedAlgorithmicMedia")
    xmp = itxt_chunk("XML:com.adobe.xmp", packet)
    for marks in ([graph, junk], [xmp, junk]):
        verdict = detect_file(Path("out.png"), png_with_chunks(marks), sidecar=False)
        assert verdict.ai_class == "ai"
        assert [signal.ai_class for signal in verdict.signals] == ["ai"]


def test_only_a_png_parameters_chunk_is_an_unread_mark() -> None:
    # a JPEG comment, an EXIF UserComment of prose say nothing: no mark, nothing unread
    data = jpeg(exif=exif_bytes(comment=user_comment("a holiday snap")))
    assert detect_file(Path("out.jpg"), data, sidecar=False).ai_class == "none"
    other = png_with_chunks([text_chunk("Comment", "{not json")])
    assert detect_file(Path("out.png"), other, sidecar=False).ai_class == "none"
