"""What a signal family is and what it reads.

A family is a name and one entry point, ``read(reading) -> (signals, problems)``; the
pipeline runs the families listed in :data:`provenance.detect.families.FAMILIES`, in order,
each over the same :class:`Reading` of one file: its content and sniffed media type, what
its container walk found, its text entries, the detection settings
(:class:`provenance.detect.options.Options`), and
the signals and problems of the families before it.
"""

from __future__ import annotations

import functools
import logging
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from provenance.detect.buffers import Buffer
from provenance.detect.formats.blocks import Block, Parts, TextEntry, exif_texts
from provenance.detect.formats.xmp import XmpProperties, parse_xmp, xmp_texts
from provenance.detect.options import Options, PathRule
from provenance.detect.signals import Signal

log = logging.getLogger(__name__)

T = TypeVar("T")
#: What a family returns: the signals it found and the problems it met (one line each).
Found = tuple[list[Signal], list[str]]
#: What a malformed part can make a reader raise. Each is caught per family, recorded as a
#: problem, and the other families go on; anything else is a bug and propagates.
MALFORMED = (
    ValueError,
    struct.error,
    zlib.error,
    IndexError,
    KeyError,
    TypeError,
    OverflowError,
    RecursionError,
    EOFError,
    UnicodeError,
)


@dataclass
class Reading:
    """One file as every family sees it. Families only read it; the pipeline adds each
    family's signals and problems to ``signals`` and ``problems`` before the next runs."""

    #: the file's path as the caller gave it (a scan's is a str: made a ``Path`` only for a
    #: family that asks for ``path``, as the sidecar and path-rule families do when on)
    given: Path | str
    data: Buffer
    media_type: str
    parts: Parts
    options: Options = field(default_factory=Options)
    signals: list[Signal] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    # parsed and gathered on first use, once (a plain attribute: most files have no text,
    # and a reading is made for every file)
    _xmp: list[tuple[Block, XmpProperties, list[str]]] | None = field(default=None, repr=False)
    _texts: list[TextEntry] | None = field(default=None, repr=False)

    @functools.cached_property
    def path(self) -> Path:
        """The file's path."""
        return self.given if isinstance(self.given, Path) else Path(self.given)

    @property
    def xmp(self) -> list[tuple[Block, XmpProperties, list[str]]]:
        """Each XMP packet the walk found, parsed once: (block, properties, problems)."""
        if self._xmp is None:
            self._xmp = [(block, *parse_xmp(block)) for block in self.parts.xmp]
        return self._xmp

    @property
    def texts(self) -> list[TextEntry]:
        """The file's text entries: its text chunks and comments, then the free-text fields
        of its XMP packets, then those of its EXIF blocks."""
        if self._texts is None:
            texts = list(self.parts.texts)
            for block, properties, _ in self.xmp:
                texts.extend(xmp_texts(properties, block.source))
            for exif in self.parts.exif:
                texts.extend(exif_texts(exif))
            self._texts = texts
        return self._texts


@dataclass(frozen=True)
class Family:
    """A signal family: its ``name`` (which also labels its problems) and its entry point."""

    name: str
    read: Callable[[Reading], Found]


def guard(problems: list[str], what: str, read: Callable[..., T], fallback: T, *args: object) -> T:
    """Run ``read(*args)``; a malformed part becomes a problem and the fallback value."""
    try:
        return read(*args)
    except MALFORMED as exc:
        log.debug("%s reader failed", what, exc_info=True)
        problems.append(f"{what}: skipped malformed data ({type(exc).__name__}: {exc})"[:300])
        return fallback


__all__ = ["MALFORMED", "Family", "Found", "Options", "PathRule", "Reading", "guard"]
