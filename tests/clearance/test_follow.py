"""The clearance follows the content through scans: moves keep it, copies get it, edits void it."""

from __future__ import annotations

import shutil
from pathlib import Path

from provenance.catalog import Catalog
from provenance.catalog.clearance import active_clearance, clearances_of
from tests.clearance.helpers import actions_of, asset_at, run, write_config
from tests.media import write_a1111_png


def _cleared(tmp_path: Path, root: Path, catalog: Catalog) -> tuple[Path, Path]:
    config = write_config(tmp_path, root, catalog)
    assert run(config, "scan", str(root)).exit_code == 0
    poster = root / "finals" / "poster.png"
    result = run(config, "clear", str(poster), "--approval", "LEGAL-1")
    assert result.exit_code == 0, result.output
    return config, poster


def test_a_cleared_file_whose_bytes_change_loses_its_clearance(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config, poster = _cleared(tmp_path, root, catalog)
    old_hash = asset_at(catalog, poster).content_hash
    write_a1111_png(poster, color="black")  # re-rendered in place
    scanned = run(config, "scan", str(root))
    assert scanned.exit_code == 0, scanned.output
    asset = asset_at(catalog, poster)
    assert asset.status == "temporary" and asset.deadline is not None
    with catalog.read() as tx:
        assert active_clearance(tx, asset.id or 0) is None
        (clearance,) = clearances_of(tx, asset.id or 0)
        voided = [e for e in tx.events_of(asset.id or 0) if e.action == "clearance-voided"]
    assert clearance.void_action == "clearance-voided"
    assert voided[0].before["content_hash"] == old_hash
    assert voided[0].after["content_hash"] == asset.content_hash != old_hash
    assert voided[0].after["status"] == "temporary"


def test_a_copy_of_cleared_content_is_cleared_citing_the_source(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config, poster = _cleared(tmp_path, root, catalog)
    copy = root / "delivery" / "poster_v1.png"
    copy.parent.mkdir()
    shutil.copy2(poster, copy)
    assert run(config, "scan", str(root)).exit_code == 0
    source, copied = asset_at(catalog, poster), asset_at(catalog, copy)
    assert copied.status == "cleared" and copied.source_asset_id == source.id
    assert actions_of(catalog, copy) == ["copied", "cleared"]
    with catalog.read() as tx:
        mine, theirs = active_clearance(tx, copied.id or 0), active_clearance(tx, source.id or 0)
        event = tx.events_of(copied.id or 0)[-1]
    assert mine is not None and theirs is not None
    assert mine.source_clearance_id == theirs.id and mine.approval_ref == "LEGAL-1"
    assert event.after["source_clearance_id"] == theirs.id


def test_a_moved_cleared_file_stays_cleared(tmp_path: Path, root: Path, catalog: Catalog) -> None:
    config, poster = _cleared(tmp_path, root, catalog)
    moved = root / "delivery" / "poster.png"
    moved.parent.mkdir()
    poster.rename(moved)
    assert run(config, "scan", str(root)).exit_code == 0
    asset = asset_at(catalog, moved)
    assert asset.status == "cleared"
    assert actions_of(catalog, moved)[-1] == "moved"
    with catalog.read() as tx:
        clearance = active_clearance(tx, asset.id or 0)
    assert clearance is not None and clearance.content_hash == asset.content_hash


def test_a_copy_of_content_whose_clearance_was_revoked_is_temporary(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config, poster = _cleared(tmp_path, root, catalog)
    assert run(config, "revoke", str(poster), "--reason", "withdrawn").exit_code == 0
    copy = root / "poster_copy.png"
    shutil.copy2(poster, copy)
    assert run(config, "scan", str(root)).exit_code == 0
    assert asset_at(catalog, copy).status == "temporary"


def test_a_copy_made_before_the_original_is_edited_keeps_the_cleared_bytes_cleared(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    # copied, then the original re-rendered, all before the next scan: the original (first in
    # path order) loses its clearance, and the copy still holds exactly the cleared bytes
    config, poster = _cleared(tmp_path, root, catalog)
    copy = root / "zz-delivery" / "poster_v1.png"
    copy.parent.mkdir()
    shutil.copy2(poster, copy)
    write_a1111_png(poster, color="black")
    assert run(config, "scan", str(root)).exit_code == 0
    source, copied = asset_at(catalog, poster), asset_at(catalog, copy)
    assert source.status == "temporary"
    assert copied.status == "cleared" and copied.source_asset_id == source.id
    with catalog.read() as tx:
        mine = active_clearance(tx, copied.id or 0)
        (theirs,) = clearances_of(tx, source.id or 0)
    assert mine is not None and mine.content_hash == copied.content_hash == theirs.content_hash
    assert mine.source_clearance_id == theirs.id and mine.approval_ref == "LEGAL-1"
