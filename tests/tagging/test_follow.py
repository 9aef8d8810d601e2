"""Our sidecar follows its file when a scan finds it renamed or moved, and goes when it is gone.

Real files in tmp_path, a real catalog on both backends, the scan as the CLI runs it (the
daemon's side is in tests/watch/test_sidecars.py).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provenance.audit import Actor
from provenance.catalog import Catalog
from provenance.config import RootSettings, Settings
from provenance.ingest.scan import ScanResult, scan
from provenance.tagging import read_sidecar
from provenance.tagging._xmp import merge_packet, read_packet, sole_record
from tests.fixtures_media import FOREIGN_SIDECAR, IPTC_DST, xmp_packet
from tests.media import write_a1111_png, write_plain_png

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ACTOR = Actor("tester", "host1")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "production"
    folder.mkdir()
    return folder


def _scan(
    root: Path, catalog: Catalog, hours: int = 0, embed: tuple[str, ...] = (), **options: object
) -> ScanResult:
    settings = Settings(
        state_dir=root.parent / "state",
        roots=[RootSettings(path=root)],
        tagging={"embed": list(embed)},  # type: ignore[arg-type]
    )
    return scan(settings, catalog, ACTOR, NOW + timedelta(hours=hours), **options)  # type: ignore[arg-type]


def _uid(catalog: Catalog, path: Path) -> str:
    with catalog.read() as tx:
        asset = tx.asset_by_path(str(path))
    assert asset is not None
    return asset.uid


def test_renamed_between_two_scans_the_sidecar_follows(root: Path, catalog: Catalog) -> None:
    shot = write_a1111_png(root / "shot010_v003.png")
    _scan(root, catalog)
    uid = _uid(catalog, shot)
    final = shot.rename(root / "shot010_final.png")
    result = _scan(root, catalog, 1)
    assert (result.counts.moved, result.counts.sidecars_moved) == (1, 1)
    assert not (root / "shot010_v003.png.xmp").exists()
    tag = read_sidecar(final)
    assert tag is not None and tag.asset_uid == uid == _uid(catalog, final)


def test_a_file_with_the_tag_embedded_too_takes_its_sidecar(root: Path, catalog: Catalog) -> None:
    shot = write_a1111_png(root / "shot.png")
    _scan(root, catalog, embed=("png",))
    with catalog.read() as tx:
        asset = tx.asset_by_path(str(shot))
    # the sidecar names the bytes the file has once the tag is embedded in it
    assert asset is not None and read_sidecar(shot).content_hash == asset.content_hash  # type: ignore[union-attr]
    final = shot.rename(root / "shot_final.png")
    assert _scan(root, catalog, 1, embed=("png",)).counts.sidecars_moved == 1
    assert read_sidecar(final).asset_uid == asset.uid  # type: ignore[union-attr]


def test_moved_to_a_subfolder_between_two_scans_the_sidecar_follows(
    root: Path, catalog: Catalog
) -> None:
    shot = write_a1111_png(root / "shot.png")
    _scan(root, catalog)
    (root / "approved" / "v1").mkdir(parents=True)
    moved = shot.rename(root / "approved" / "v1" / "shot.png")
    assert _scan(root, catalog, 1).counts.sidecars_moved == 1
    assert not (root / "shot.png.xmp").exists()
    assert (root / "approved" / "v1" / "shot.png.xmp").is_file()
    assert read_sidecar(moved).asset_uid == _uid(catalog, moved)  # type: ignore[union-attr]


def test_deleted_file_takes_only_its_own_unchanged_sidecar(root: Path, catalog: Catalog) -> None:
    write_plain_png(root / "plate.png")  # a root left empty would count as offline
    ours = write_a1111_png(root / "ours.png")
    # another tool's sidecar was there first: our record is merged into it
    (root / "merged.png.xmp").write_text(FOREIGN_SIDECAR)
    merged = write_a1111_png(root / "merged.png", color="blue")
    edited = write_a1111_png(root / "edited.png", color="green")
    _scan(root, catalog)
    # someone added to our sidecar since: it is no longer ours alone
    sidecar = root / "edited.png.xmp"
    sidecar.write_bytes(sidecar.read_bytes().replace(b"</rdf:RDF>", b"<!-- note --></rdf:RDF>"))
    before = {p.name: p.read_bytes() for p in (root / "merged.png.xmp", sidecar)}
    for path in (ours, merged, edited):
        path.unlink()
    result = _scan(root, catalog, 1)
    assert (result.counts.missing, result.counts.sidecars_removed) == (3, 1)
    assert not (root / "ours.png.xmp").exists()
    assert {p.name: p.read_bytes() for p in (root / "merged.png.xmp", sidecar)} == before


def test_a_sidecar_never_replaces_a_file_at_the_new_name(
    root: Path, catalog: Catalog, tmp_path: Path
) -> None:
    one, two = write_a1111_png(root / "one.png"), write_a1111_png(root / "two.png", color="blue")
    _scan(root, catalog)
    outside = tmp_path / "outside.xmp"
    outside.write_text("not ours")
    (root / "one_final.png.xmp").symlink_to(outside)  # planted where the sidecar would go
    (root / "two_final.png.xmp").write_text(FOREIGN_SIDECAR)  # another tool's, for another file
    one.rename(root / "one_final.png")
    two.rename(root / "two_final.png")
    result = _scan(root, catalog, 1)
    assert (result.counts.moved, result.counts.sidecars_kept) == (2, 2)
    assert outside.read_text() == "not ours" and (root / "one_final.png.xmp").is_symlink()
    assert (root / "two_final.png.xmp").read_text() == FOREIGN_SIDECAR  # nothing merged into it
    assert (root / "one.png.xmp").is_file() and (root / "two.png.xmp").is_file()


def test_dry_run_says_where_the_sidecars_would_go(
    root: Path, catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    shot, gone = (
        write_a1111_png(root / "shot.png"),
        write_a1111_png(root / "gone.png", color="blue"),
    )
    write_plain_png(root / "plate.png")
    _scan(root, catalog)
    shot.rename(root / "shot_final.png")
    gone.unlink()
    with caplog.at_level(logging.INFO):
        result = _scan(root, catalog, 1, dry_run=True)
    counts = result.counts
    assert (counts.moved, counts.missing) == (1, 1)
    assert (counts.sidecars_moved, counts.sidecars_removed) == (1, 1)
    messages = [r.getMessage() for r in caplog.records]
    assert f"dry run: would move sidecar {root}/shot.png.xmp -> {root}/shot_final.png.xmp" in (
        messages
    )
    assert f"dry run: would remove sidecar {root}/gone.png.xmp (gone.png is gone)" in messages
    assert (root / "shot.png.xmp").is_file() and (root / "gone.png.xmp").is_file()
    assert not (root / "shot_final.png.xmp").exists()


def test_a_sidecar_renamed_alone_makes_no_other_file_ai(root: Path, catalog: Catalog) -> None:
    write_a1111_png(root / "castle.png")
    plate = write_plain_png(root / "plate.png")
    _scan(root, catalog)
    (root / "castle.png.xmp").rename(root / "plate.png.xmp")
    plate.write_bytes(write_plain_png(root.parent / "other.png", color="white").read_bytes())
    _scan(root, catalog, 1)
    with catalog.read() as tx:
        asset = tx.asset_by_path(str(plate))
    assert asset is not None and (asset.ai_class, asset.status) == ("none", "not-ai")


def test_only_a_packet_of_ours_alone_is_ours() -> None:
    own = merge_packet(None, _record())
    assert sole_record(own) == read_packet(own)
    assert sole_record(merge_packet(FOREIGN_SIDECAR.encode(), _record())) is None
    assert sole_record(own.replace(b"</rdf:Description>", b"<!-- x --></rdf:Description>")) is None
    assert sole_record(xmp_packet(digital_source_type=IPTC_DST + "x").encode()) is None


def _record():  # type: ignore[no-untyped-def]
    from provenance.tagging import TagRecord, digital_source_type_for

    return TagRecord(
        asset_uid="0190b3c2-0000-7000-8000-000000000001",
        ai_class="ai",
        status="temporary",
        content_hash="blake3:" + "0" * 64,
        first_seen=NOW,
        deadline=None,
        generator="a1111",
        model=None,
        digital_source_type=digital_source_type_for("ai"),
    )
