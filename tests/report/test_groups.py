"""Groups and alerts: one command per group, offered only where the lifecycle lets it act."""

from __future__ import annotations

from datetime import timedelta

from provenance.lifecycle.states import CLEARABLE, HOLDABLE, Status
from provenance.report.groups import ALERTS_SHOWN, alerts, group_items
from provenance.report.items import Item, item_commands
from tests.report.sample import AS_OF

ROOT = "/prod/show_x"


def _item(path: str, status: str, section: str = "expiring", days: int = 5) -> Item:
    return Item(
        section=section,
        path=path,
        root="Show X",
        owner="Dana Post",
        status=status,
        generator="ComfyUI",
        rule="comp-30d",
        when=AS_OF + timedelta(days=days),
        days_left=days,
        size=10,
        commands=item_commands(status, path),
        root_path=ROOT,
    )


def test_item_commands_follow_the_lifecycle() -> None:
    for status in Status:
        commands = " ".join(item_commands(status, "/p/a.png"))
        assert ("provenance clear " in commands) == (status in CLEARABLE)
        assert ("provenance hold " in commands) == (status in HOLDABLE and status != Status.HELD)
        assert ("provenance restore " in commands) == (status == Status.QUARANTINED)
    # the two the report got wrong: no clear for a quarantined file, no hold for a held one
    assert not any("clear" in c for c in item_commands(Status.QUARANTINED, "/p/a.png"))
    assert item_commands(Status.HELD, "/p/a.png") == ("provenance clear /p/a.png --approval REF",)


def test_one_command_per_folder_that_would_succeed() -> None:
    items = [
        _item(f"{ROOT}/ep101/sh0010/a.exr", "temporary"),
        _item(f"{ROOT}/ep101/sh0010/b.exr", "expiring"),
        _item(f"{ROOT}/ep101/sh0020/c.exr", "temporary"),
        _item(f"{ROOT}/loose_1.exr", "temporary"),
        _item(f"{ROOT}/loose_2.exr", "temporary"),
    ]
    groups = {g.folder: g for g in group_items("expiring", items)}
    assert list(groups) == ["", "ep101/sh0010", "ep101/sh0020"]
    shot = groups["ep101/sh0010"]
    assert (shot.production, shot.count, shot.size, shot.path) == ("ep101", 2, 20, shot.path)
    assert shot.command == f"provenance clear {ROOT}/ep101/sh0010 --approval REF"
    # a one-file group names the file; several files at the root itself get no command
    assert (
        groups["ep101/sh0020"].command
        == f"provenance clear {ROOT}/ep101/sh0020/c.exr --approval REF"
    )
    assert groups[""].command == ""
    quarantined = [
        _item(f"{ROOT}/ep101/sh0030/{n}.exr", "quarantined", "quarantined") for n in "ab"
    ]
    (group,) = group_items("quarantined", quarantined)
    assert group.command == f"provenance hold {ROOT}/ep101/sh0030 --reason TEXT"
    (done,) = group_items("purged", [_item(f"{ROOT}/ep101/x.exr", "purged", "purged")])
    assert done.command == ""


def test_alerts_are_ranked_per_production_and_a_missing_registry_is_one_line() -> None:
    overdue = [
        _item(f"{ROOT}/ep{e}/sh{s:04d}/f.exr", "flagged", "overdue", -2)
        for e in (101, 102)
        for s in range(30)
    ]
    due = [_item(f"{ROOT}/ep103/sh0010/{n}.exr", "temporary", "expiring", 1) for n in "abc"]
    ranked, more = alerts(
        {"overdue": group_items("overdue", overdue), "expiring": group_items("expiring", due)},
        unknown_tools=640,
        tools_registered=False,
    )
    assert more == 0
    assert [a.kind for a in ranked] == ["no-tools-registry", "overdue", "overdue", "due-soon"]
    assert "640 uncleared AI assets" in ranked[0].text and ranked[0].command == ""
    assert ranked[1].text.startswith("30 files in 30 folders flagged")
    assert ranked[1].command == f"provenance clear {ROOT}/ep101 --approval REF"
    assert ranked[3].command == f"provenance clear {ROOT}/ep103/sh0010 --approval REF"
    many = [
        _item(f"{ROOT}/ep{e}/sh0010/f.exr", "flagged", "overdue", -1)
        for e in range(ALERTS_SHOWN + 5)
    ]
    ranked, more = alerts({"overdue": group_items("overdue", many)})
    assert len(ranked) == ALERTS_SHOWN and more == 5
