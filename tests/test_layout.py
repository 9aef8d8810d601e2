"""The package's layout stays what the README's map says: packages by stage, no heap of
top-level modules, every package named in the map."""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import provenance

ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL_MODULES = {"__init__", "__main__", "errors"}


def _top_level() -> tuple[set[str], set[str]]:
    packages, modules = set(), set()
    for info in pkgutil.iter_modules(provenance.__path__):
        (packages if info.ispkg else modules).add(info.name)
    return packages, modules


def test_the_top_level_holds_packages_not_modules() -> None:
    _, modules = _top_level()
    assert modules <= TOP_LEVEL_MODULES, sorted(modules - TOP_LEVEL_MODULES)


def test_the_readme_map_names_every_package() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How it works", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^\| `(\w+)` \|", section, re.M))
    packages, _ = _top_level()
    assert packages - {"data"} <= named, sorted(packages - named)
    assert named <= packages | {"errors"}, sorted(named - packages)
