"""Settling, with time and file sizes as parameters: read once, complete, never half-written."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from provenance.watch.settle import Gone, Ready, Settler

QUIET, GRACE = 2.0, 60.0


class Disk:
    """A fake stat: path -> (size, mtime)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, int]] = {}

    def __call__(self, path: str) -> tuple[int, int] | None:
        return self.files.get(path)


def settler(disk: Disk) -> Settler:
    return Settler(QUIET, GRACE, pairing_wait=1.0, stat=disk)


def ready_paths(s: Settler, now: float) -> list[str]:
    return [r.path for r in s.pop_due(now)[0]]


def test_closed_file_is_ready_at_once() -> None:
    s = settler(Disk())
    s.touched("/r", "/r/a", 0.0, "created", waits_for_close=True)
    s.touched("/r", "/r/a", 0.1, "modified", waits_for_close=True)
    assert s.next_due(0.1) == GRACE
    s.touched("/r", "/r/a", 0.2, "closed", waits_for_close=True)
    assert s.next_due(0.2) == 0.0
    assert s.pop_due(0.2) == ([Ready("/r", "/r/a")], [])
    assert len(s) == 0


def test_file_open_for_writing_on_inotify_waits_for_its_close() -> None:
    disk = Disk()
    s = settler(disk)
    disk.files["/r/a"] = (10, 1)
    s.touched("/r", "/r/a", 0.0, "modified", waits_for_close=True)
    assert ready_paths(s, 30.0) == []  # stable for 30 s, but its writer has not closed it
    s.touched("/r", "/r/a", 31.0, "closed", waits_for_close=True)
    assert ready_paths(s, 31.0) == ["/r/a"]


def test_unclosed_file_is_read_after_the_grace_when_it_holds_still() -> None:
    disk = Disk()
    s = settler(disk)
    disk.files["/r/a"] = (10, 1)
    s.touched("/r", "/r/a", 0.0, "modified", waits_for_close=True)
    assert ready_paths(s, GRACE) == []  # first look
    assert ready_paths(s, GRACE + QUIET) == ["/r/a"]


def test_polled_file_is_ready_after_holding_still_a_quiet_period() -> None:
    disk = Disk()
    s = settler(disk)
    disk.files["/r/a"] = (10, 1)
    s.touched("/r", "/r/a", 0.0, "created")
    assert ready_paths(s, 1.0) == []
    assert ready_paths(s, 2.0) == []  # first look: size noted
    disk.files["/r/a"] = (20, 2)  # still growing
    assert ready_paths(s, 3.0) == []
    assert ready_paths(s, 4.5) == []
    assert ready_paths(s, 5.0) == ["/r/a"]


def test_file_that_vanished_while_settling_is_dropped() -> None:
    s = settler(Disk())
    s.touched("/r", "/r/a", 0.0, "created")
    assert s.pop_due(5.0) == ([], [])
    assert len(s) == 0


def test_moved_in_file_on_inotify_waits_for_the_move_to_pair() -> None:
    disk = Disk()
    s = Settler(0.2, 6.0, pairing_wait=1.0, stat=disk)
    disk.files["/r/a"] = (10, 1)
    s.touched("/r", "/r/a", 0.0, "created", waits_for_close=True)
    assert ready_paths(s, 0.5) == []
    assert ready_paths(s, 1.0) == []  # first look
    assert ready_paths(s, 1.25) == ["/r/a"]


def test_file_moved_in_from_outside_is_complete_once_the_move_could_pair() -> None:
    s = settler(Disk())  # no stat needed: a rename is atomic, the file is whole
    s.touched("/r", "/r/a", 0.0, "moved_in", waits_for_close=True)
    assert s.next_due(0.0) == 1.0
    assert ready_paths(s, 0.9) == []
    assert ready_paths(s, 1.0) == ["/r/a"]


def test_file_moved_in_then_written_waits_for_its_close() -> None:
    s = settler(Disk())
    s.touched("/r", "/r/a", 0.0, "moved_in", waits_for_close=True)
    s.touched("/r", "/r/a", 0.5, "modified", waits_for_close=True)
    assert ready_paths(s, 2.0) == []
    s.touched("/r", "/r/a", 3.0, "closed", waits_for_close=True)
    assert ready_paths(s, 3.0) == ["/r/a"]


def test_empty_new_file_on_inotify_waits_for_its_writer() -> None:
    disk = Disk()
    s = settler(disk)
    disk.files["/r/a"] = (0, 1)
    s.touched("/r", "/r/a", 0.0, "created", waits_for_close=True)
    assert ready_paths(s, 2.0) == []
    assert ready_paths(s, 10.0) == []
    assert ready_paths(s, GRACE + 1) == ["/r/a"]


def test_delete_then_rewrite_is_a_write_not_a_delete() -> None:
    s = settler(Disk())
    s.deleted("/r", "/r/a", 0.0)
    s.touched("/r", "/r/a", 0.5, "closed", waits_for_close=True)
    assert s.pop_due(10.0) == ([Ready("/r", "/r/a")], [])


def test_delete_waits_while_other_files_settle() -> None:
    disk = Disk()
    s = settler(disk)
    disk.files["/r/b"] = (5, 1)
    s.deleted("/r", "/r/a", 0.0)
    s.touched("/r", "/r/b", 0.0, "created")
    assert s.pop_due(QUIET) == ([], [])  # /r/b may be /r/a, moved: not missing yet
    # handed out together: the consumer reads /r/b knowing /r/a vanished (a move, if same bytes)
    assert s.pop_due(2 * QUIET) == ([Ready("/r", "/r/b")], [Gone("/r", "/r/a")])


def test_deleted_folder_forgets_pending_files_under_it() -> None:
    s = settler(Disk())
    s.touched("/r", "/r/f/a", 0.0, "created")
    s.touched("/r", "/r/fx", 0.0, "closed")
    s.deleted("/r", "/r/f", 0.0, is_dir=True)
    assert s.pop_due(0.0)[0] == [Ready("/r", "/r/fx")]
    assert s.pop_due(QUIET) == ([], [Gone("/r", "/r/f", True)])


def test_rename_is_ready_at_once_and_remembers_the_old_path() -> None:
    s = settler(Disk())
    s.moved("/r", "/r/a", "/r/b", 0.0)
    assert s.pop_due(0.0)[0] == [Ready("/r", "/r/b", moved_from="/r/a")]


def test_rename_of_a_file_still_settling_keeps_its_first_path() -> None:
    s = settler(Disk())
    s.moved("/r", "/r/a", "/r/b", 0.0)
    s.moved("/r", "/r/b", "/r/c", 0.0)
    assert s.pop_due(0.0)[0] == [Ready("/r", "/r/c", moved_from="/r/a")]


def test_folder_rename_carries_pending_files_along() -> None:
    s = settler(Disk())
    s.touched("/r", "/r/old/a", 0.0, "closed")
    s.touched("/r", "/r/older", 0.0, "closed")
    s.folder_moved("/r/old", "/r/new")
    assert sorted(ready_paths(s, 0.0)) == ["/r/new/a", "/r/older"]


def test_batch_limit() -> None:
    s = settler(Disk())
    for i in range(5):
        s.touched("/r", f"/r/{i}", 0.0, "closed")
    assert len(s.pop_due(0.0, limit=3)[0]) == 3
    assert len(s.pop_due(0.0)[0]) == 2


@given(
    st.lists(
        st.tuples(st.sampled_from(["created", "modified", "attrib", "closed"]), st.floats(0, 0.5)),
        min_size=1,
        max_size=30,
    )
)
def test_a_file_is_handed_out_once_per_quiet_spell(events: list[tuple[str, float]]) -> None:
    disk = Disk()
    s = Settler(QUIET, GRACE, stat=disk)
    now, handed = 0.0, 0
    for kind, gap in events:
        now += gap
        disk.files["/r/a"] = (int(now * 1000), int(now * 1000))
        s.touched("/r", "/r/a", now, kind, waits_for_close=True)  # type: ignore[arg-type]
        handed += len(s.pop_due(now)[0])
    closes = sum(1 for kind, _ in events if kind == "closed")
    assert handed <= closes  # never more reads than the writer's closes, however busy
    for later in (now + GRACE, now + GRACE + QUIET, now + 2 * GRACE):
        handed += len(s.pop_due(later)[0])
    assert handed >= 1 and len(s) == 0  # and always read in the end
