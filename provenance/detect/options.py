"""The detection settings as plain values (they travel to the reader workers): pixels decoded
or not, sidecars read or not, the configured path rules, whose C2PA signatures are trusted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from provenance.detect.trust import NO_TRUST, C2paTrust


@dataclass(frozen=True)
class PathRule:
    """Files whose POSIX path matches ``glob`` are output of ``tool``.

    ``*`` and ``?`` stay inside one folder, ``**`` spans folders. A glob that does not start
    with ``/`` may match from any folder, e.g. ``"renders/midjourney/**"`` matches
    ``/mnt/show/renders/midjourney/a/b.png``.
    """

    glob: str
    tool: str
    model: str | None = None
    ai_class: Literal["ai", "partial"] = "ai"


@dataclass(frozen=True)
class Options:
    """The detection settings: pixels decoded for the stealth check (``deep``), files beside
    the file read (``sidecar``), the configured ``path_rules``, whose C2PA signatures are
    trusted (``trust``)."""

    deep: bool = False
    sidecar: bool = True
    path_rules: Sequence[PathRule] = ()
    trust: C2paTrust = NO_TRUST
