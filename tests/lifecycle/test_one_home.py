"""The lifecycle has one home: no module but ``provenance/lifecycle/states.py`` assigns an
asset's status or spells a status's name where a status is meant (an AST scan of the
package). Event names and report sections that happen to share a word are not statuses."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance.lifecycle.states import Status

PACKAGE = Path(__file__).resolve().parents[2] / "provenance"
HOME = PACKAGE / "lifecycle" / "states.py"
NAMES = {status.value for status in Status}


def _is_name(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value in NAMES


def _about_status(node: ast.AST) -> bool:
    """Whether ``node`` is a status: ``x.status``, ``status``, ``row["status"]``."""
    if isinstance(node, ast.Attribute):
        return node.attr in ("status", "new_status")
    if isinstance(node, ast.Name):
        return "status" in node.id.lower() and node.id != "tool_status"
    if isinstance(node, ast.Subscript):
        key = node.slice
        return isinstance(key, ast.Constant) and key.value == "status"
    return False


def _sets_status(call: ast.Call) -> bool:
    """``update(...).values(status=...)`` or ``setattr(x, "status", ...)``."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "values":
        return any(keyword.arg == "status" for keyword in call.keywords)
    if isinstance(func, ast.Name) and func.id == "setattr" and len(call.args) >= 2:
        name = call.args[1]
        return isinstance(name, ast.Constant) and name.value == "status"
    return False


def _spelled(node: ast.AST) -> bool:
    return any(_is_name(inner) for inner in ast.walk(node))


def _targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Assign):
        found: list[ast.AST] = []
        for target in node.targets:
            found += target.elts if isinstance(target, ast.Tuple) else [target]
        return found
    if isinstance(node, ast.AnnAssign | ast.AugAssign):
        return [node.target]
    return []


def offences(source: str) -> Iterator[tuple[int, str]]:
    """Yield (line, what) for each status assigned or spelled outside the home."""
    for node in ast.walk(ast.parse(source)):
        for target in _targets(node):
            if isinstance(target, ast.Attribute) and target.attr == "status":
                yield node.lineno, "assigns .status: a status changes through lifecycle.move"
            elif _about_status(target) and _spelled(getattr(node, "value", None) or ast.Pass()):
                yield node.lineno, "assigns a status spelled as a string"
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_about_status(o) for o in operands) and any(_spelled(o) for o in operands):
                yield node.lineno, "compares a status with a string"
        elif isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in ("in_", "not_in")
                and _about_status(func.value)
                and any(_spelled(arg) for arg in node.args)
            ):
                yield node.lineno, "filters a status column on strings"
            for keyword in node.keywords:
                if keyword.arg in ("status", "new_status") and _spelled(keyword.value):
                    yield node.lineno, f"passes {keyword.arg}= spelled as a string"
            if _sets_status(node):
                yield node.lineno, "sets a status behind lifecycle.move (SQL or setattr)"
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            if len(node.elts) >= 2 and all(_is_name(e) for e in node.elts):
                yield node.lineno, "a group of statuses spelled as strings"
        elif isinstance(node, ast.Dict):
            keys = [k for k in node.keys if k is not None]
            if len(keys) >= 2 and all(_is_name(k) for k in keys):
                yield node.lineno, "a table keyed by statuses spelled as strings"
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "status" and _spelled(value):
                    yield node.lineno, "a status spelled as a string"


def test_no_module_but_the_home_assigns_or_spells_a_status() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {what}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != HOME
        for line, what in offences(path.read_text(encoding="utf-8"))
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        'asset.status = "held"',
        "asset.status, asset.flagged_at = Status.FLAGGED, now",
        'row["status"], row["deadline"] = "cleared", None',
        'if asset.status != "held": pass',
        'ok = values["status"] in ("cleared", "held")',
        'query = select(A).where(_A.status.in_([*MOVABLE, "quarantined"]))',
        'Decision("none", new_status="held")',
        'LIFECYCLE = ("temporary", "expiring", "flagged")',
        'COLOURS = {"temporary": "#fff", "held": "#000"}',
        'after = {"status": "purged", "receipt": receipt}',
        'class Known:\n    status: str = "not-ai"',
        "tx.execute(update(Asset).where(Asset.id == 1).values(status=Status.HELD))",
        'setattr(asset, "status", to)',
    ],
)
def test_the_scan_finds_what_it_looks_for(source: str) -> None:
    assert list(offences(source))


@pytest.mark.parametrize(
    "source",
    [
        "move(tx, asset, Status.HELD, actor, now)",
        'if asset.status == Status.HELD and event.action == "held": pass',
        'SECTION_KEYS = ("expiring", "overdue", "quarantined")',
        'log.info("purged %s", path, extra={"event": "purged"})',
    ],
)
def test_the_scan_leaves_what_is_not_a_status(source: str) -> None:
    assert not list(offences(source))
