"""`uncleared`'s folder view: a line per root and per folder, counts only, and a total."""

from __future__ import annotations

from pathlib import Path

from provenance.cli.clear import render_uncleared
from provenance.config import RootSettings, Settings
from provenance.service.assets import Uncleared, group_uncleared


def _row(path: str, risk: str = "high", status: str = "temporary") -> Uncleared:
    missing = [{"kind": "approval", "rules": ["NFX-INTRO"], "text": "an approval reference"}]
    return Uncleared(path, status, "ComfyUI", risk, ["NFX-INTRO"], {}, {}, missing, False)


def test_uncleared_groups_by_root_and_folder_with_a_total() -> None:
    settings = Settings(
        roots=[RootSettings(path=Path("/prod/show_x"), name="Show X", owner="Dana")]
    )
    rows = [
        *(_row(f"/prod/show_x/ep101/sh0010/{n}.exr") for n in range(639)),
        _row("/prod/show_x/ep101/sh0020/a.exr", "blocked", "flagged"),
        _row("/elsewhere/b.png"),
    ]
    lines = render_uncleared(group_uncleared(rows, settings.root_for))
    assert lines[0] == "(outside the configured roots): 1 file in 1 folder; risk 1 high"
    assert (
        lines[2] == "Show X (Dana) /prod/show_x: 640 files in 2 folders; risk 639 high, 1 blocked"
    )
    assert lines[3] == (
        "     639  /prod/show_x/ep101/sh0010  risk 639 high; status 639 temporary; "
        "needs 639 approval"
    )
    assert lines[4].startswith(
        "       1  /prod/show_x/ep101/sh0020  risk 1 blocked; status 1 flagged"
    )
    assert lines[-1] == (
        "total: 641 uncleared AI assets in 3 folders under 2 roots (--files lists them one by one)"
    )
    assert len(lines) == 6
    assert render_uncleared(group_uncleared([], settings.root_for)) == []
