"""The clearance queries the weekly report reads: attention assets, risk counts (both backends)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from sqlalchemy import text

from provenance.catalog import Catalog
from provenance.catalog.clearance import (
    attention_assets,
    clear_target_kinds,
    risk_counts,
    uncleared_assets,
)
from provenance.catalog.migrations import KINDS_WHERE
from provenance.lifecycle.states import RETIRED, STATUSES, UNCLEARED
from tests.catalog.plans import explain, recorded
from tests.catalog.test_store import make_asset
from tests.clearance.helpers import CLEAN_TOOL, run, write_config
from tests.media import write_a1111_png


def test_attention_lists_unapproved_tools_and_high_risk_until_cleared(
    tmp_path: Path, catalog: Catalog
) -> None:
    root = tmp_path / "show_c"
    write_a1111_png(root / "a.png", color="red")
    write_a1111_png(root / "b.png", color="blue")
    config = write_config(tmp_path, root, catalog, tools=[{**CLEAN_TOOL, "approved": False}])
    assert run(config, "scan", str(root)).exit_code == 0
    with catalog.read() as tx:
        rows = list(attention_assets(tx))
        counts = risk_counts(tx, str(root))
    assert [Path(row.path).name for row in rows] == ["a.png", "b.png"]
    assert {row.tool_status for row in rows} == {"unapproved"}
    assert rows[0].tool_name == "Studio SD" and "NFX-CONF3" in rows[0].risk_rules
    assert counts == {("high", "unapproved"): 2}  # judged as a final
    cleared = run(config, "clear", str(root / "a.png"), "--approval", "A", "--escalation", "E")
    assert cleared.exit_code == 0, cleared.output
    with catalog.read() as tx:
        assert [Path(row.path).name for row in attention_assets(tx)] == ["b.png"]
        assert [Path(a.path).name for a in uncleared_assets(tx)] == ["b.png"]
        assert list(attention_assets(tx, root="/elsewhere")) == []


def test_the_kinds_index_names_the_statuses_a_clear_does_not_judge() -> None:
    # by the statuses it leaves out: a new status waiting for a decision is judged with no
    # new schema
    judged = [status for status in UNCLEARED if status not in RETIRED]
    left_out = [str(status) for status in STATUSES if status not in judged]
    assert (
        KINDS_WHERE.split("status NOT IN ", 1)[1]
        == "(" + ", ".join(f"'{s}'" for s in left_out) + ")"
    )


#: Kinds a key could confuse: NULL beside '', a name that reads as a length, no facts
#: beside JSON null and an empty object.
GENERATORS = (None, "", "ComfyUI", "1:a", "v1:a")
FAMILIES = (None, "", "a", "comfyui")
FACTS: tuple[Any, ...] = (None, {}, {"intended_use": "final"}, {"talent": ["A"], "flags": [1]})
STATES = (
    ("ai", "temporary", True),
    ("ai", "held", True),
    ("ai", "expiring", False),  # missing: not judged
    ("ai", "cleared", True),
    ("ai", "quarantined", True),
    ("none", "temporary", True),
    ("ai", "flagged", True),
)


def _plain_kinds(catalog: Catalog, root: str | None) -> set[tuple[Any, ...]]:
    where = KINDS_WHERE + ("" if root is None else " AND root = :root")
    query = text(
        f"SELECT DISTINCT generator, family, CAST(facts AS TEXT) FROM assets WHERE {where}"
    )
    with catalog.read() as tx:
        return {tuple(row) for row in tx.session.execute(query, {"root": root})}


def test_the_kinds_a_clear_judges_are_the_distinct_ones_of_its_files(catalog: Catalog) -> None:
    roots = ("/prod/a", "/prod/b", "/prod/c")
    combos = itertools.product(GENERATORS, FAMILIES, range(len(FACTS)))
    with catalog.write() as tx:
        for n, (generator, family, facts) in enumerate(combos):
            ai_class, status, present = STATES[n % len(STATES)]
            root = roots[n % 2 if n % 11 else 2]
            for copy in range(2):  # each kind twice in its root
                tx.add(
                    make_asset(
                        f"{root}/{n:03d}-{copy}.png",
                        uid=f"uid-{n:03d}-{copy}",
                        root=root,
                        ai_class=ai_class,
                        status=status,
                        present=present,
                        generator=generator,
                        family=family,
                        facts=FACTS[facts],
                    )
                )
    with catalog.write() as tx:  # no facts at all, beside JSON null
        tx.session.execute(text("UPDATE assets SET facts = NULL WHERE path LIKE '%0-0.png'"))
    whole = _plain_kinds(catalog, None)
    assert len(whole) > 30 and (None, None, None) in whole
    assert {kind[2] for kind in whole} >= {None, "null", "{}"}
    with catalog.read() as tx:
        found = clear_target_kinds(tx)
        by_root = {root: clear_target_kinds(tx, root) for root in (*roots, "/elsewhere")}
    assert len(found) == len(set(found)) and set(found) == whole
    for root, kinds in by_root.items():
        assert len(kinds) == len(set(kinds)) and set(kinds) == _plain_kinds(catalog, root)
    assert by_root["/elsewhere"] == []


def test_sqlite_finds_the_kinds_from_their_index(tmp_path: Path) -> None:
    # a catalog never analysed: each step of the walk a jump in the kinds' index, no sort
    path = tmp_path / "catalog.sqlite"
    catalog = Catalog.open(f"sqlite:///{path}")
    with recorded(catalog, lambda statement: "assets" in statement) as sent, catalog.read() as tx:
        clear_target_kinds(tx)
        clear_target_kinds(tx, "/prod")
    assert len(sent) == 2
    for statement, parameters in sent:
        plan = str(explain(path, statement, parameters))
        assert "TEMP B-TREE" not in plan and "ix_assets_status" not in plan, plan
        assert "USING INDEX ix_assets_kinds (root=? AND <expr>>?)" in plan, plan
