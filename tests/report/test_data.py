"""Report assembly is pure: lines and counts in, sections, days left and commands out."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from provenance.catalog.reports import AssetLine, EventLine
from provenance.report.data import SECTION_KEYS, Inputs, Period, assemble
from provenance.report.items import RootInfo, clear_command, hold_command, restore_command
from tests.report.sample import AS_OF, DAY, GENERATED_AT

ROOTS = [RootInfo("/prod/a", "show_a", "Dana")]


def line(path: str, **fields: Any) -> AssetLine:
    values: dict[str, Any] = {
        "id": 1,
        "path": path,
        "root": "/prod/a",
        "status": "temporary",
        "ai_class": "ai",
        "generator": "ComfyUI",
        "model": None,
        "policy": "p",
        "deadline": AS_OF + 2 * DAY,
        "first_seen": AS_OF - 30 * DAY,
        "present": True,
        "content_hash": "h",
        "size": 5,
        **fields,
    }
    return AssetLine(**values)


def event(action: str, **fields: Any) -> EventLine:
    values: dict[str, Any] = {
        "id": 1,
        "asset_id": 1,
        "at": AS_OF - DAY,
        "action": action,
        "user": "u",
        "host": "h",
        "path": "/prod/a/x.png",
        "reason": "",
        "before": {},
        "after": {},
        "root": "/prod/a",
        "generator": "ComfyUI",
        "policy": "p",
        **fields,
    }
    return EventLine(**values)


def inputs(**fields: Any) -> Inputs:
    values: dict[str, Any] = {
        "due": [],
        "overdue": [],
        "quarantined": [],
        "unknown_tool": [],
        "purged": [],
        "cleared": [],
        "voided": [],
        "status_counts": {},
        "per_day": {},
        "weekly": {},
        **fields,
    }
    return Inputs(**values)


def test_every_section_is_present_in_order_even_when_empty() -> None:
    report = assemble(inputs(), Period(AS_OF), GENERATED_AT)
    assert tuple(s.key for s in report.sections) == SECTION_KEYS
    assert all(not s.items for s in report.sections)
    assert len(report.trend) == 8
    # 07:00 to 07:00: the first and the last day are both partly in the window
    assert len(report.per_day) == 8


def test_days_left_counts_calendar_days_from_the_as_of_day() -> None:
    late_tonight = AS_OF.replace(hour=23, minute=59)
    report = assemble(
        inputs(due=[line("/prod/a/today.png", deadline=late_tonight), line("/prod/a/x.png")]),
        Period(AS_OF),
        GENERATED_AT,
        ROOTS,
    )
    assert [i.days_left for i in report.section("expiring").items] == [0, 2]


def test_commands_quote_paths_for_the_shell() -> None:
    path = "/prod/a/it's a $(rm -rf ~) file.png"
    assert clear_command(path) == (
        "provenance clear '/prod/a/it'\"'\"'s a $(rm -rf ~) file.png' --approval REF"
    )
    assert hold_command("/prod/a/x.png") == "provenance hold /prod/a/x.png --reason TEXT"
    assert restore_command("/prod/a/x y.png") == "provenance restore '/prod/a/x y.png'"


def test_quarantine_deletion_date_comes_from_the_record_or_the_policy() -> None:
    explicit = line(
        "/prod/a/e.png",
        status="quarantined",
        extra={"quarantined_at": AS_OF - DAY, "delete_after": (AS_OF + 3 * DAY).isoformat()},
    )
    from_policy = line(
        "/prod/a/p.png", status="quarantined", policy="short", extra={"event_at": AS_OF - 2 * DAY}
    )
    report = assemble(
        inputs(quarantined=[explicit, from_policy]),
        Period(AS_OF),
        GENERATED_AT,
        ROOTS,
        quarantine_for=lambda policy: timedelta(days=5 if policy == "short" else 14),
    )
    items = report.section("quarantined").items
    assert [(i.when, i.days_left) for i in items] == [(AS_OF + 3 * DAY, 3), (AS_OF + 3 * DAY, 3)]
    assert items[0].commands == ("provenance restore /prod/a/e.png",)


def test_purge_receipt_comes_from_the_event() -> None:
    receipt = {"path": "/prod/a/gone.png", "content_hash": "blake3:ab", "size": 99, "rule": "r1"}
    report = assemble(
        inputs(purged=[event("purged", path=None, after=receipt)]),
        Period(AS_OF),
        GENERATED_AT,
        ROOTS,
    )
    (item,) = report.section("purged").items
    assert (item.path, item.content_hash, item.size, item.rule, item.who) == (
        "/prod/a/gone.png",
        "blake3:ab",
        99,
        "r1",
        "u@h",
    )
    assert item.commands == ()


def test_a_root_the_settings_do_not_name_shows_by_its_folder() -> None:
    report = assemble(
        inputs(
            due=[line("/elsewhere/x.png", root="/elsewhere")],
            status_counts={("/elsewhere", "temporary"): 1},
        ),
        Period(AS_OF),
        GENERATED_AT,
        ROOTS,
    )
    assert report.section("expiring").items[0].root == "/elsewhere"
    labels = [r.label for r in report.roots]
    assert labels == ["/elsewhere", "show_a"]


def test_totals_and_root_summaries_add_up() -> None:
    counts = {("/prod/a", "temporary"): 3, ("/prod/b", "temporary"): 2, ("/prod/a", "held"): 1}
    report = assemble(
        inputs(status_counts=counts, due=[line("/prod/a/x.png")]),
        Period(AS_OF),
        GENERATED_AT,
        [*ROOTS, RootInfo("/prod/b", "show_b", "")],
    )
    assert report.totals["temporary"] == 5 and report.totals["held"] == 1
    by_label = {r.label: r for r in report.roots}
    assert by_label["show_a"].by_status["temporary"] == 3
    assert by_label["show_a"].by_section["expiring"] == 1
    assert by_label["show_b"].by_section["expiring"] == 0


def test_per_day_and_trend_fill_missing_days_and_weeks_with_zero() -> None:
    report = assemble(
        inputs(per_day={date(2026, 12, 2): 4}, weekly={(7, "found"): 3, (0, "purged"): 1}),
        Period(AS_OF, days=3),
        GENERATED_AT,
    )
    assert report.per_day == (
        (date(2026, 11, 30), 0),
        (date(2026, 12, 1), 0),
        (date(2026, 12, 2), 4),
        (date(2026, 12, 3), 0),
    )
    assert report.trend[-1].found == 3 and report.trend[-1].start == date(2026, 11, 23)
    assert report.trend[0].purged == 1 and report.trend[0].start == date(2026, 10, 5)


def test_missing_sources_become_section_notes() -> None:
    report = assemble(
        inputs(missing_sources={"attention": "waits for clearance"}), Period(AS_OF), GENERATED_AT
    )
    assert report.section("attention").note == "waits for clearance"
    assert any("waits for clearance" in note for note in report.notes)


def test_purge_receipt_nested_under_receipt_is_read() -> None:
    receipt = {
        "path": "/prod/a/gone.png",
        "quarantine_path": "/prod/a/.q/gone.png",
        "content_hash": "blake3:cd",
        "size": 7,
        "rule": "r2",
        "by": "svc@node2",
    }
    purged = event("purged", after={"status": "purged", "receipt": receipt})
    report = assemble(inputs(purged=[purged]), Period(AS_OF), GENERATED_AT, ROOTS)
    (item,) = report.section("purged").items
    assert (item.path, item.content_hash, item.size, item.rule, item.who, item.reference) == (
        "/prod/a/gone.png",
        "blake3:cd",
        7,
        "r2",
        "svc@node2",
        "/prod/a/.q/gone.png",
    )


def test_flag_only_policy_never_deletes_quarantined_bytes() -> None:
    kept = line("/prod/a/k.png", status="quarantined", extra={"quarantined_at": AS_OF - DAY})
    report = assemble(
        inputs(quarantined=[kept]),
        Period(AS_OF),
        GENERATED_AT,
        ROOTS,
        quarantine_for=lambda _policy: None,
    )
    (item,) = report.section("quarantined").items
    assert item.when is None and item.days_left is None
    assert "flag-only policy" in item.reason


def test_waiting_steps_and_unreadable_files_have_their_sections() -> None:
    from provenance.catalog import Unreadable
    from provenance.report.data import UNREADABLE_SHOWN
    from provenance.retention.journal import Waiting

    step = Waiting(7, "purge", "/prod/a/q/x.png", "/prod/a", "root offline", AS_OF - DAY)
    rows = [
        Unreadable(
            path=f"/prod/a/bad{n:02d}.png",
            root="/prod/a",
            reason="cannot read: Permission denied",
            attempts=n % 5 + 1,
            first_failed=AS_OF - 2 * DAY,
            last_failed=AS_OF - DAY,
        )
        for n in range(UNREADABLE_SHOWN)
    ]
    report = assemble(
        inputs(waiting=[step], unreadable=rows, unreadable_counts={"/prod/a": 25}),
        Period(AS_OF),
        GENERATED_AT,
        ROOTS,
    )
    (waiting,) = report.section("waiting").items
    assert (waiting.path, waiting.status, waiting.reason, waiting.when) == (
        step.path,
        "purge",
        "root offline",
        AS_OF - DAY,
    )
    section = report.section("unreadable")
    assert (len(section.items), section.count) == (UNREADABLE_SHOWN, 25)
    assert section.note.startswith(f"the first {UNREADABLE_SHOWN} of 25")
    assert "failed once; the next scan tries again" in section.items[0].reason
    assert "failed 5 times; not tried again until it changes" in section.items[4].reason
    assert report.roots[0].by_section["unreadable"] == 25
    assert report.roots[0].by_section["waiting"] == 1


def test_an_unread_mark_is_one_attention_line_with_every_reason() -> None:
    # the same suspect file from the unknown-tool lines and the unread-mark lines: one line
    unknown = line(
        "/prod/a/cut.png", ai_class="suspect", generator=None, extra={"tool_status": "unknown"}
    )
    unread = line(
        "/prod/a/cut.png",
        ai_class="suspect",
        generator=None,
        extra={"unread_kind": "c2pa", "unread_problem": "C2PA: bad box"},
    )
    bare = line("/prod/a/other.png", id=2, ai_class="suspect", extra={"unread_kind": "c2pa"})
    report = assemble(
        inputs(unknown_tool=[unknown], unread_marks=[unread, bare]), Period(AS_OF), GENERATED_AT
    )
    reasons = [(item.path, item.reason) for item in report.section("attention").items]
    assert reasons == [
        ("/prod/a/cut.png", "unknown tool: no generator recorded; mark unreadable: C2PA: bad box"),
        ("/prod/a/other.png", "mark unreadable (c2pa)"),
    ]
