"""Read Stable Diffusion family text: A1111/Forge parameters and the generators' JSON."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from provenance.detect import sd_json
from provenance.detect.model import Signal
from provenance.detect.parts import TextEntry

log = logging.getLogger(__name__)

#: JSON larger than this is not parsed (a generator's metadata is kilobytes, rarely MBs).
MAX_JSON = 8 * 1024 * 1024
_A1111_PAIR = re.compile(r'\s*([\w][\w \-/]*):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')
_COMFY_PREFIX = re.compile(r"^\s*(workflow|prompt)\s*:\s*(?=\{)", re.IGNORECASE)


def read_sd_text(texts: Sequence[TextEntry]) -> tuple[list[Signal], list[str]]:
    """Return the Stable Diffusion family signals found in text chunks or EXIF text.

    ``texts`` are keyword/text pairs: PNG text chunks as they are, EXIF fields as
    ``UserComment``, ``Software``, ``Description``, and ComfyUI's ``workflow:``/``prompt:``
    EXIF values already split into ``workflow``/``prompt`` entries.
    """
    problems: list[str] = []
    by_key: dict[str, TextEntry] = {}
    for entry in _expand(texts, problems):
        by_key.setdefault(entry.keyword, entry)
    signals: list[Signal] = []
    for read in (_read_novelai, _read_invokeai, _read_comfyui, _read_parameters):
        signal = read(by_key, problems)
        if signal is not None:
            signals.append(signal)
    return signals, problems


def load_json(text: str, what: str, problems: list[str]) -> Any:
    """Return parsed JSON, or None (with a problem when it was JSON-looking but bad)."""
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    if len(stripped) > MAX_JSON:
        problems.append(f"{what}: JSON of {len(stripped)} characters over the cap; skipped")
        return None
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError) as exc:
        problems.append(f"{what}: unreadable JSON ({str(exc)[:80]})")
        return None


def _expand(texts: Sequence[TextEntry], problems: list[str]) -> list[TextEntry]:
    """Unwrap ComfyUI's ``workflow:{json}`` values and NovelAI's JSON-in-UserComment."""
    expanded = []
    for entry in texts:
        match = _COMFY_PREFIX.match(entry.text[:64])
        if match:
            keyword = match.group(1).lower()
            expanded.append(TextEntry(keyword, entry.text[match.end() :], entry.source))
            continue
        if entry.keyword in ("UserComment", "parameters"):
            data = load_json(entry.text, entry.source, problems)
            if isinstance(data, Mapping) and "Software" in data and "Comment" in data:
                expanded.extend(
                    TextEntry(
                        str(key),
                        value if isinstance(value, str) else json.dumps(value),
                        entry.source,
                    )
                    for key, value in data.items()
                )
                continue
        expanded.append(entry)
    return expanded


def _read_novelai(by_key: Mapping[str, TextEntry], problems: list[str]) -> Signal | None:
    software = by_key.get("Software")
    if software is None or "novelai" not in software.text.lower():
        return None
    comment = by_key.get("Comment")
    data = load_json(comment.text, comment.source, problems) if comment else None
    data = data if isinstance(data, Mapping) else {}
    source = by_key.get("Source")
    description = by_key.get("Description")
    prompt = data.get("prompt") or (description.text if description else None)
    return Signal(
        kind="sd-text",
        ai_class="ai",
        generator=source.text if source and "novelai" in source.text.lower() else "NovelAI",
        family="novelai",
        model=source.text if source else None,
        prompt=str(prompt) if prompt else None,
        parameters=_pick(data, seed="seed", steps="steps", sampler="sampler", cfg="scale"),
        confidence=0.95,
        source=software.source,
    )


def _read_invokeai(by_key: Mapping[str, TextEntry], problems: list[str]) -> Signal | None:
    for keyword in ("invokeai_metadata", "sd-metadata", "Dream"):
        entry = by_key.get(keyword)
        if entry is None:
            continue
        source = entry.source

        def load(text: str, source: str = source) -> Any:
            return load_json(text, source, problems)

        fields = sd_json.invokeai_fields(keyword, entry.text, load)
        return Signal(
            kind="sd-text",
            ai_class="ai",
            generator="InvokeAI",
            family="invokeai",
            model=fields.pop("model", None),
            prompt=fields.pop("prompt", None),
            parameters=fields,
            confidence=0.95,
            source=entry.source,
        )
    return None


def _read_comfyui(by_key: Mapping[str, TextEntry], problems: list[str]) -> Signal | None:
    prompt_entry, workflow_entry = by_key.get("prompt"), by_key.get("workflow")
    graph = load_json(prompt_entry.text, prompt_entry.source, problems) if prompt_entry else None
    workflow = (
        load_json(workflow_entry.text, workflow_entry.source, problems) if workflow_entry else None
    )
    if not sd_json.is_comfy_graph(graph) and not sd_json.is_comfy_workflow(workflow):
        return None
    fields = sd_json.comfy_fields(graph) if isinstance(graph, Mapping) else {}
    entry = prompt_entry if sd_json.is_comfy_graph(graph) else workflow_entry
    return Signal(
        kind="sd-text",
        ai_class="ai",
        generator="ComfyUI",
        family="comfyui",
        model=fields.pop("model", None),
        prompt=fields.pop("prompt", None),
        parameters=fields,
        confidence=0.95,
        source=entry.source if entry else "",
    )


def _read_parameters(by_key: Mapping[str, TextEntry], problems: list[str]) -> Signal | None:
    entry = by_key.get("parameters") or by_key.get("UserComment") or by_key.get("Comment")
    if entry is None:
        return None
    data = load_json(entry.text, entry.source, problems)
    if isinstance(data, Mapping):
        fields = sd_json.json_parameter_fields(data, fooocus="fooocus_scheme" in by_key)
        if fields is None:
            return None
        generator, family = fields.pop("generator"), fields.pop("family")
    else:
        parsed = parse_a1111(entry.text)
        if parsed is None:
            return None
        fields = parsed
        generator, family = _a1111_generator(entry.text, fields)
    return Signal(
        kind="sd-text",
        ai_class="ai",
        generator=generator,
        family=family,
        model=fields.pop("model", None),
        prompt=fields.pop("prompt", None),
        parameters=fields,
        confidence=0.95,
        source=entry.source,
    )


def parse_a1111(text: str) -> dict[str, Any] | None:
    """Return the fields of AUTOMATIC1111-format parameters, None if ``text`` is not that.

    The format: prompt lines, an optional ``Negative prompt:`` line, then one line of
    ``Key: value`` pairs that starts with ``Steps:``.
    """
    if "Steps: " not in text:  # most text is not parameters: the common case, cheaply
        return None
    lines = text.strip().splitlines()
    if not lines:
        return None
    index = max((i for i, line in enumerate(lines) if line.startswith("Steps: ")), default=-1)
    if index < 0:
        return None
    settings = dict(
        (key.strip(), value.strip().strip('"')) for key, value in _A1111_PAIR.findall(lines[index])
    )
    if "Sampler" not in settings and "Seed" not in settings:
        return None
    head = "\n".join(lines[:index])
    prompt, _, negative = head.partition("Negative prompt:")
    fields: dict[str, Any] = {
        "prompt": prompt.strip() or None,
        "negative_prompt": negative.strip() or None,
        "model": settings.get("Model"),
        "model_hash": settings.get("Model hash"),
        "steps": _int(settings.get("Steps")),
        "sampler": settings.get("Sampler"),
        "cfg_scale": settings.get("CFG scale"),
        "seed": _int(settings.get("Seed")),
        "size": settings.get("Size"),
        "version": settings.get("Version"),
    }
    return {key: value for key, value in fields.items() if value is not None or key == "prompt"}


def _a1111_generator(text: str, fields: Mapping[str, Any]) -> tuple[str, str]:
    """Name the tool behind A1111-format text: its ``Version`` and Civitai's extra keys."""
    version = str(fields.get("version") or "")
    if version.lower().startswith("comfyui"):
        return "ComfyUI", "comfyui"
    if version.lower().startswith("fooocus"):
        return "Fooocus", "fooocus"
    if "Civitai resources:" in text or "Civitai metadata:" in text:
        return "Civitai", "civitai"
    if version.lower() == "neo" or re.match(r"f\d", version):
        return "Stable Diffusion WebUI Forge", "a1111"
    return "AUTOMATIC1111", "a1111"


def _pick(data: Mapping[str, Any], **names: str) -> dict[str, Any]:
    return {ours: data[theirs] for ours, theirs in names.items() if data.get(theirs) is not None}


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
