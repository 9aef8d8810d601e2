"""The path-rules family: a configured glob that marks every matching file as AI output
(the rule itself, a setting, is ``options.PathRule``)."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from pathlib import Path

from provenance.detect.options import PathRule
from provenance.detect.reading import Found, Reading
from provenance.detect.signals import Signal
from provenance.detect.vocab import family_of

log = logging.getLogger(__name__)


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


def read(reading: Reading) -> Found:
    """The family's entry point: the first configured rule that matches the file's path."""
    if not reading.options.path_rules:
        return [], []
    return read_path_rules(reading.path, reading.options.path_rules), []


def read_path_rules(path: Path, rules: Sequence[PathRule]) -> list[Signal]:
    """Return one ``path-rule`` signal for the first rule that matches ``path``."""
    for rule in rules:
        if matches(rule, path):
            return [
                Signal(
                    kind="path-rule",
                    ai_class=rule.ai_class,
                    generator=rule.tool,
                    family=family_of(rule.tool),
                    model=rule.model,
                    confidence=0.6,
                    source=f"path rule {rule.glob!r}",
                )
            ]
    return []
