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


#: Packages whose row in the map says how their modules are cut instead of naming each
#: (``cli``: one module per command group).
MAP_NAMES_NO_MODULES = {"cli"}


def test_the_readme_map_names_every_module_of_each_package() -> None:
    # a newcomer lands on the right file from the map in one hop: each module of a package
    # (not a private one, nor those of a package inside it) is named in that package's row
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How it works", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| (.*)\|$", section, re.M))
    packages, _ = _top_level()
    for package in sorted(packages - {"data"} - MAP_NAMES_NO_MODULES):
        folder = ROOT / "provenance" / package
        modules = [i.name for i in pkgutil.iter_modules([str(folder)]) if i.name[0] != "_"]
        unnamed = [name for name in modules if f"`{name}`" not in rows.get(package, "")]
        assert not unnamed, (package, unnamed)


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


#: What the command line still takes from the catalog package itself: the clock (``utcnow``,
#: for the ages `status` shows).
CLI_FROM_CATALOG = {"utcnow"}


def test_the_command_line_reaches_the_catalog_only_through_the_service() -> None:
    for path, pairs in _imports("cli").items():
        sql = [m for m, _ in pairs if _under(m, "sqlalchemy", "sqlmodel", "alembic")]
        assert not sql, (path, sql)
        inner = [m for m, _ in pairs if m.startswith("provenance.catalog.")]
        assert not inner, (path, inner)
        names = {name for m, name in pairs if m == "provenance.catalog"}
        assert names <= CLI_FROM_CATALOG, (path, names - CLI_FROM_CATALOG)


#: The database libraries: only the catalog imports them.
DATABASE_LIBRARIES = ("sqlalchemy", "sqlmodel", "psycopg", "psycopg2", "sqlite3")


def _modules() -> dict[str, Path]:
    """Each module of provenance: dotted name -> file."""
    found = {}
    for path in sorted((ROOT / "provenance").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under an ``if TYPE_CHECKING:`` (imports for the type checker)."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.body:
                hidden |= {id(inner) for inner in ast.walk(statement)}
    return hidden


def _imported(module: str, path: Path) -> set[tuple[str, str]]:
    """What ``module`` imports when it runs (in functions too, not for the type checker
    alone): (module, name) pairs, name "" for ``import module``, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = _type_checking_only(tree)
    pairs: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            pairs |= {(alias.name, "") for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")
                up = node.level - (path.name == "__init__.py")
                package = package[: len(package) - up]
                base = ".".join([*package, base] if base else package)
            pairs |= {(base, alias.name) for alias in node.names}
    return pairs


def test_only_the_catalog_speaks_to_the_database() -> None:
    for module, path in _modules().items():
        if _under(module, "provenance.catalog"):
            continue
        imported = {m for m, _ in _imported(module, path)}
        database = sorted(m for m in imported if _under(m, *DATABASE_LIBRARIES))
        assert not database, (module, database)
        sessions = [
            node.lineno
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Attribute) and node.attr == "session"
        ]
        assert not sessions, (module, "uses a catalog session at lines", sessions)


def test_no_module_imports_itself_back() -> None:
    # a module's imports (module level or in a function) never lead back to it
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for imported, name in _imported(module, path):
            if f"{imported}.{name}" in modules:  # ``from package import module``
                imported = f"{imported}.{name}"
            while imported and imported not in modules:  # a name in a module, or not ours
                imported = imported.rpartition(".")[0]
            if imported and imported != module:
                targets.add(imported)
        graph[module] = targets
    done: set[str] = set()
    for start in sorted(graph):
        path = [start]
        on_path = {start}
        stack = [iter(sorted(graph[start]))]
        while stack:
            following = next(stack[-1], None)
            if following is None:
                stack.pop()
                done.add(on_path_pop := path.pop())
                on_path.discard(on_path_pop)
                continue
            assert following not in on_path, " -> ".join(
                [*path[path.index(following) :], following]
            )
            if following not in done:
                path.append(following)
                on_path.add(following)
                stack.append(iter(sorted(graph[following])))
