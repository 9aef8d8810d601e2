"""The package's layout stays what the README's map says: packages by stage, no heap of
top-level modules, every package named in the map."""

from __future__ import annotations

import ast
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


def _imports(package: str) -> dict[str, set[tuple[str, str]]]:
    """Every import of each module of ``provenance.<package>`` (at any depth, in functions
    too): (module, name) pairs, name "" for ``import module``."""
    found: dict[str, set[tuple[str, str]]] = {}
    for path in sorted((ROOT / "provenance" / package).rglob("*.py")):
        pairs: set[tuple[str, str]] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                pairs |= {(alias.name, "") for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                pairs |= {(node.module, alias.name) for alias in node.names}
        found[str(path.relative_to(ROOT))] = pairs
    return found


def _under(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_the_service_knows_no_click() -> None:
    for path, pairs in _imports("service").items():
        assert not [m for m, _ in pairs if _under(m, "click", "rich", "provenance.cli")], path


#: What the command line still takes from the catalog package itself: the clock (``utcnow``)
#: and, for `config check` and `config show`, how a catalog URL is checked and shown.
CLI_FROM_CATALOG = {"utcnow", "redact_url", "url_problem"}


def test_the_command_line_reaches_the_catalog_only_through_the_service() -> None:
    for path, pairs in _imports("cli").items():
        sql = [m for m, _ in pairs if _under(m, "sqlalchemy", "sqlmodel", "alembic")]
        assert not sql, (path, sql)
        inner = [m for m, _ in pairs if m.startswith("provenance.catalog.")]
        assert not inner, (path, inner)
        names = {name for m, name in pairs if m == "provenance.catalog"}
        assert names <= CLI_FROM_CATALOG, (path, names - CLI_FROM_CATALOG)
