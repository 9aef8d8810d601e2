"""The daemon keeps our sidecar with its file: rename, move, delete; never over another file.

A real daemon with real observers on tmp_path, on both catalog backends.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from provenance.catalog import Catalog
from provenance.config import CatalogSettings, RootSettings
from provenance.tagging import read_sidecar
from provenance.watch.changes import Change
from tests.fixtures_media import FOREIGN_SIDECAR
from tests.media import write_a1111_png
from tests.watch.conftest import Running, Start, wait_for


@pytest.fixture(params=["native", "polling"])
def daemon(
    request: pytest.FixtureRequest, root: Path, catalog: Catalog, start_daemon: Start
) -> Running:
    return start_daemon(
        RootSettings(path=root, watch=request.param),
        catalog_settings=CatalogSettings(url=catalog.url),
        quiet_period=2.0,  # the default
    )


def _tagged(daemon: Running, path: Path) -> str:
    """Wait for ``path`` to be recorded and its sidecar written; return its asset uid."""
    asset = daemon.wait_asset(path)
    wait_for(lambda: Path(f"{path}.xmp").is_file(), what=f"the sidecar of {path.name}")
    return asset.uid


def test_renamed_file_takes_its_sidecar_within_2s(root: Path, daemon: Running) -> None:
    shot = write_a1111_png(root / "shot010_v003.png")
    uid = _tagged(daemon, shot)
    began = time.monotonic()
    final = shot.rename(root / "shot010_final.png")
    wait_for(lambda: Path(f"{final}.xmp").is_file(), timeout=2.0, what="the sidecar renamed")
    assert time.monotonic() - began < 2.0
    assert not (root / "shot010_v003.png.xmp").exists()
    assert read_sidecar(final).asset_uid == uid  # type: ignore[union-attr]
    assert daemon.wait_asset(final).uid == uid
    daemon.idle()
    assert daemon.daemon.status("running")["counts"]["sidecars_moved"] == 1


def test_file_moved_to_a_subfolder_takes_its_sidecar(root: Path, daemon: Running) -> None:
    shot = write_a1111_png(root / "shot.png")
    uid = _tagged(daemon, shot)
    (root / "approved").mkdir()
    moved = shot.rename(root / "approved" / "shot.png")
    wait_for(lambda: Path(f"{moved}.xmp").is_file(), what="the sidecar in the subfolder")
    assert not (root / "shot.png.xmp").exists()
    assert read_sidecar(moved).asset_uid == uid  # type: ignore[union-attr]


def test_deleted_file_takes_its_own_sidecar_and_leaves_another_tools(
    root: Path, daemon: Running
) -> None:
    ours = write_a1111_png(root / "ours.png")
    (root / "theirs.png.xmp").write_text(FOREIGN_SIDECAR)  # our record is merged into it
    theirs = write_a1111_png(root / "theirs.png", color="blue")
    _tagged(daemon, ours)
    daemon.wait_asset(theirs)
    wait_for(lambda: b"provenance" in (root / "theirs.png.xmp").read_bytes(), what="the merge")
    merged = (root / "theirs.png.xmp").read_bytes()
    ours.unlink()
    theirs.unlink()
    wait_for(lambda: not (root / "ours.png.xmp").exists(), what="our sidecar removed")
    daemon.wait_asset(theirs, present=False)
    daemon.idle()
    assert (root / "theirs.png.xmp").read_bytes() == merged
    counts = daemon.daemon.status("running")["counts"]
    assert (counts["missing"], counts["sidecars_removed"]) == (2, 1)


def test_no_sidecar_is_written_through_a_link_at_the_new_name(
    root: Path, tmp_path: Path, daemon: Running
) -> None:
    shot = write_a1111_png(root / "shot.png")
    uid = _tagged(daemon, shot)
    outside = tmp_path / "outside.xmp"
    outside.write_text("not ours")
    (root / "shot_final.png.xmp").symlink_to(outside)
    final = shot.rename(root / "shot_final.png")
    assert daemon.wait_asset(final).uid == uid
    daemon.idle()
    wait_for(
        lambda: daemon.daemon.status("running")["counts"]["sidecars_kept"] == 1,
        what="the sidecar counted as kept",
    )
    assert outside.read_text() == "not ours"
    assert (root / "shot_final.png.xmp").is_symlink()
    assert read_sidecar(shot).asset_uid == uid  # type: ignore[union-attr]


def test_file_moved_to_another_root_leaves_no_sidecar_behind(
    root: Path, tmp_path: Path, catalog: Catalog, start_daemon: Start
) -> None:
    other = tmp_path / "delivery"
    other.mkdir()
    daemon = start_daemon(
        RootSettings(path=root, watch="native"),
        RootSettings(path=other, watch="native"),
        catalog_settings=CatalogSettings(url=catalog.url),
    )
    shot = write_a1111_png(root / "shot.png")
    uid = _tagged(daemon, shot)
    moved = shot.rename(other / "shot.png")  # one filesystem: a rename across the roots
    wait_for(lambda: Path(f"{moved}.xmp").is_file(), what="the tag in the other root")
    wait_for(lambda: not (root / "shot.png.xmp").exists(), what="the old sidecar removed")
    assert daemon.wait_asset(moved).uid == uid
    assert read_sidecar(moved).asset_uid == uid  # type: ignore[union-attr]


def test_rename_seen_half_way_by_a_poll_is_still_a_move_within_2s(
    root: Path, catalog: Catalog, start_daemon: Start
) -> None:
    """A poll that listed the folder before a rename and looked at the file after it sees a
    delete, and the next poll a new file: the two are paired by the catalog's inode, size and
    modification time, and the sidecar follows at once (not after two quiet periods)."""
    shot = write_a1111_png(root / "shot020_v001.png")
    running = start_daemon(
        RootSettings(path=root, watch="polling"),
        catalog_settings=CatalogSettings(url=catalog.url),
        quiet_period=2.0,
        poll_interval=60.0,  # the observer's own next poll is far off: only the halves come
    )
    uid = _tagged(running, shot)
    running.idle()
    final = shot.rename(root / "shot020_final.png")
    began = time.monotonic()
    # what the polling observer puts on the queue when its snapshot caught the rename
    running.daemon.changes.put(Change(str(root), "deleted", str(shot)))
    running.daemon.changes.put(Change(str(root), "created", str(final)))
    wait_for(lambda: Path(f"{final}.xmp").is_file(), timeout=2.0, what="the sidecar renamed")
    assert time.monotonic() - began < 2.0
    assert not Path(f"{shot}.xmp").exists()
    assert read_sidecar(final).asset_uid == uid  # type: ignore[union-attr]
    assert running.wait_asset(final).uid == uid
    running.idle()
    counts = running.daemon.status("running")["counts"]
    assert (counts["moved"], counts["missing"], counts["sidecars_moved"]) == (1, 0, 1)
