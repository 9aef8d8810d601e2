"""The daemon end to end on real folders: create, settle, move, rename a folder, delete, offline."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from provenance.catalog import Catalog
from provenance.config import CatalogSettings, RootSettings
from tests.media import write_a1111_png, write_plain_png
from tests.watch.conftest import QUIET, Start, wait_for


def test_new_file_is_cataloged_and_tagged(root: Path, mode: str, start_daemon: Start) -> None:
    daemon = start_daemon(RootSettings(path=root, watch=mode))
    castle = write_a1111_png(root / "concepts" / "castle.png")
    asset = daemon.wait_asset(castle)
    assert (asset.ai_class, asset.status, asset.family) == ("ai", "temporary", "a1111")
    assert daemon.actions(castle) == ["indexed"]
    wait_for(lambda: (root / "concepts" / "castle.png.xmp").is_file(), what="the sidecar")
    # the same ingest as a scan: a deadline from the retention policy, risk from the rules
    assert asset.deadline is not None and asset.policy == "default"
    assert asset.risk is not None and asset.tool_status == "unknown"


@pytest.mark.parametrize("how", ["copied", "moved in"])
def test_a_file_dropped_into_a_root_is_recorded_within_2s(
    root: Path, tmp_path: Path, catalog: Catalog, start_daemon: Start, how: str
) -> None:
    daemon = start_daemon(
        RootSettings(path=root, watch="native"),
        catalog_settings=CatalogSettings(url=catalog.url),  # on both backends
        quiet_period=2.0,  # the default
    )
    source = write_a1111_png(tmp_path / "elsewhere" / "castle.png")
    dropped = root / "castle.png"
    began = time.monotonic()
    if how == "copied":
        shutil.copyfile(source, dropped)
    else:
        source.rename(dropped)
    daemon.wait_asset(dropped, timeout=2.0)
    assert time.monotonic() - began < 2.0


def test_changes_made_while_down_are_caught_up_at_start(root: Path, start_daemon: Start) -> None:
    plate = write_plain_png(root / "plate.png")
    daemon = start_daemon(RootSettings(path=root))
    assert daemon.asset(plate) is not None


def test_slow_write_on_inotify_is_read_once_after_close(root: Path, start_daemon: Start) -> None:
    daemon = start_daemon(RootSettings(path=root, watch="native"))
    source = write_a1111_png(root.parent / "source.png").read_bytes()
    target = root / "slow.png"
    with open(target, "wb") as stream:
        # pauses longer than the quiet period: only the close says the file is complete
        for start in range(0, len(source), len(source) // 4 + 1):
            stream.write(source[start : start + len(source) // 4 + 1])
            stream.flush()
            time.sleep(QUIET * 2)
            assert daemon.asset(target) is None
    asset = daemon.wait_asset(target)
    assert asset.size == len(source) and asset.ai_class == "ai"
    daemon.idle()
    assert daemon.actions(target) == ["indexed"]


def test_slow_write_is_read_once_when_it_holds_still(
    root: Path, mode: str, start_daemon: Start
) -> None:
    daemon = start_daemon(RootSettings(path=root, watch=mode))
    source = write_a1111_png(root.parent / "source.png").read_bytes()
    target = root / "pieces.png"
    step = len(source) // 8 + 1
    began = time.monotonic()
    for start in range(0, len(source), step):  # appended in pieces, closed after each one
        with open(target, "ab") as stream:
            stream.write(source[start : start + step])
        time.sleep(QUIET / 4)
    assert time.monotonic() - began > QUIET
    # (on inotify a read after one of the closes may record part of it first: see below)
    daemon.wait_asset(target, size=len(source))
    daemon.idle()
    # every close makes a complete-looking file on inotify; the reads may record it once
    # and then as modified, never half of it as the last word
    assert daemon.asset(target).size == len(source)  # type: ignore[union-attr]
    if mode == "polling":
        assert daemon.actions(target) == ["indexed"]


def test_moved_file_keeps_its_record(root: Path, mode: str, start_daemon: Start) -> None:
    daemon = start_daemon(RootSettings(path=root, watch=mode))
    castle = write_a1111_png(root / "castle.png")
    before = daemon.wait_asset(castle)
    (root / "shots").mkdir()
    moved = root / "shots" / "castle_v2.png"
    castle.rename(moved)
    after = daemon.wait_asset(moved)
    assert after.id == before.id and after.uid == before.uid and after.present
    assert daemon.asset(castle) is None
    assert daemon.actions(moved) == ["indexed", "moved"]
    wait_for(
        lambda: (root / "shots" / "castle_v2.png.xmp").is_file(), what="the sidecar at the new name"
    )


def test_renamed_folder_moves_every_record_under_it(
    root: Path, mode: str, start_daemon: Start
) -> None:
    daemon = start_daemon(RootSettings(path=root, watch=mode))
    files = [
        write_plain_png(root / "seq" / "sub" / f"frame_{i}.png", color=c)
        for i, c in enumerate(["red", "green", "blue"])
    ]
    ids = {f.name: daemon.wait_asset(f).id for f in files}
    (root / "seq").rename(root / "sequence")
    for name, asset_id in ids.items():
        asset = daemon.wait_asset(root / "sequence" / "sub" / name)
        assert asset.id == asset_id and asset.present
        assert daemon.actions(root / "sequence" / "sub" / name) == ["indexed", "moved"]
    daemon.idle()
    with daemon.catalog.read() as tx:
        assert tx.assets_under(str(root / "seq")) == []


def test_deleted_file_is_marked_missing(root: Path, mode: str, start_daemon: Start) -> None:
    daemon = start_daemon(RootSettings(path=root, watch=mode))
    plate = write_plain_png(root / "plate.png")
    daemon.wait_asset(plate)
    plate.unlink()
    asset = daemon.wait_asset(plate, present=False)
    assert asset.missing_since is not None
    assert daemon.actions(plate) == ["indexed", "missing"]


def test_deleted_folder_marks_everything_under_it(root: Path, start_daemon: Start) -> None:
    daemon = start_daemon(RootSettings(path=root))
    files = [
        write_plain_png(root / "old" / f"{i}.png", color=c) for i, c in enumerate(["red", "blue"])
    ]
    for path in files:
        daemon.wait_asset(path)
    shutil.rmtree(root / "old")
    for path in files:
        daemon.wait_asset(path, present=False)


def test_file_saved_by_delete_and_rewrite_is_modified_not_missing(
    root: Path, start_daemon: Start
) -> None:
    daemon = start_daemon(RootSettings(path=root, watch="native"))
    plate = write_plain_png(root / "plate.png")
    daemon.wait_asset(plate)
    plate.unlink()
    write_a1111_png(plate)
    daemon.wait_asset(plate, ai_class="ai")
    daemon.idle()
    assert daemon.actions(plate) == ["indexed", "modified"]


def test_modified_file_is_redetected_with_before_and_after_hash(
    root: Path, mode: str, start_daemon: Start
) -> None:
    daemon = start_daemon(RootSettings(path=root, watch=mode))
    plate = write_plain_png(root / "plate.png")
    first = daemon.wait_asset(plate)
    write_a1111_png(root.parent / "tmp.png")
    os.replace(root.parent / "tmp.png", plate)  # how most programs save
    after = daemon.wait_asset(plate, ai_class="ai")
    assert after.id == first.id and after.content_hash != first.content_hash
    with daemon.catalog.read() as tx:
        modified = [e for e in tx.events_of(after.id) if e.action == "modified"]  # type: ignore[arg-type]
    assert modified[-1].before["content_hash"] == first.content_hash
    assert modified[-1].after["content_hash"] == after.content_hash


def test_delete_under_root_without_its_marker_is_not_recorded(
    root: Path, start_daemon: Start, caplog: pytest.LogCaptureFixture
) -> None:
    (root / ".provenance-root").write_text("")
    daemon = start_daemon(RootSettings(path=root, marker=".provenance-root"))
    files = [
        write_plain_png(root / f"{i}.png", color=c) for i, c in enumerate(["red", "blue", "green"])
    ]
    for path in files:
        daemon.wait_asset(path)
    (root / ".provenance-root").unlink()
    for path in files:
        path.unlink()
    wait_for(lambda: any("offline" in r.getMessage() for r in caplog.records), what="the warning")
    daemon.idle()
    time.sleep(QUIET * 3)  # give a wrong "missing" every chance to be written
    assert all(daemon.asset(p).present for p in files)  # type: ignore[union-attr]
    offline = [
        r for r in caplog.records if "offline" in r.getMessage() and r.levelname == "WARNING"
    ]
    assert 1 <= len(offline) <= 2, [r.getMessage() for r in offline]  # once, not per file


def test_root_renamed_away_is_offline_not_deleted(
    root: Path, mode: str, start_daemon: Start
) -> None:
    daemon = start_daemon(RootSettings(path=root, watch=mode))
    daemon.wait_asset(write_plain_png(root / "kept.png", color="red"))
    plate = daemon.wait_asset(write_plain_png(root / "plate.png"))
    away = root.parent / "unmounted"
    root.rename(away)
    (away / "plate.png").unlink()
    wait_for(lambda: not daemon.daemon.roots[str(root)].online, what="the root to go offline")
    time.sleep(QUIET * 3)
    assert daemon.asset(Path(plate.path)).present  # type: ignore[union-attr]
    away.rename(root)
    wait_for(lambda: daemon.daemon.roots[str(root)].watcher is not None, what="watching again")
    # back online: the catch-up scan now records the delete made during the outage
    daemon.wait_asset(Path(plate.path), present=False)


def test_hostile_files_are_skipped_and_the_daemon_goes_on(root: Path, start_daemon: Start) -> None:
    daemon = start_daemon(RootSettings(path=root))
    good = write_a1111_png(root.parent / "good.png").read_bytes()
    (root / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "garbage.png").write_bytes(os.urandom(4096))
    (root / "zero.jpg").write_bytes(b"")
    huge = b"\x89PNG\r\n\x1a\n" + (50_000_000).to_bytes(4, "big") + b"tEXt" + b"A" * 200_000
    (root / "huge_text.png").write_bytes(huge)
    (
        root
        / "bad\udcffname.png".encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
    ).write_bytes(b"x")
    after = write_a1111_png(root / "after.png")
    assert daemon.wait_asset(after).ai_class == "ai"
    daemon.idle()
    consumer = daemon.daemon._consumer
    assert consumer is not None and consumer.is_alive()
