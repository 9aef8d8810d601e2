"""Content hashes for what needs an identity: AI assets, files the size of one, tagged files;
the other files by device, inode, size, mtime and a partial fingerprint ([scan] hash)."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provenance.audit import Actor
from provenance.catalog import Asset, Catalog
from provenance.catalog.attest import state_mismatches
from provenance.catalog.clearance import active_clearance
from provenance.config import RootSettings, Settings
from provenance.config.settings import DetectSettings, PathRuleSettings, ScanSettings
from provenance.files.hashing import PARTIAL_BLOCK, hash_file
from provenance.ingest.manual import ManualTag, tag_files
from provenance.ingest.scan import scan
from tests.clearance.helpers import actions_of, asset_at, run, write_config
from tests.media import write_a1111_png

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACTOR = Actor("tester", "host1")


def _settings(tmp_path: Path, root: Path, **scan_options: object) -> Settings:
    return Settings(
        state_dir=tmp_path / "state",
        roots=[RootSettings(path=root)],
        scan=ScanSettings(**scan_options),  # type: ignore[arg-type]
        detect=DetectSettings(path_rules=[PathRuleSettings(glob="**/gen/**", tool="Studio SD")]),
    )


def _scan(settings: Settings, catalog: Catalog, hours: int = 0):  # type: ignore[no-untyped-def]
    return scan(settings, catalog, ACTOR, NOW + timedelta(hours=hours))


def _frame(path: Path, seed: int, size: int = 3 * PARTIAL_BLOCK) -> Path:
    """A frame that is not AI (no marks), of ``size`` bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes([seed % 251]) * 16 + os.urandom(size - 16))
    return path


def _asset(catalog: Catalog, path: Path) -> Asset:
    with catalog.read() as tx:
        asset = tx.asset_by_path(str(path))
    assert asset is not None, f"{path} is not in the catalog"
    return asset


def _no_mismatch(catalog: Catalog) -> None:
    with catalog.read() as tx:
        assert list(state_mismatches(tx)) == []


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "show"
    write_a1111_png(folder / "concepts" / "castle.png")
    _frame(folder / "gen" / "matte.bin", 1, 3 * PARTIAL_BLOCK + 7)  # AI by its path only
    for n in range(3):
        _frame(folder / "plates" / f"frame_{n:04d}.dpx", n)
    return folder


def test_files_that_are_not_ai_get_no_content_hash_by_default(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    result = _scan(_settings(tmp_path, root), catalog)
    assert (result.counts.indexed, result.counts.ai) == (5, 2)
    for name in ("concepts/castle.png", "gen/matte.bin"):
        asset = _asset(catalog, root / name)
        assert asset.is_ai and asset.content_hash == hash_file(root / name)
        assert asset.fingerprint is not None and asset.fingerprint.startswith("partial:")
    frame = _asset(catalog, root / "plates" / "frame_0000.dpx")
    assert frame.content_hash is None
    assert frame.fingerprint is not None and frame.fingerprint.startswith("partial:")
    assert (frame.device, frame.inode) == (
        os.stat(root / "plates" / "frame_0000.dpx").st_dev,
        os.stat(root / "plates" / "frame_0000.dpx").st_ino,
    )


def test_with_hash_all_every_file_gets_its_content_hash(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    frame = root / "plates" / "frame_0001.dpx"
    _scan(_settings(tmp_path, root), catalog)
    assert _asset(catalog, frame).content_hash is None
    # switched to "all": every file is read again and hashed, none is "modified"
    again = _scan(_settings(tmp_path, root, hash="all"), catalog, 1)
    assert (again.counts.modified, again.counts.indexed, again.counts.unchanged) == (0, 0, 5)
    assert _asset(catalog, frame).content_hash == hash_file(frame)
    # a new root scanned with "all" hashes every file at once
    other = tmp_path / "other"
    fresh = _frame(other / "plates" / "frame_0009.dpx", 9)
    settings = Settings(
        state_dir=tmp_path / "state",
        roots=[RootSettings(path=other)],
        scan=ScanSettings(hash="all"),
    )
    _scan(settings, catalog, 2)
    assert _asset(catalog, fresh).content_hash == hash_file(fresh)
    _no_mismatch(catalog)


def test_a_copy_of_an_ai_asset_that_reads_as_plain_is_hashed_and_linked(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    settings = _settings(tmp_path, root)
    _scan(settings, catalog)
    matte = root / "gen" / "matte.bin"
    copy = root / "plates" / "matte_copy.bin"
    shutil.copy2(matte, copy)  # outside gen/: not AI by its path; the size of an AI asset
    result = _scan(settings, catalog, 1)
    assert result.counts.copied == 1
    original, copied = _asset(catalog, matte), _asset(catalog, copy)
    assert copied.content_hash == original.content_hash == hash_file(copy)
    assert copied.source_asset_id == original.id
    assert (copied.ai_class, copied.generator, copied.status) == ("ai", "Studio SD", "temporary")


def test_a_copy_read_in_the_same_scan_as_its_ai_original_is_linked(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    # gen/ sorts before zz/: the original is read first, its size then asks for the copy's hash
    shutil.copy2(root / "gen" / "matte.bin", _frame(root / "zz" / "copy.bin", 0))
    result = _scan(_settings(tmp_path, root), catalog)
    assert result.counts.copied == 1
    copied = _asset(catalog, root / "zz" / "copy.bin")
    assert (
        copied.ai_class == "ai"
        and copied.source_asset_id == _asset(catalog, root / "gen" / "matte.bin").id
    )


def test_a_copy_read_a_scan_before_its_ai_original_is_hashed_and_linked_then(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    settings = _settings(tmp_path, root)
    copy = _frame(root / "plates" / "early_copy.bin", 5, 3 * PARTIAL_BLOCK + 99)
    twin = _frame(root / "plates" / "twin.bin", 6, 3 * PARTIAL_BLOCK + 99)  # same size only
    _scan(settings, catalog)
    assert _asset(catalog, copy).content_hash is None  # no AI asset of its size yet
    original = root / "gen" / "render.bin"
    shutil.copy2(copy, original)  # the same bytes, AI by its path: recorded after its copy
    result = _scan(settings, catalog, 1)
    assert (result.counts.indexed, result.counts.copied, result.counts.unchanged) == (1, 1, 7)
    found, source = _asset(catalog, copy), _asset(catalog, original)
    assert found.content_hash == source.content_hash == hash_file(copy)
    assert found.source_asset_id == source.id
    assert (found.ai_class, found.generator, found.status) == ("ai", "Studio SD", "temporary")
    assert actions_of(catalog, copy) == ["indexed", "copied"]
    assert (copy.parent / "early_copy.bin.xmp").exists()  # tagged as AI
    other = _asset(catalog, twin)  # hashed (a possible copy), no copy
    assert other.content_hash == hash_file(twin) and other.ai_class == "none"
    assert other.source_asset_id is None
    _no_mismatch(catalog)
    # nothing left to do: the next scan finds everything unchanged
    again = _scan(settings, catalog, 2)
    assert (again.counts.copied, again.counts.modified, again.counts.unchanged) == (0, 0, 8)


def test_a_copy_read_a_batch_before_its_ai_original_is_linked_in_the_same_scan(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    # "a/" sorts before "gen/": the copy is read, and recorded in a batch of its own, first
    copy = root / "a" / "copy.bin"
    copy.parent.mkdir()
    shutil.copy2(root / "gen" / "matte.bin", copy)
    result = _scan(_settings(tmp_path, root, batch_size=1), catalog)
    assert result.counts.copied == 1
    found = _asset(catalog, copy)
    assert found.source_asset_id == _asset(catalog, root / "gen" / "matte.bin").id
    assert (found.ai_class, found.content_hash) == ("ai", hash_file(copy))
    _no_mismatch(catalog)


def test_a_file_of_the_same_size_with_other_bytes_is_no_copy(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    settings = _settings(tmp_path, root)
    _scan(settings, catalog)
    twin = _frame(root / "plates" / "twin.bin", 7, 3 * PARTIAL_BLOCK + 7)  # the matte's size
    result = _scan(settings, catalog, 1)
    assert (result.counts.copied, result.counts.indexed) == (0, 1)
    asset = _asset(catalog, twin)
    assert asset.content_hash == hash_file(twin) and asset.source_asset_id is None
    assert asset.ai_class == "none"


def test_a_plain_file_moved_is_followed_by_its_fingerprint_and_inode(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    settings = _settings(tmp_path, root)
    _scan(settings, catalog)
    old = root / "plates" / "frame_0002.dpx"
    before = _asset(catalog, old)
    (root / "editorial").mkdir()
    new = root / "editorial" / "frame_0002.dpx"
    os.rename(old, new)
    result = _scan(settings, catalog, 1)
    assert (result.counts.moved, result.counts.missing, result.counts.indexed) == (1, 0, 0)
    after = _asset(catalog, new)
    assert (after.id, after.uid, after.content_hash) == (before.id, before.uid, None)
    assert actions_of(catalog, new) == ["indexed", "moved"]
    _no_mismatch(catalog)


def test_a_plain_file_replaced_by_other_bytes_is_not_taken_for_a_move(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    settings = _settings(tmp_path, root)
    _scan(settings, catalog)
    old = root / "plates" / "frame_0001.dpx"
    data = bytearray(old.read_bytes())
    data[0] ^= 0xFF  # another first block, same size
    (root / "editorial").mkdir()
    new = root / "editorial" / "frame_0001.dpx"
    os.rename(old, new)
    with open(new, "r+b") as stream:  # same inode, new bytes: not the file that was recorded
        stream.write(bytes(data[:1]))
    os.utime(new, ns=(os.stat(new).st_atime_ns, _asset(catalog, old).mtime_ns))
    result = _scan(settings, catalog, 1)
    assert (result.counts.moved, result.counts.missing, result.counts.indexed) == (0, 1, 1)


def test_a_changed_plain_file_is_modified_by_its_fingerprint(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    settings = _settings(tmp_path, root)
    _scan(settings, catalog)
    frame = root / "plates" / "frame_0000.dpx"
    _frame(frame, 42)
    result = _scan(settings, catalog, 1)
    assert (result.counts.modified, result.counts.unchanged) == (1, 4)
    modified = [e for e in _events(catalog, frame) if e.action == "modified"]
    assert modified[0].after["content_hash"] is None
    assert modified[0].before["fingerprint"] != modified[0].after["fingerprint"]
    os.utime(frame)  # touched, same bytes: not modified
    assert _scan(settings, catalog, 2).counts.modified == 0


def _events(catalog: Catalog, path: Path) -> list:  # type: ignore[type-arg]
    asset = _asset(catalog, path)
    with catalog.read() as tx:
        return tx.events_of(asset.id or 0)


def test_a_plain_file_tagged_ai_gets_its_content_hash(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    settings = _settings(tmp_path, root)
    _scan(settings, catalog)
    frame = root / "plates" / "frame_0001.dpx"
    assert _asset(catalog, frame).content_hash is None
    (tagged,) = tag_files(settings, catalog, ACTOR, NOW, [str(frame)], ManualTag(tool="Runway"))
    assert tagged.content_hash == hash_file(frame)
    asset = _asset(catalog, frame)
    assert (asset.ai_class, asset.content_hash) == ("ai", hash_file(frame))
    assert (frame.parent / "frame_0001.dpx.xmp").is_file()  # its tag binds to that hash
    # a later scan reads it again as AI with the same hash: unchanged
    os.utime(frame)
    assert _scan(settings, catalog, 1).counts.modified == 0
    _no_mismatch(catalog)


def test_a_cleared_ai_file_whose_middle_changes_still_voids(
    tmp_path: Path, catalog: Catalog
) -> None:
    # AI by its path, cleared; bytes changed inside, size and both ends kept: its partial
    # fingerprint is the same, its content hash is not
    root = tmp_path / "show"
    matte = _frame(root / "gen" / "matte.bin", 3, 5 * PARTIAL_BLOCK)
    config = write_config(tmp_path, root, catalog)
    with config.open("a") as stream:
        stream.write('[[detect.path_rules]]\nglob = "**/gen/**"\ntool = "Studio SD"\n')
    assert run(config, "scan", str(root)).exit_code == 0
    cleared = run(config, "clear", str(matte), "--approval", "LEGAL-9")
    assert cleared.exit_code == 0, cleared.output
    copy = root / "delivery" / "matte.bin"
    copy.parent.mkdir()
    shutil.copy2(matte, copy)  # not AI by its path: recognised as a copy by its hash
    assert run(config, "scan", str(root)).exit_code == 0
    assert asset_at(catalog, copy).status == "cleared"
    before = asset_at(catalog, matte)
    with open(matte, "r+b") as stream:
        stream.seek(2 * PARTIAL_BLOCK)
        stream.write(b"retouched")
    assert run(config, "scan", str(root)).exit_code == 0
    after = asset_at(catalog, matte)
    assert after.fingerprint == before.fingerprint and after.content_hash == hash_file(matte)
    assert after.status == "temporary" and after.content_hash != before.content_hash
    with catalog.read() as tx:
        assert active_clearance(tx, after.id or 0) is None
        assert active_clearance(tx, asset_at(catalog, copy).id or 0) is not None
    assert "clearance-voided" in actions_of(catalog, matte)
    fixity = run(config, "fixity")
    assert fixity.exit_code == 0, fixity.output
    _no_mismatch(catalog)


def test_a_file_that_a_new_path_rule_makes_ai_is_hashed_then(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    frame = root / "plates" / "frame_0000.dpx"
    plain = Settings(state_dir=tmp_path / "state", roots=[RootSettings(path=root)])
    _scan(plain, catalog)
    assert _asset(catalog, frame).content_hash is None
    ruled = Settings(
        state_dir=tmp_path / "state",
        roots=[RootSettings(path=root)],
        detect=DetectSettings(path_rules=[PathRuleSettings(glob="**/plates/**", tool="Runway")]),
    )
    result = _scan(ruled, catalog, 1)  # other detection settings: every file read again
    assert result.counts.modified >= 3
    asset = _asset(catalog, frame)
    assert (asset.ai_class, asset.status) == ("ai", "temporary")
    assert asset.content_hash == hash_file(frame)
    _no_mismatch(catalog)


def test_a_long_ingest_hashes_a_copy_of_an_ai_asset_another_process_recorded_meanwhile(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    """The catalog's AI sizes are asked for each batch's files as it is written, not once
    for a while: a daemon's or a long scan's ingest links a copy of an AI file that another
    node recorded after the ingest began (and the probe's cost follows the batch, not the
    catalog's size)."""
    from provenance.files.reader import FileReader
    from provenance.files.readfile import read_options
    from provenance.ingest.ingest import Ingest
    from provenance.ingest.scan import ingest_context

    settings = _settings(tmp_path, root)
    frame = root / "plates" / "frame_0000.dpx"
    ingest = Ingest(ingest_context(settings, catalog, ACTOR, NOW))
    with FileReader(read_options(settings), workers=1) as reader:
        ingest.ingest(reader, [str(frame)], lambda _: str(root), count=1)
        # meanwhile another process records an AI file (AI by its path only)
        matte = root / "gen" / "matte.bin"
        _scan(settings, catalog)
        copy = root / "plates" / "matte_copy.bin"
        shutil.copy2(matte, copy)  # outside gen/: reads as plain; the size of an AI asset
        ingest.ingest(reader, [str(copy)], lambda _: str(root), count=1)
    original, copied = _asset(catalog, matte), _asset(catalog, copy)
    assert copied.content_hash == original.content_hash == hash_file(copy)
    assert copied.source_asset_id == original.id
    assert (copied.ai_class, copied.status) == ("ai", "temporary")
    _no_mismatch(catalog)
