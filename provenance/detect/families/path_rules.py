"""Path rules: a configured glob that marks every matching file as AI output."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from provenance.detect.signals import Signal
from provenance.detect.vocab import find_generator

log = logging.getLogger(__name__)


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


@functools.lru_cache(maxsize=256)
def glob_pattern(glob: str) -> re.Pattern[str]:
    """Return the compiled regular expression for a path glob."""
    out = []
    index = 0
    while index < len(glob):
        character = glob[index]
        if glob.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if glob.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if character == "*":
            out.append("[^/]*")
        elif character == "?":
            out.append("[^/]")
        elif character == "[":
            close = glob.find("]", index + 1)
            if close == -1:
                out.append(re.escape(character))
            else:
                body = glob[index + 1 : close].replace("\\", "\\\\")
                body = "^" + body[1:] if body.startswith("!") else body
                out.append(f"[{body}]")
                index = close
        else:
            out.append(re.escape(character))
        index += 1
    anchor = "" if glob.startswith("/") else "(?:^|.*/)"
    return re.compile(f"{anchor}{''.join(out)}\\Z", re.DOTALL)


def matches(rule: PathRule, path: Path) -> bool:
    """Say whether ``path`` falls under ``rule``."""
    return glob_pattern(rule.glob).match(path.as_posix()) is not None


def read_path_rules(path: Path, rules: Sequence[PathRule]) -> list[Signal]:
    """Return one ``path-rule`` signal for the first rule that matches ``path``."""
    for rule in rules:
        if matches(rule, path):
            return [
                Signal(
                    kind="path-rule",
                    ai_class=rule.ai_class,
                    generator=rule.tool,
                    family=_family(rule.tool),
                    model=rule.model,
                    confidence=0.6,
                    source=f"path rule {rule.glob!r}",
                )
            ]
    return []


def manual_signal(tool: str, model: str | None = None, prompt: str | None = None) -> Signal:
    """Return the signal of a person's tag (``provenance tag``): AI output of ``tool``."""
    return Signal(
        kind="manual",
        ai_class="ai",
        generator=tool,
        family=_family(tool),
        model=model,
        prompt=prompt,
        confidence=1.0,
        source="manual tag",
    )


def _family(tool: str) -> str | None:
    generator = find_generator(tool)
    return generator.family if generator else None
