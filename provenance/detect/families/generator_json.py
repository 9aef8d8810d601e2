"""Read generator JSON the parameters-text family leaves aside: ComfyUI graphs in EXIF comments and
JSON ``parameters`` chunks written by UIs other than A1111, Fooocus and SwarmUI.

Two classes of file made this family: ComfyUI save nodes and hosted generators that put the
API graph (or ``{"prompt": graph, "workflow": ui}``) in EXIF ``UserComment`` of a JPEG or
WebP, and web UIs (RuinedFooocus, Gradio demo apps) that write a JSON object into a PNG
``parameters`` chunk. That chunk name is a generation tool's own: any JSON object there is
a mark, even when no key names the tool.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from provenance.detect.families import sd_json
from provenance.detect.formats.blocks import TextEntry
from provenance.detect.reading import Found, Reading
from provenance.detect.signals import Signal, unreadable_mark
from provenance.detect.vocab import find_generator

log = logging.getLogger(__name__)

#: The largest JSON text parsed (a graph with its UI workflow is tens of kilobytes; a
#: hostile file can hold megabytes). Bounded before ``json.loads`` ever sees it.
MAX_JSON = 4 * 1024 * 1024
#: Keywords whose JSON this family reads: PNG ``parameters``, EXIF/XMP ``UserComment``,
#: JPEG COM and EXIF XPComment (``Comment``), EXIF ImageDescription (``Description``).
_KEYWORDS = ("parameters", "UserComment", "Comment", "Description")
#: Keys that name the tool in a generic JSON ``parameters`` object.
_TOOL_KEYS = ("software", "Software", "generator", "Generator", "app", "App", "tool")
_PROMPT_KEYS = ("prompt", "Prompt", "positive_prompt", "positive", "c")
#: Our parameter name -> the keys generators use for it, first found wins.
_SETTINGS: dict[str, tuple[str, ...]] = {
    "seed": ("seed", "Seed"),
    "steps": ("steps", "Steps", "num_inference_steps"),
    "sampler": ("sampler", "Sampler", "sampler_name"),
    "cfg_scale": ("cfg", "cfg_scale", "CFG scale", "guidance_scale"),
    "scheduler": ("scheduler",),
}
#: Known shapes of a JSON ``parameters`` object: (a key that must be present, the tool
#: named when it is, its family key).
_SHAPES: tuple[tuple[str, str, str], ...] = (
    ("use_stable_diffusion_model", "Easy Diffusion", "easydiffusion"),
    ("resource-stack", "Civitai", "civitai"),
    ("v4_prompt", "NovelAI", "novelai"),
)


def read(reading: Reading) -> Found:
    """The family's entry point: the file's text entries, but for those the parameters-text
    family (which ran before) already made an ``sd-text`` signal of. A problem another
    family already met in the same text (the same bad JSON) is not repeated."""
    if not reading.texts:
        return [], []
    known = [signal.source for signal in reading.signals if signal.kind == "sd-text"]
    found, trouble = read_generator_json(reading.texts, known)
    problems = [problem for problem in dict.fromkeys(trouble) if problem not in reading.problems]
    if not found:
        found, why = unread_parameters(
            reading.texts, reading.signals, [*reading.problems, *problems]
        )
        problems += why
    return found, problems


def unread_parameters(
    texts: Sequence[TextEntry], signals: Sequence[Signal], problems: Sequence[str]
) -> Found:
    """Return the ``suspect`` signal of a PNG ``parameters`` chunk no family could read (bad
    JSON, JSON of no settings, neither A1111 text nor JSON), unless a family before read
    the file as AI or read a generator's text in it: that chunk name is a diffusion UI's
    own, and a chunk of it that says nothing readable is a mark unread, for a person to
    look at. Its problem is the one met reading it (in ``problems``), else what the text
    is not (returned, a new problem)."""
    if any(signal.ai_class in ("ai", "partial") or signal.kind == "sd-text" for signal in signals):
        return [], []
    entry = next(
        (e for e in texts if e.keyword == "parameters" and e.source.startswith("PNG ")), None
    )
    if entry is None:
        return [], []
    met = next((problem for problem in problems if problem.startswith(f"{entry.source}:")), None)
    if met is not None:
        return [unreadable_mark("sd-text", entry.source, met)], []
    stripped = entry.text.strip().strip("\x00")
    if not stripped:
        what = "empty"
    elif stripped.startswith(("{", "[")):
        what = "JSON of no generator's settings"
    else:
        what = "neither A1111 parameters nor JSON"
    met = f"{entry.source}: {what}"
    return [unreadable_mark("sd-text", entry.source, met)], [met]


def read_generator_json(
    texts: Sequence[TextEntry], skip_sources: Iterable[str] = ()
) -> tuple[list[Signal], list[str]]:
    """Return the signals of generator JSON in ``texts``, one per entry at most.

    ``skip_sources`` are the sources another family already made a signal of (the
    parameters-text family knows A1111, Fooocus, SwarmUI, InvokeAI and NovelAI JSON); they
    are not read again. JSON over :data:`MAX_JSON` characters, malformed or nested past the
    interpreter's recursion limit is a problem, never an exception.
    """
    skipped = set(skip_sources)
    signals: list[Signal] = []
    problems: list[str] = []
    for entry in texts:
        if entry.keyword not in _KEYWORDS or entry.source in skipped:
            continue
        data = load_bounded(entry.text, entry.source, problems)
        if not isinstance(data, Mapping) or not data:
            continue
        signal = _read_object(entry, data, problems)
        if signal is not None:
            signals.append(signal)
    return signals, problems


def load_bounded(text: str, what: str, problems: list[str], cap: int = MAX_JSON) -> Any:
    """Return the JSON value of ``text`` if it looks like an object or array, else None.

    Text longer than ``cap`` is not parsed; bad or too deeply nested JSON adds a problem.
    """
    stripped = text.strip().strip("\x00")
    if not stripped.startswith(("{", "[")):
        return None
    if len(stripped) > cap:
        problems.append(f"{what}: JSON of {len(stripped)} characters over the {cap} cap; skipped")
        return None
    try:
        return json.loads(stripped)
    except RecursionError:
        problems.append(f"{what}: JSON nested too deeply; skipped")
    except ValueError as exc:
        problems.append(f"{what}: unreadable JSON ({str(exc)[:80]})")
    return None


def _read_object(entry: TextEntry, data: Mapping[str, Any], problems: list[str]) -> Signal | None:
    comfy = _comfy_signal(entry, data, problems)
    if comfy is not None:
        return comfy
    tool = _named_tool(data)
    if tool is None and entry.keyword != "parameters" and not _looks_generated(data):
        return None  # a JSON comment that is not generation settings says nothing
    generator, family = tool or (None, None)
    return Signal(
        kind="sd-text",
        ai_class="ai",
        generator=generator,
        family=family,
        model=_first_text(data, "base_model_name", "model", "Model", "base_model"),
        prompt=_first_text(data, *_PROMPT_KEYS),
        parameters=_settings(data),
        confidence=0.9 if tool is not None else 0.8,
        source=entry.source,
    )


def _comfy_signal(entry: TextEntry, data: Mapping[str, Any], problems: list[str]) -> Signal | None:
    """Return a ComfyUI (or SwarmUI) signal when ``data`` is or wraps a ComfyUI graph."""
    graph: Any = data if sd_json.is_comfy_graph(data) else None
    workflow: Any = data if sd_json.is_comfy_workflow(data) else None
    if graph is None and workflow is None:
        graph = _unwrap(data.get("prompt"), entry.source, problems)
        workflow = _unwrap(data.get("workflow"), entry.source, problems)
        graph = graph if sd_json.is_comfy_graph(graph) else None
        workflow = workflow if sd_json.is_comfy_workflow(workflow) else None
    if graph is None and workflow is None:
        return None
    fields = sd_json.comfy_fields(graph) if graph is not None else {}
    # SwarmUI runs on ComfyUI and may copy its own parameter block beside the graph.
    swarm = _unwrap(data.get("parameters"), entry.source, problems)
    swarm_fields = (
        sd_json.json_parameter_fields(swarm, fooocus=False) if isinstance(swarm, Mapping) else None
    )
    generator, family = "ComfyUI", "comfyui"
    if swarm_fields is not None and swarm_fields.get("family") == "swarmui":
        generator, family = "SwarmUI", "swarmui"
    return sd_json.sd_text_signal(generator, family, fields, entry.source)


def _unwrap(value: Any, what: str, problems: list[str]) -> Any:
    """Return a nested JSON value, parsing it when it was stored as a JSON string."""
    if isinstance(value, str):
        return load_bounded(value, what, problems)
    return value


def _named_tool(data: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """Return (generator, family) when a key or a known shape names the tool."""
    for key in _TOOL_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            name = value.strip()[:200]
            if name.lower().replace(" ", "") == "ruinedfooocus":
                return "RuinedFooocus", "ruinedfooocus"
            known = find_generator(name)
            return name, known.family if known is not None else None
    for key, generator, family in _SHAPES:
        if key in data:
            return generator, family
    return None


def _looks_generated(data: Mapping[str, Any]) -> bool:
    """Say whether a JSON object has a prompt and a sampler setting (seed, steps, ...)."""
    has_prompt = any(isinstance(data.get(key), str) for key in _PROMPT_KEYS)
    return has_prompt and any(key in data for keys in _SETTINGS.values() for key in keys)


def _settings(data: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for ours, theirs in _SETTINGS.items():
        for key in theirs:
            value = data.get(key)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                found[ours] = value
                break
    return found


def _first_text(data: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None
