"""Pull model, prompt and seed out of the JSON that SD-family generators write, and make the
``sd-text`` signal of them (shared by the parameters-text and generator-JSON families)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from provenance.detect.signals import Signal

log = logging.getLogger(__name__)

_DREAM_SEED = re.compile(r"\s-S\s*(\d+)")
_DREAM_STEPS = re.compile(r"\s-s\s*(\d+)")
_CHECKPOINT_INPUTS = ("ckpt_name", "unet_name", "model_name", "base_ckpt_name")


def sd_text_signal(
    generator: str | None,
    family: str | None,
    fields: dict[str, Any],
    source: str,
    confidence: float = 0.95,
) -> Signal:
    """Return the ``sd-text`` signal of a generator's fields: their ``model`` and ``prompt``
    name the model and prompt, the rest are its parameters."""
    return Signal(
        kind="sd-text",
        ai_class="ai",
        generator=generator,
        family=family,
        model=fields.pop("model", None),
        prompt=fields.pop("prompt", None),
        parameters=fields,
        confidence=confidence,
        source=source,
    )


def invokeai_fields(keyword: str, text: str, load: Callable[[str], Any]) -> dict[str, Any]:
    """Return model/prompt/seed/steps from InvokeAI's ``invokeai_metadata``, ``sd-metadata``
    (JSON) or ``Dream`` (a command line: ``"prompt" -s 50 -S 42``)."""
    if keyword == "Dream":
        prompt = text.split('"')[1] if text.count('"') >= 2 else text
        seed, steps = _DREAM_SEED.search(text), _DREAM_STEPS.search(text)
        return _clean(
            {
                "prompt": prompt,
                "seed": int(seed.group(1)) if seed else None,
                "steps": int(steps.group(1)) if steps else None,
            }
        )
    data = load(text)
    if not isinstance(data, Mapping):
        return {}
    if keyword == "invokeai_metadata":
        model = data.get("model")
        name = model.get("model_name") or model.get("name") if isinstance(model, Mapping) else model
        return _clean(
            {
                "prompt": data.get("positive_prompt"),
                "model": name,
                "seed": data.get("seed"),
                "steps": data.get("steps"),
            }
        )
    image = data.get("image")
    image = image if isinstance(image, Mapping) else {}
    image_prompt: Any = image.get("prompt")
    if isinstance(image_prompt, list) and image_prompt and isinstance(image_prompt[0], Mapping):
        image_prompt = image_prompt[0].get("prompt")
    return _clean(
        {
            "prompt": image_prompt,
            "model": data.get("model_weights"),
            "seed": image.get("seed"),
            "steps": image.get("steps"),
        }
    )


def is_comfy_graph(data: Any) -> bool:
    """Say whether ``data`` is a ComfyUI API graph: ``{"3": {"class_type": ...}, ...}``."""
    return isinstance(data, Mapping) and any(
        isinstance(node, Mapping) and "class_type" in node for node in data.values()
    )


def is_comfy_workflow(data: Any) -> bool:
    """Say whether ``data`` is a ComfyUI UI workflow: ``{"nodes": [...], "links": [...]}``."""
    return isinstance(data, Mapping) and isinstance(data.get("nodes"), list)


def comfy_fields(graph: Mapping[str, Any]) -> dict[str, Any]:
    """Return model, prompt, seed and steps from a ComfyUI API graph.

    The model comes from a checkpoint/UNet loader node; the prompt is the text of the node
    wired into a sampler's ``positive`` input, else the first CLIPTextEncode text.
    """
    nodes = {key: node for key, node in graph.items() if isinstance(node, Mapping)}
    fields: dict[str, Any] = {}
    for node in nodes.values():
        inputs = _inputs(node)
        kind = str(node.get("class_type", ""))
        for name in _CHECKPOINT_INPUTS:
            if "model" not in fields and isinstance(inputs.get(name), str):
                fields["model"] = inputs[name]
        if "Sampler" in kind:
            fields.setdefault("sampler_node", kind)
            for ours, theirs in (("seed", "seed"), ("seed", "noise_seed"), ("steps", "steps")):
                if ours not in fields and isinstance(inputs.get(theirs), int):
                    fields[ours] = inputs[theirs]
            positive = inputs.get("positive")
            if "prompt" not in fields and isinstance(positive, list) and positive:
                text = _node_text(nodes.get(str(positive[0])))
                if text:
                    fields["prompt"] = text
    if "prompt" not in fields:
        for node in nodes.values():
            text = _node_text(node) if "CLIPTextEncode" in str(node.get("class_type")) else None
            if text:
                fields["prompt"] = text
                break
    return fields


def _node_text(node: Mapping[str, Any] | None) -> str | None:
    if not isinstance(node, Mapping):
        return None
    inputs = _inputs(node)
    for name in ("text", "text_g", "prompt"):
        if isinstance(inputs.get(name), str) and inputs[name].strip():
            return str(inputs[name])
    return None


def json_parameter_fields(data: Mapping[str, Any], *, fooocus: bool) -> dict[str, Any] | None:
    """Return generator, family and fields of a JSON ``parameters``/UserComment, or None.

    Known shapes: SwarmUI (``sui_image_params``), Fooocus (``fooocus_scheme`` chunk or its
    ``base_model``/``full_prompt`` keys), Draw Things (``c`` prompt plus ``sampler``).
    """
    swarm = data.get("sui_image_params")
    if isinstance(swarm, Mapping):
        return _clean(
            {
                "generator": "SwarmUI",
                "family": "swarmui",
                "prompt": swarm.get("prompt"),
                "negative_prompt": swarm.get("negativeprompt"),
                "model": swarm.get("model"),
                "seed": swarm.get("seed"),
                "steps": swarm.get("steps"),
                "sampler": swarm.get("sampler"),
            }
        )
    if fooocus or ("base_model" in data and "full_prompt" in data):
        return _clean(
            {
                "generator": "Fooocus",
                "family": "fooocus",
                "prompt": data.get("prompt") or data.get("Prompt"),
                "negative_prompt": data.get("negative_prompt"),
                "model": data.get("base_model") or data.get("Base Model"),
                "seed": data.get("seed") or data.get("Seed"),
                "steps": data.get("steps") or data.get("Steps"),
                "sampler": data.get("sampler") or data.get("Sampler"),
            }
        )
    if isinstance(data.get("c"), str) and "sampler" in data and "seed" in data:
        return _clean(
            {
                "generator": "Draw Things",
                "family": "drawthings",
                "prompt": data.get("c"),
                "negative_prompt": data.get("uc"),
                "model": data.get("model"),
                "seed": data.get("seed"),
                "steps": data.get("steps"),
                "sampler": data.get("sampler"),
            }
        )
    return None


def _inputs(node: Mapping[str, Any]) -> Mapping[str, Any]:
    inputs = node.get("inputs")
    return inputs if isinstance(inputs, Mapping) else {}


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}
