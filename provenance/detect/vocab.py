"""The IPTC digital-source-type vocabulary and the table of known AI generators."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from provenance.detect.signals import AiClass

log = logging.getLogger(__name__)

_SOURCE_TYPE_PREFIXES = (
    "http://cv.iptc.org/newscodes/digitalsourcetype/",
    "https://cv.iptc.org/newscodes/digitalsourcetype/",
    "http://c2pa.org/digitalsourcetype/",
    "https://c2pa.org/digitalsourcetype/",
)

#: What each vocabulary term says about generative AI. The policy, shared by the C2PA and
#: XMP readers: only *trained* models count. ``algorithmicMedia`` (made by a formula, no
#: training data) and ``composite`` (a plain montage) are not AI; ``compositeSynthetic``
#: ("at least one element is synthetic") is read as a composite with AI, hence partial.
SOURCE_TYPES: dict[str, AiClass] = {
    "trainedAlgorithmicMedia": "ai",
    "compositeWithTrainedAlgorithmicMedia": "partial",
    "compositeSynthetic": "partial",
    "algorithmicMedia": "none",
    "algorithmicallyEnhanced": "none",
    "composite": "none",
    "compositeCapture": "none",
    "digitalCapture": "none",
    "negativeFilm": "none",
    "positiveFilm": "none",
    "print": "none",
    "minorHumanEdits": "none",
    "humanEdits": "none",
    "digitalCreation": "none",
    "digitalArt": "none",
    "dataDrivenMedia": "none",
    "virtualRecording": "none",
    "screenCapture": "none",
    "softwareImage": "none",
    "empty": "none",
}


def source_type_term(value: str) -> str | None:
    """Return the vocabulary term of a digital-source-type URI, or None if it is not one.

    Example: ``".../digitalsourcetype/trainedAlgorithmicMedia"`` -> ``"trainedAlgorithmicMedia"``;
    ``"https://exiftool.org"`` -> None.
    """
    value = value.strip()
    for prefix in _SOURCE_TYPE_PREFIXES:
        if value.startswith(prefix):
            term = value[len(prefix) :].strip("/")
            return term if term in SOURCE_TYPES else None
    return None


def classify_source_type(value: str) -> AiClass | None:
    """Return what a digital-source-type URI says (``ai``/``partial``/``none``), None if unknown."""
    term = source_type_term(value)
    return None if term is None else SOURCE_TYPES[term]


@dataclass(frozen=True)
class Generator:
    """A known generative-AI tool: the name we report and its family key."""

    name: str
    family: str


#: Patterns matched (case-insensitively, on word boundaries) against tool names found in
#: metadata. Camera and editing software (Google Pixel, HDR+, Lightroom, Photoshop) are
#: deliberately absent: they name a device or an editor, not a generator.
_GENERATORS: tuple[tuple[str, Generator], ...] = (
    (r"novel\s?ai", Generator("NovelAI", "novelai")),
    (r"midjourney", Generator("Midjourney", "midjourney")),
    (r"dall[-·\s]?e", Generator("DALL-E", "openai")),
    (r"chatgpt|gpt-image|gpt-4o|openai|sora", Generator("OpenAI", "openai")),
    (r"firefly", Generator("Adobe Firefly", "adobe")),
    (
        r"imagen|gemini|google\s+(?:generative\s+ai|ai|c2pa)|synthid|veo",
        Generator("Google AI", "google"),
    ),
    (
        r"image\s+creator|microsoft.{0,3}responsible.{0,3}ai|bing\s+create|microsoft\s+designer",
        Generator("Microsoft Image Creator", "microsoft"),
    ),
    (r"comfy\s?ui", Generator("ComfyUI", "comfyui")),
    (r"invoke\s?ai", Generator("InvokeAI", "invokeai")),
    (r"fooocus", Generator("Fooocus", "fooocus")),
    (r"swarm\s?ui", Generator("SwarmUI", "swarmui")),
    (r"draw\s?things", Generator("Draw Things", "drawthings")),
    (r"automatic1111|stable-diffusion-webui|sd[-\s]webui", Generator("AUTOMATIC1111", "a1111")),
    (r"civitai", Generator("Civitai", "civitai")),
    (r"dreamstudio|stability\s?ai|stable\s+diffusion", Generator("Stable Diffusion", "stability")),
    (r"leonardo\.?ai", Generator("Leonardo.Ai", "leonardo")),
    (r"ideogram", Generator("Ideogram", "ideogram")),
    (r"runway(?:ml)?", Generator("Runway", "runway")),
    (r"kling", Generator("Kling", "kling")),
    (r"suno(?:\s?ai)?", Generator("Suno", "suno")),
    (r"udio", Generator("Udio", "udio")),
    (r"eleven\s?labs", Generator("ElevenLabs", "elevenlabs")),
    (r"flux\.?1|black\s+forest\s+labs", Generator("FLUX", "bfl")),
)
_GENERATOR_PATTERNS = tuple(
    (re.compile(rf"(?<![a-z0-9]){pattern}(?![a-z0-9])", re.IGNORECASE), generator)
    for pattern, generator in _GENERATORS
)


def find_generator(text: str) -> Generator | None:
    """Return the known generator a tool name or credit line names, or None.

    Example: ``"NovelAI Diffusion V4.5 C02D4F98"`` -> ``Generator("NovelAI", "novelai")``;
    ``"HDR+ 1.0.5"`` -> None.
    """
    for pattern, generator in _GENERATOR_PATTERNS:
        if pattern.search(text[:4096]):
            return generator
    return None


def family_of(tool: str) -> str | None:
    """Return the family key of the known generator ``tool`` names, or None."""
    generator = find_generator(tool)
    return generator.family if generator else None
