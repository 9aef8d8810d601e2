"""The review queue's queries: uncleared AI assets a page at a time by path (keyset), and a
folder's count and nearest deadline, read from their partial index (both backends)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from provenance.catalog import Catalog, utcnow
from provenance.catalog.migrations import QUEUE_WHERE
from provenance.catalog.queue import Total, queue_page, queue_spans, queue_total
from provenance.lifecycle.states import STATUSES, UNCLEARED
from tests.catalog.plans import explain, recorded
from tests.clearance.helpers import run, write_config
from tests.media import write_a1111_png


def test_the_queue_index_names_the_statuses_outside_the_uncleared() -> None:
    # by the statuses it leaves out: a new uncleared status is in the queue with no new schema
    named = re.findall(r"'([a-z-]+)'", QUEUE_WHERE.split("status NOT IN", 1)[1])
    assert sorted(named) == sorted(str(s) for s in STATUSES if s not in UNCLEARED)


def test_pages_follow_the_last_path_and_leave_out_decided_and_plain_files(
    tmp_path: Path, catalog: Catalog
) -> None:
    root = tmp_path / "show_q"
    for folder in ("a", "b", "b/c"):
        for name in ("1.png", "2.png"):
            write_a1111_png(root / folder / name)
    (root / "a" / "plain.txt").write_text("not AI")
    config = write_config(tmp_path, root, catalog)
    assert run(config, "scan", str(root)).exit_code == 0
    decided = str(root / "a" / "2.png")
    cleared = run(config, "clear", decided, "--approval", "A", "--escalation", "E")
    assert cleared.exit_code == 0, cleared.output
    with catalog.read() as tx:
        first = queue_page(tx, limit=3)
        second = queue_page(tx, after=first[-1].line.path, limit=3)
        under = queue_page(tx, under=str(root / "b"), limit=10)
        spans = queue_spans(tx, [(str(root / "b"), True), (str(root / "b"), False)])
    names = [str(Path(q.line.path).relative_to(root)) for q in first + second]
    assert names == ["a/1.png", "b/1.png", "b/2.png", "b/c/1.png", "b/c/2.png"]
    assert all(len(q.uid) == 36 and q.risk for q in first)
    assert [Path(q.line.path).relative_to(root).as_posix() for q in under] == names[1:]
    assert spans[(str(root / "b"), True)].count == 2
    assert spans[(str(root / "b"), False)].count == 4
    assert spans[(str(root / "b"), False)].nearest is not None
    # the total: the cleared file is out, the held ones in (a hold wins over a clearance)
    assert run(config, "hold", str(root / "b" / "c"), "--reason", "M-1").exit_code == 0
    later = utcnow() + timedelta(days=100_000)
    with catalog.read() as tx:
        assert queue_total(tx, utcnow()) == Total(5, 0, 2)
        assert queue_total(tx, later, str(root / "b")) == Total(4, 4, 2)
        assert queue_total(tx, later, str(root / "a")) == Total(1, 1, 0)


def test_sqlite_reads_a_page_and_a_span_from_the_queue_index(tmp_path: Path) -> None:
    # a catalog never analysed: SQLite's planner would guess the status index and sort
    path = tmp_path / "catalog.sqlite"
    catalog = Catalog.open(f"sqlite:///{path}")
    with recorded(catalog, lambda statement: "assets" in statement) as sent, catalog.read() as tx:
        queue_page(tx, after="/x", limit=10, under="/x")
        queue_spans(tx, [("/x", True)])
        queue_total(tx, utcnow(), "/x")
        queue_total(tx, utcnow())  # the whole queue: from the status indexes
    assert len(sent) == 4
    whole = str(explain(path, sent[3][0], sent[3][1]))
    assert "SCAN assets" not in whole and "COVERING INDEX ix_assets_status_root" in whole
    for statement, parameters in sent[:3]:
        plan = explain(path, statement, parameters)
        assert "USING INDEX ix_assets_queue" in str(plan[0]), plan
        assert "TEMP B-TREE" not in str(plan), plan


def test_a_hold_s_reach_is_one_range_of_the_path_index(tmp_path: Path) -> None:
    # a hold or a release of one folder reads that folder's part of the path index, not
    # every asset's path (a scan of the table took 2.5 s on PostgreSQL at 10,000,000 assets)
    from provenance.catalog.lifecycle import assets_at_or_under

    path = tmp_path / "catalog.sqlite"
    catalog = Catalog.open(f"sqlite:///{path}")
    with recorded(catalog, lambda statement: "assets" in statement) as sent, catalog.read() as tx:
        list(assets_at_or_under(tx, "/x/show"))
    ((statement, parameters),) = sent
    plan = str(explain(path, statement, parameters))
    assert "SCAN assets" not in plan and "(path>? AND path<?)" in plan, plan
