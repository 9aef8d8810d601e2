"""The EXIF family: a known generator named in Software, Make or Model."""

from __future__ import annotations

import logging

from provenance.detect.formats.blocks import ExifBlock
from provenance.detect.formats.tiff import decode_ascii
from provenance.detect.reading import Found, Reading
from provenance.detect.signals import Signal
from provenance.detect.vocab import find_generator

log = logging.getLogger(__name__)

#: Fields that name the tool that wrote the file. ``Make=Google`` on a Pixel names a phone,
#: and the generator table has no bare "Google", so a camera never matches.
_TOOL_TAGS = ("Software", "Make", "Model", "Artist")


def read(reading: Reading) -> Found:
    """The family's entry point: each EXIF block the container walk found."""
    return [signal for exif in reading.parts.exif for signal in read_exif_signals(exif)], []


def read_exif_signals(block: ExifBlock) -> list[Signal]:
    """Return an ``exif`` signal when a tool field names a known generator.

    Example: Software ``"NovelAI Diffusion V4.5 C02D4F98"`` -> NovelAI; Software
    ``"HDR+ 1.0.5"`` with Make ``"Google"`` -> nothing.
    """
    for tag in _TOOL_TAGS:
        raw = block.tags.values.get(tag)
        if not raw:
            continue
        text = decode_ascii(raw)
        if text.lstrip().startswith("{") or text.lower().startswith(("workflow:", "prompt:")):
            continue  # ComfyUI JSON parked in Make/Model: the parameters-text family's business
        generator = find_generator(text)
        if generator is not None:
            return [
                Signal(
                    kind="exif",
                    ai_class="ai",
                    generator=text[:200],
                    family=generator.family,
                    confidence=0.8,
                    source=f"{block.source} {tag}",
                )
            ]
    return []
