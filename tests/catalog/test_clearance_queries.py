"""The clearance queries the weekly report reads: attention assets, risk counts (both backends)."""

from __future__ import annotations

from pathlib import Path

from provenance.catalog import Catalog
from provenance.catalog.clearance import attention_assets, risk_counts, uncleared_assets
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
