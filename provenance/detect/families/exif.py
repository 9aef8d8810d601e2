"""The EXIF family: a known generator named in Software, Make or Model, or in another
format's tool field (an OpenEXR ``software`` attribute, a DPX creator, an MXF
Identification's product), read the same way."""

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
    """The family's entry point: each EXIF block the container walk found, then the tool
    fields of formats without EXIF."""
    signals = [signal for exif in reading.parts.exif for signal in read_exif_signals(exif)]
    for entry in reading.parts.tools:
        signal = _tool_signal(entry.text, entry.source)
        if signal is not None:
            signals.append(signal)
            break
    return signals, []


def read_exif_signals(block: ExifBlock) -> list[Signal]:
    """Return an ``exif`` signal when a tool field names a known generator.

    Example: Software ``"NovelAI Diffusion V4.5 C02D4F98"`` -> NovelAI; Software
    ``"HDR+ 1.0.5"`` with Make ``"Google"`` -> nothing.
    """
    for tag in _TOOL_TAGS:
        raw = block.tags.values.get(tag)
        if not raw:
            continue
        signal = _tool_signal(decode_ascii(raw), f"{block.source} {tag}")
        if signal is not None:
            return [signal]
    return []


def _tool_signal(text: str, source: str) -> Signal | None:
    """An ``exif`` signal when ``text`` names a known generator: ``"ComfyUI"`` -> ComfyUI,
    ``"Nuke 15.1v3"`` -> None (a compositor names no generator)."""
    if text.lstrip().startswith("{") or text.lower().startswith(("workflow:", "prompt:")):
        return None  # ComfyUI JSON parked in a tool field: the parameters-text family's business
    generator = find_generator(text)
    if generator is None:
        return None
    return Signal(
        kind="exif",
        ai_class="ai",
        generator=text[:200],
        family=generator.family,
        confidence=0.8,
        source=source,
    )
