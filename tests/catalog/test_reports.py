"""The report's queries on both backends: the database counts, rows stream, roots narrow."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from provenance.catalog import Catalog, Clearance
from provenance.catalog import reports as queries
from provenance.catalog.migrations import DOUBTFUL_C2PA_WHERE
from provenance.report.data import Period
from tests.catalog.plans import explain, recorded
from tests.report.sample import AS_OF, DAY, SCRIPT_NAME, UNREAD_PROBLEM, populate


@pytest.fixture
def filled(catalog: Catalog) -> Catalog:
    populate(catalog)
    return catalog


def test_due_assets_are_open_ai_assets_in_the_window_soonest_first(filled: Catalog) -> None:
    with filled.read() as tx:
        rows = queries.due_assets(tx, AS_OF, AS_OF + 7 * DAY)
        assert isinstance(rows, Iterator)
        paths = [row.path for row in rows]
    # held (due in 1 day), far (30 days) and not-ai files are not expiring
    assert paths == [
        "/prod/show_a/concepts/castle 01.png",
        SCRIPT_NAME,
        '/prod/show_b/=HYPERLINK("x").png',
    ]


def test_a_section_names_its_first_and_the_database_counts_them_all(filled: Catalog) -> None:
    end = AS_OF + 7 * DAY
    with filled.read() as tx:
        first = [row.path for row in queries.due_assets(tx, AS_OF, end, limit=2)]
        late = [row.path for row in queries.overdue_assets(tx, AS_OF, limit=1)]
        by_root, folders = queries.due_counts(tx, AS_OF, end, None, {"/prod/show_a/concepts", "/"})
        overdue, _ = queries.overdue_counts(tx, AS_OF, None, set())
        same, none = queries.due_counts(tx, AS_OF, end, None, set())
    assert first == ["/prod/show_a/concepts/castle 01.png", SCRIPT_NAME]
    assert late == ["/prod/show_a/old.png"]
    assert by_root == {"/prod/show_a": 2, "/prod/show_b": 1}
    assert overdue == {"/prod/show_a": 1, "/prod/show_b": 1}
    # the file's own folder, counted by status with its bytes (the root-level folder "/"
    # holds none of them)
    assert [(f.root, f.folder, f.status, f.count) for f in folders] == [
        ("/prod/show_a", "/prod/show_a/concepts", "temporary", 1)
    ]
    assert folders[0].size > 0 and none == [] and same == by_root


def test_due_assets_never_carry_the_prompt(filled: Catalog) -> None:
    with filled.read() as tx:
        row = next(queries.due_assets(tx, AS_OF, AS_OF + 7 * DAY))
    assert not hasattr(row, "prompt")
    assert "SECRET" not in repr(row)


def test_overdue_is_flagged_or_past_deadline(filled: Catalog) -> None:
    with filled.read() as tx:
        rows = [(row.path, row.status) for row in queries.overdue_assets(tx, AS_OF)]
    assert rows == [("/prod/show_a/old.png", "flagged"), ("/prod/show_b/late.png", "temporary")]


def test_quarantined_assets_carry_their_last_quarantine_event(filled: Catalog) -> None:
    with filled.read() as tx:
        (row,) = list(queries.quarantined_assets(tx))
    assert row.path == "/prod/show_a/q.png"
    assert row.extra["quarantine_path"] == "/prod/show_a/.provenance-quarantine/q.png"
    assert row.extra["event_at"] == AS_OF - 4 * DAY


def test_attention_lines_list_unknown_tools_and_skip_settled_and_non_ai(filled: Catalog) -> None:
    with filled.read() as tx:
        paths = [row.path for row in queries.attention_lines(tx)]
    # the unknown tool's, and the unread mark's (no generator either)
    assert paths == ["/prod/show_a/mystery.png", "/prod/show_b/unread.png"]


def test_events_between_is_half_open_and_joins_the_asset(filled: Catalog) -> None:
    with filled.read() as tx:
        purged = list(queries.events_between(tx, ("purged",), AS_OF - 7 * DAY, AS_OF))
        cleared = list(queries.events_between(tx, ("cleared",), AS_OF - DAY, AS_OF))
        none = list(queries.events_between(tx, ("cleared",), AS_OF - 7 * DAY, AS_OF - DAY))
    assert [(e.path, e.after["size"], e.root) for e in purged] == [
        ("/prod/show_a/gone.png", 1234, "/prod/show_a")
    ]
    assert [e.after["approval"] for e in cleared] == ["LEGAL-42"]
    assert none == []


def test_status_counts_are_ai_only_per_root(filled: Catalog) -> None:
    with filled.read() as tx:
        counts = queries.status_counts(tx)
        only_b = queries.status_counts(tx, "/prod/show_b")
    assert counts[("/prod/show_a", "temporary")] == 4
    assert ("/prod/show_a", "not-ai") not in counts
    # a mark there but unreadable (suspect) is counted with the AI assets: it is in the lifecycle
    assert only_b == {("/prod/show_b", "temporary"): 3, ("/prod/show_b", "cleared"): 1}


def test_deadlines_per_day_groups_by_utc_day(filled: Catalog) -> None:
    with filled.read() as tx:
        days = queries.deadlines_per_day(tx, AS_OF, AS_OF + 7 * DAY)
    assert days == {date(2026, 12, 2): 1, date(2026, 12, 5): 1, date(2026, 12, 6): 1}


def test_weekly_activity_counts_found_cleared_purged_per_week(filled: Catalog) -> None:
    period = Period(AS_OF, 7)
    with filled.read() as tx:
        weekly = queries.weekly_activity(tx, period.week_starts(), AS_OF)
        only_b = queries.weekly_activity(tx, period.week_starts(), AS_OF, "/prod/show_b")
    # five AI assets indexed one per week; the not-ai index does not count
    assert {k: v for k, v in weekly.items() if k[1] == "found"} == {
        (i, "found"): 1 for i in (3, 4, 5, 6, 7)
    }
    assert weekly[(7, "cleared")] == 1
    assert weekly[(7, "purged")] == 1 and weekly[(5, "purged")] == 1
    assert only_b == {(7, "cleared"): 1, (5, "found"): 1}


def test_root_filter_narrows_every_asset_query(filled: Catalog) -> None:
    with filled.read() as tx:
        due = [r.root for r in queries.due_assets(tx, AS_OF, AS_OF + 7 * DAY, "/prod/show_b")]
        overdue = [r.root for r in queries.overdue_assets(tx, AS_OF, "/prod/show_b")]
        events = list(
            queries.events_between(tx, ("purged",), AS_OF - 7 * DAY, AS_OF, "/prod/show_b")
        )
    assert due == ["/prod/show_b"]
    assert overdue == ["/prod/show_b"]
    assert events == []


def test_queries_on_an_empty_catalog_return_nothing(catalog: Catalog, tmp_path: Path) -> None:
    with catalog.read() as tx:
        assert list(queries.due_assets(tx, AS_OF, AS_OF + timedelta(days=7))) == []
        assert queries.status_counts(tx) == {}
        assert queries.weekly_activity(tx, Period(AS_OF).week_starts(), AS_OF) == {}
        assert queries.weekly_activity(tx, [], AS_OF) == {}


def test_sqlite_counts_the_found_events_from_their_partial_index(tmp_path: Path) -> None:
    # a catalog never analysed: the planner would take (action, at, asset_id) and read each
    # event's JSON
    path = tmp_path / "catalog.sqlite"
    catalog = Catalog.open(f"sqlite:///{path}")
    with (
        recorded(
            catalog, lambda statement: "count(distinct(events.asset_id))" in statement
        ) as sent,
        catalog.read() as tx,
    ):
        queries.weekly_activity(tx, Period(AS_OF).week_starts(), AS_OF)
    found = [pair for pair in sent if "ai_class" in pair[0]]
    assert len(found) == 1
    plan = str(explain(path, found[0][0], found[0][1]))
    assert "USING INDEX ix_events_found" in plan, plan


def test_sqlite_finds_a_period_s_events_of_an_action_by_their_index(tmp_path: Path) -> None:
    # an analysed catalog where one action is most events (``indexed``): walking the time
    # index in order would read every event of the period to keep the few purged
    path = tmp_path / "catalog.sqlite"
    Catalog.open(f"sqlite:///{path}").close()
    at = "2026-11-25 07:00:00.000000"
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO events (asset_id, at, user, host, action, path, reason, before, after, "
            "prev_hash, hash) VALUES (?, ?, 'u', 'h', ?, '/p', '', '{}', '{}', '', ?)",
            [(n, at, "purged" if n % 500 == 0 else "indexed", f"{n:064x}") for n in range(5000)],
        )
        conn.execute("ANALYZE")
    catalog = Catalog.open(f"sqlite:///{path}")
    with (
        recorded(catalog, lambda statement: statement.startswith("SELECT events.id")) as sent,
        catalog.read() as tx,
    ):
        found = list(queries.events_between(tx, ("purged",), AS_OF - 7 * DAY, AS_OF, None, 5))
    assert len(found) == 5 and len(sent) == 1
    plan = str(explain(path, sent[0][0], sent[0][1]))
    assert "ix_events_action_at" in plan, plan


def _insert_assets(conn: sqlite3.Connection, assets: list[tuple[str, str]]) -> None:
    """Insert AI assets of (status, deadline) with the columns a catalog requires."""
    now = "2026-11-30 07:00:00.000000"
    conn.executemany(
        "INSERT INTO assets (uid, path, root, size, mtime_ns, inode, device, media_type, "
        "ai_class, confidence, status, deadline, first_seen, last_seen, present) "
        "VALUES (?, ?, '/r', 1, 0, ?, 1, 'image/png', 'ai', 1, ?, ?, ?, ?, 1)",
        [
            (f"{n:036d}", f"/r/{n}.png", n, status, deadline, now, now)
            for n, (status, deadline) in enumerate(assets)
        ],
    )


def test_sqlite_finds_the_late_open_assets_by_status_and_deadline(tmp_path: Path) -> None:
    # an analysed catalog where most assets past their deadline are decided (purged,
    # cleared): walking the deadline index would read all of them to find the few open ones
    path = tmp_path / "catalog.sqlite"
    Catalog.open(f"sqlite:///{path}").close()
    past = "2026-11-01 07:00:00.000000"
    statuses = ("purged", "cleared", "quarantined", "flagged", "held", "temporary")
    with sqlite3.connect(path) as conn:
        _insert_assets(conn, [(statuses[n % 6], past) for n in range(3000)])
        conn.execute("ANALYZE")
    catalog = Catalog.open(f"sqlite:///{path}")
    with (
        recorded(
            catalog,
            lambda statement: (
                statement.startswith("SELECT assets.id") and "deadline <" in statement
            ),
        ) as sent,
        catalog.read() as tx,
    ):
        late = list(queries.overdue_assets(tx, AS_OF, None, 10))
    assert len(late) == 10 and sent
    for statement, parameters in sent:
        plan = str(explain(path, statement, parameters))
        assert "ix_assets_status_deadline" in plan, plan


def test_the_doubtful_c2pa_index_names_every_trust_word_the_report_calls_out() -> None:
    for where in DOUBTFUL_C2PA_WHERE.values():
        assert all(f"'{word}'" in where for word in queries.DOUBTFUL_TRUST)


def test_sqlite_reads_the_doubtful_c2pa_signals_from_their_partial_index(
    tmp_path: Path,
) -> None:
    # an analysed catalog with many signals: the query must not read each one's JSON
    path = tmp_path / "catalog.sqlite"
    Catalog.open(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        _insert_assets(conn, [("temporary", "2026-12-30 07:00:00.000000")] * 2000)
        conn.executemany(
            "INSERT INTO signals (asset_id, kind, ai_class, parameters, confidence, source, "
            "detail, found_at) VALUES (?, ?, 'ai', '{}', 1, '', ?, '2026-11-01 00:00:00')",
            [(n, "c2pa" if n % 2 else "png-text", '{"trust": "trusted"}') for n in range(2000)],
        )
        conn.execute("ANALYZE")
    catalog = Catalog.open(f"sqlite:///{path}")
    with (
        recorded(catalog, lambda statement: "JOIN signals" in statement) as sent,
        catalog.read() as tx,
    ):
        assert list(queries.untrusted_c2pa_lines(tx)) == []
    assert len(sent) == 1
    plan = str(explain(path, sent[0][0], sent[0][1]))
    assert "ix_signals_doubtful" in plan and "SCAN signals)" not in plan, plan


def _analysed(tmp_path: Path, *changes: str) -> tuple[Path, Catalog]:
    """A SQLite catalog of 2,000 uncleared AI assets of an approved tool, then ``changes``
    (SQL), analysed as a catalog in use is; its path, and the catalog opened again."""
    path = tmp_path / "catalog.sqlite"
    Catalog.open(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        _insert_assets(conn, [("temporary", "2026-12-30 07:00:00.000000")] * 2000)
        conn.execute("UPDATE assets SET tool_status = 'approved', generator = 'ComfyUI'")
        for change in changes:
            conn.execute(change)
        conn.execute("ANALYZE")
    return path, Catalog.open(f"sqlite:///{path}")


def test_sqlite_lists_the_unassessed_files_of_no_tool_from_their_partial_index(
    tmp_path: Path,
) -> None:
    # an analysed catalog of assessed AI assets: the files never assessed that name no
    # tool are read from their index, not from every uncleared AI asset's row
    path, catalog = _analysed(
        tmp_path, "UPDATE assets SET tool_status = NULL, generator = NULL WHERE id % 500 = 0"
    )
    with (
        recorded(catalog, lambda statement: "tool_status IS NULL" in statement) as sent,
        catalog.read() as tx,
    ):
        lines = list(queries.attention_lines(tx))
    assert len(lines) == 4 and len(sent) == 1
    plan = str(explain(path, sent[0][0], sent[0][1]))
    assert "ix_assets_untooled" in plan, plan


def test_sqlite_reads_the_unread_marks_from_their_partial_index(tmp_path: Path) -> None:
    # an analysed catalog of uncleared AI assets, a few of them suspect: the lines and the
    # count read those from their index, not every uncleared AI asset's row
    path, catalog = _analysed(tmp_path, "UPDATE assets SET ai_class = 'suspect' WHERE id % 400 = 0")
    with (
        recorded(catalog, lambda statement: "ai_class = 'suspect'" in statement) as sent,
        catalog.read() as tx,
    ):
        lines = list(queries.unread_mark_lines(tx))
        counted, _ = queries.attention_counts(tx, None, set(), unknown_tools=False)
    assert len(lines) == 5 and counted == {"/r": 5} and len(sent) == 2
    for statement, parameters in sent:
        plan = str(explain(path, statement, parameters))
        assert "ix_assets_unread_mark" in plan, plan


def test_the_attention_lines_are_counted_once_each_and_named_by_path(filled: Catalog) -> None:
    with filled.read() as tx:
        unknown = [line.path for line in queries.attention_lines(tx)]
        untrusted = [line.path for line in queries.untrusted_c2pa_lines(tx)]
        by_root, folders = queries.attention_counts(tx, None, {"/prod/show_a"})
        registry, _ = queries.attention_counts(tx, None, set(), unknown_tools=False)
        none = list(queries.attention_lines(tx, limit=0))
        only_b, _ = queries.attention_counts(tx, "/prod/show_b", set())
    assert unknown == ["/prod/show_a/mystery.png", "/prod/show_b/unread.png"]
    assert untrusted == ["/prod/show_a/far.png"]
    # the unknown tool's file and the untrusted signature's, in their folder; the unread
    # mark's once, though it names no tool either
    assert by_root == {"/prod/show_a": 2, "/prod/show_b": 1}
    assert [(f.folder, f.status, f.count) for f in folders] == [("/prod/show_a", "temporary", 2)]
    # with a registry, the unknown tool's legacy row is not news; the signature and the
    # unread mark still are
    assert registry == {"/prod/show_a": 1, "/prod/show_b": 1}
    assert none == [] and only_b == {"/prod/show_b": 1}


def test_the_unread_marks_are_named_with_why_whatever_the_registry(filled: Catalog) -> None:
    with filled.read() as tx:
        lines = list(queries.unread_mark_lines(tx))
        in_a = list(queries.unread_mark_lines(tx, "/prod/show_a"))
        none = list(queries.unread_mark_lines(tx, limit=0))
    assert [(line.path, line.ai_class) for line in lines] == [
        ("/prod/show_b/unread.png", "suspect")
    ]
    assert lines[0].extra == {"unread_kind": "sd-text", "unread_problem": UNREAD_PROBLEM}
    assert in_a == [] and none == []


def test_an_unread_mark_cleared_or_settled_is_not_named(filled: Catalog) -> None:
    # cleared (its status), or held with a clearance in force: no longer waiting
    with filled.write() as tx:
        unread = tx.asset_by_path("/prod/show_b/unread.png")
        held = tx.asset_by_path("/prod/show_a/held.png")
        assert unread is not None and held is not None and held.id is not None
        held.ai_class = "suspect"
        tx.add(
            Clearance(
                asset_id=held.id,
                content_hash=held.content_hash or "",
                approval_ref="LEGAL-7",
                user="u",
                host="h",
                cleared_at=AS_OF,
            )
        )
        unread.status = "cleared"
    with filled.read() as tx:
        assert list(queries.unread_mark_lines(tx)) == []
        assert queries.attention_counts(tx, None, set(), unknown_tools=False)[0] == {
            "/prod/show_a": 1
        }
