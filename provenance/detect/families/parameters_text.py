"""The parameters-text family: the generation parameters an image generator writes as text
(a PNG ``parameters`` chunk, EXIF ``UserComment``): AUTOMATIC1111's format (prompt, negative
prompt, ``Steps: ..., Sampler: ...``), which Forge, Fooocus, Civitai, NovelAI and others
write too, and the Stable Diffusion UIs' own JSON (ComfyUI, InvokeAI, NovelAI, SwarmUI).

Its signals keep the kind ``sd-text`` (the catalog's name for them).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from provenance.detect.families import sd_json
from provenance.detect.formats.blocks import TextEntry
from provenance.detect.reading import Found, Reading
from provenance.detect.signals import Signal, unreadable_mark

log = logging.getLogger(__name__)

#: JSON larger than this is not parsed (a generator's metadata is kilobytes, rarely MBs).
MAX_JSON = 8 * 1024 * 1024
_COMFY_PREFIX = re.compile(r"^\s*(workflow|prompt)\s*:\s*(?=\{)", re.IGNORECASE)


#: Keywords only a Stable Diffusion UI writes: such an entry that is there but could not be
#: read (a chunk that inflates past its cap, corrupt compression) is a mark unread.
GENERATOR_KEYWORDS = (
    "parameters",
    "prompt",
    "workflow",
    "invokeai_metadata",
    "sd-metadata",
    "Dream",
)


def read(reading: Reading) -> Found:
    """The family's entry point: the file's text entries (text chunks, comments, XMP and
    EXIF text fields). A generator's entry that is there but could not be read gives a
    ``suspect`` signal when nothing else of the family was read: a person looks at it."""
    signals: list[Signal] = []
    problems: list[str] = []
    if reading.texts:
        signals, problems = read_parameters_text(reading.texts)
    if not signals:
        unread = reading.parts.unread
        signals = [
            unreadable_mark("sd-text", unread[keyword].source, unread[keyword].problem)
            for keyword in GENERATOR_KEYWORDS
            if keyword in unread
        ][:1]
    return signals, problems


def read_parameters_text(texts: Sequence[TextEntry]) -> tuple[list[Signal], list[str]]:
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
    # the same bad JSON is met by each reader that tries it: said once
    return signals, list(dict.fromkeys(problems))


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
        return sd_json.sd_text_signal("InvokeAI", "invokeai", fields, entry.source)
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
    return sd_json.sd_text_signal("ComfyUI", "comfyui", fields, entry.source if entry else "")


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
    return sd_json.sd_text_signal(generator, family, fields, entry.source)


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
    settings = a1111_settings(lines[index])
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


def a1111_settings(line: str) -> dict[str, str]:
    """Return the ``Key: value`` pairs of an A1111 settings line, in time linear in its length.

    A value is quoted (``"a: b, c"``, commas and escapes inside) or runs to the next comma.
    Parsed by finding separators, never by a pattern: the text is the file's, and a pattern
    that backtracks turned a long run of letters with no colon into minutes of work.
    Example: ``'Steps: 20, Sampler: Euler a, Lora hashes: "x: 1, y: 2"'`` ->
    ``{"Steps": "20", "Sampler": "Euler a", "Lora hashes": "x: 1, y: 2"}``.
    """
    settings: dict[str, str] = {}
    position, end = 0, len(line)
    while position < end:
        colon = line.find(":", position)
        if colon < 0:
            break
        key = _key_before(line, position, colon)
        start = colon + 1
        while start < end and line[start].isspace():
            start += 1
        stop = -1
        if start < end and line[start] == '"':
            close = _closing_quote(line, start + 1)
            after = close + 1
            while 0 < after < end and line[after] == " ":
                after += 1
            if close > 0 and (after >= end or line[after] == ","):
                stop, position = close + 1, after + 1
        if stop < 0:
            comma = line.find(",", start)
            stop = end if comma < 0 else comma
            position = stop + 1
        if key:
            settings.setdefault(key, line[start:stop].strip().strip('"'))
    return settings


def _key_before(line: str, start: int, colon: int) -> str:
    """The key that ends at ``colon``: the longest run of word characters, spaces, hyphens
    and slashes before it that starts with a word character ("" if there is none)."""
    first = colon
    while first > start and (line[first - 1].isalnum() or line[first - 1] in "_ -/"):
        first -= 1
    while first < colon and not (line[first].isalnum() or line[first] == "_"):
        first += 1
    return line[first:colon].strip()


def _closing_quote(line: str, start: int) -> int:
    """The index of the quote that closes a string opened before ``start``; -1 if none.
    A quote preceded by an odd number of backslashes is escaped."""
    position = start
    while (quote := line.find('"', position)) >= 0:
        backslashes = 0
        while quote - backslashes - 1 >= start and line[quote - backslashes - 1] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return quote
        position = quote + 1
    return -1


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
