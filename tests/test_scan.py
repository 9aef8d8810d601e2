"""Scanning real folders: new, unchanged, modified, moved, copied, missing, offline, hostile."""

from __future__ import annotations

import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from provenance.audit import Actor
from provenance.catalog import Catalog
from provenance.config import RootSettings, Settings
from provenance.files import walk as walk_module
from provenance.files.walk import EntrySpill
from provenance.ingest import scan as scan_module
from provenance.ingest.scan import scan
from tests.media import write_a1111_png, write_plain_jpeg, write_plain_png
from tests.processes import fork_readers

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACTOR = Actor("tester", "host1")


def run(settings: Settings, catalog: Catalog, now: datetime = NOW, **options: object):  # type: ignore[no-untyped-def]
    return scan(settings, catalog, ACTOR, now, **options)  # type: ignore[arg-type]


def settings_for(tmp_path: Path, root: Path, **root_options: object) -> Settings:
    return Settings(state_dir=tmp_path / "state", roots=[RootSettings(path=root, **root_options)])  # type: ignore[arg-type]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "production"
    write_a1111_png(folder / "concepts" / "castle.png")
    write_plain_png(folder / "plates" / "plate.png")
    write_plain_jpeg(folder / "plates" / "still.jpg")
    (folder / "plates" / "render.exr.part").write_bytes(b"half written")
    (folder / ".DS_Store").write_bytes(b"litter")
    return folder


def test_scan_catalogs_files_and_finds_the_ai_one(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    result = run(settings_for(tmp_path, root), catalog)
    assert (result.counts.indexed, result.counts.ai, result.counts.skipped) == (3, 1, 0)
    with catalog.read() as tx:
        castle = tx.asset_by_path(str(root / "concepts" / "castle.png"))
        plate = tx.asset_by_path(str(root / "plates" / "plate.png"))
        assert tx.asset_by_path(str(root / "plates" / "render.exr.part")) is None
    assert castle is not None and plate is not None
    assert (castle.ai_class, castle.status, castle.family) == ("ai", "temporary", "a1111")
    assert castle.content_hash is not None and castle.content_hash.startswith("blake3:")
    assert (plate.ai_class, plate.status) == ("none", "not-ai")


def test_scan_writes_a_sidecar_for_ai_assets_only(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    run(settings_for(tmp_path, root), catalog)
    assert (root / "concepts" / "castle.png.xmp").is_file()
    assert not (root / "plates" / "plate.png.xmp").exists()


def test_rescan_of_unchanged_tree_reads_nothing(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    settings = settings_for(tmp_path, root)
    run(settings, catalog)
    again = run(settings, catalog, NOW + timedelta(hours=1))
    assert (again.counts.indexed, again.counts.modified, again.counts.unchanged) == (0, 0, 3)


def test_modified_file_is_rehashed_with_an_event(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    settings = settings_for(tmp_path, root)
    run(settings, catalog)
    plate = root / "plates" / "plate.png"
    write_a1111_png(plate, color="black")
    result = run(settings, catalog, NOW + timedelta(hours=1))
    assert result.counts.modified == 1
    with catalog.read() as tx:
        asset = tx.asset_by_path(str(plate))
        assert asset is not None and asset.id is not None
        actions = [e.action for e in tx.events_of(asset.id)]
    assert (asset.ai_class, asset.status) == ("ai", "temporary")
    assert actions == ["indexed", "modified"]


def test_moved_file_keeps_its_record(tmp_path: Path, root: Path, catalog: Catalog) -> None:
    settings = settings_for(tmp_path, root)
    run(settings, catalog)
    with catalog.read() as tx:
        before = tx.asset_by_path(str(root / "concepts" / "castle.png"))
    (root / "approved").mkdir()
    os.rename(root / "concepts" / "castle.png", root / "approved" / "castle_v2.png")
    result = run(settings, catalog, NOW + timedelta(hours=1))
    assert (result.counts.moved, result.counts.missing, result.counts.indexed) == (1, 0, 0)
    with catalog.read() as tx:
        after = tx.asset_by_path(str(root / "approved" / "castle_v2.png"))
    assert before is not None and after is not None
    assert (after.uid, after.first_seen) == (before.uid, before.first_seen)


def test_a_big_root_is_merged_with_the_catalog_a_page_at_a_time(
    tmp_path: Path, root: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # neither the walk nor the catalog's files are held in memory (pages of 2, blocks of 2
    # here): moves, deletions, changes and new files are still each seen once
    monkeypatch.setattr(scan_module, "KNOWN_PAGE", 2)
    monkeypatch.setattr(EntrySpill, "BLOCK", 2)
    for n in range(8):
        write_plain_png(root / "plates" / f"p{n}.png", color=f"#0000{n:02x}")
    settings = settings_for(tmp_path, root)
    assert run(settings, catalog).counts.indexed == 11
    os.rename(root / "plates" / "p6.png", root / "plates" / "a_moved.png")  # sorts earlier
    (root / "plates" / "p2.png").unlink()
    write_plain_png(root / "plates" / "p4.png", color="#ffffff")
    write_plain_png(root / "plates" / "p9.png", color="#eeeeee")
    result = run(settings, catalog, NOW + timedelta(hours=1))
    counts = result.counts
    assert (counts.moved, counts.missing, counts.modified, counts.indexed) == (1, 1, 1, 1)
    assert (counts.unchanged, result.roots[0].files) == (8, 11)


def test_a_scan_says_how_far_each_walk_has_come(
    tmp_path: Path, root: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(walk_module, "WALK_REPORT_EVERY", 2)
    heard: list[tuple[str, int]] = []
    totals: list[int] = []
    run(
        settings_for(tmp_path, root),
        catalog,
        on_walk=lambda folder, n: heard.append((folder, n)),
        on_total=totals.append,
    )
    assert (heard, totals) == ([(str(root), 2)], [3])


def test_copy_of_an_ai_asset_is_ai_and_linked(tmp_path: Path, root: Path, catalog: Catalog) -> None:
    settings = settings_for(tmp_path, root)
    run(settings, catalog)
    shutil.copy(root / "concepts" / "castle.png", root / "plates" / "castle_copy.png")
    result = run(settings, catalog, NOW + timedelta(hours=1))
    assert result.counts.copied == 1
    with catalog.read() as tx:
        original = tx.asset_by_path(str(root / "concepts" / "castle.png"))
        copy = tx.asset_by_path(str(root / "plates" / "castle_copy.png"))
    assert original is not None and copy is not None
    assert copy.source_asset_id == original.id
    assert copy.ai_class == "ai" and copy.uid != original.uid


def test_deleted_file_is_marked_missing_not_forgotten(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    settings = settings_for(tmp_path, root)
    run(settings, catalog)
    (root / "plates" / "still.jpg").unlink()
    result = run(settings, catalog, NOW + timedelta(hours=1))
    assert result.counts.missing == 1
    with catalog.read() as tx:
        asset = tx.asset_by_path(str(root / "plates" / "still.jpg"))
    assert asset is not None and not asset.present


def test_offline_root_marks_nothing_missing(tmp_path: Path, root: Path, catalog: Catalog) -> None:
    (root / ".mounted").write_text("")
    settings = settings_for(tmp_path, root, marker=".mounted")
    run(settings, catalog)
    (root / ".mounted").unlink()
    result = run(settings, catalog, NOW + timedelta(hours=1))
    assert result.roots[0].online is False
    assert result.counts.missing == 0


def test_unmounted_root_that_looks_empty_marks_nothing_missing(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    settings = settings_for(tmp_path, root)
    run(settings, catalog)
    shutil.rmtree(root)
    root.mkdir()  # an empty mount point
    result = run(settings, catalog, NOW + timedelta(hours=1))
    assert result.counts.missing == 0
    assert result.roots[0].online is False


def test_rebuild_restores_a_lost_catalog_from_sidecars(tmp_path: Path, root: Path) -> None:
    settings = settings_for(tmp_path, root)
    first = Catalog.open(f"sqlite:///{tmp_path / 'one.sqlite'}")
    run(settings, first)
    with first.read() as tx:
        original = tx.asset_by_path(str(root / "concepts" / "castle.png"))
    first.close()
    second = Catalog.open(f"sqlite:///{tmp_path / 'two.sqlite'}")
    result = run(settings, second, NOW + timedelta(days=3), rebuild=True)
    with second.read() as tx:
        rebuilt = tx.asset_by_path(str(root / "concepts" / "castle.png"))
        assert rebuilt is not None and rebuilt.id is not None
        actions = [e.action for e in tx.events_of(rebuilt.id)]
    second.close()
    assert result.counts.ai == 1
    assert original is not None
    assert (rebuilt.uid, rebuilt.first_seen, rebuilt.status) == (
        original.uid,
        original.first_seen,
        original.status,
    )
    assert actions == ["rebuilt"]


def test_rebuild_gives_a_tags_asset_id_to_one_file_only(tmp_path: Path, root: Path) -> None:
    # an edited copy made with its sidecar: both tags name the same asset; the rebuilt
    # catalog gives that id to one of them and a new one to the other
    settings = settings_for(tmp_path, root)
    first = Catalog.open(f"sqlite:///{tmp_path / 'one.sqlite'}")
    run(settings, first)
    first.close()
    castle = root / "concepts" / "castle.png"
    edit = write_a1111_png(root / "concepts" / "castle_v2.png", color="blue")
    shutil.copyfile(castle.with_name("castle.png.xmp"), edit.with_name("castle_v2.png.xmp"))
    second = Catalog.open(f"sqlite:///{tmp_path / 'two.sqlite'}")
    result = run(settings, second, NOW + timedelta(days=3), rebuild=True)
    with second.read() as tx:
        uids = {tx.asset_by_path(str(p)).uid for p in (castle, edit)}  # type: ignore[union-attr]
    second.close()
    assert (result.counts.ai, result.counts.skipped, len(uids)) == (2, 0, 2)


def test_dry_run_writes_nothing(tmp_path: Path, root: Path, catalog: Catalog) -> None:
    result = run(settings_for(tmp_path, root), catalog, dry_run=True)
    assert result.counts.ai == 1
    with catalog.read() as tx:
        assert list(tx.list_assets()) == []
    assert not (root / "concepts" / "castle.png.xmp").exists()


@pytest.mark.timeout(30)
def test_hostile_and_odd_files_are_skipped_and_the_scan_finishes(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    hostile = root / "hostile"
    hostile.mkdir()
    png = (root / "concepts" / "castle.png").read_bytes()
    (hostile / "truncated.png").write_bytes(png[: len(png) // 2])
    (hostile / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe1\x00\x10Exif")
    (hostile / "empty.png").write_bytes(b"")
    locked = hostile / "locked"
    locked.mkdir()
    write_plain_png(locked / "inside.png")
    os.symlink(hostile, hostile / "loop")
    os.symlink("/", hostile / "outside")
    bad_name = os.fsencode(str(hostile)) + b"/bad-\xff-name.png"
    with open(bad_name, "wb") as stream:
        stream.write(png)
    locked.chmod(0)
    try:
        result = run(settings_for(tmp_path, root), catalog)
    finally:
        locked.chmod(0o755)
    reasons = {Path(p["path"]).name: p["reason"] for p in result.counts.problems}
    assert "valid UTF-8" in next(r for n, r in reasons.items() if n.startswith("bad-"))
    assert "loop" in reasons["loop"]
    if os.geteuid() != 0:  # root reads any folder
        assert "cannot list folder" in reasons["locked"]
    assert result.counts.ai >= 1
    with catalog.read() as tx:
        paths = {a.path for a in tx.list_assets()}
    assert str(hostile / "truncated.png") in paths  # recorded, with whatever was readable
    assert not any("/outside" in p for p in paths)


def test_folder_that_cannot_be_listed_is_skipped_with_its_reason(
    tmp_path: Path, root: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root reads any folder, so the permission error is made where we do not own the code.
    locked = root / "locked"
    write_plain_png(locked / "inside.png")
    real_scandir = os.scandir

    def scandir(path: str):  # type: ignore[no-untyped-def]
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = run(settings_for(tmp_path, root), catalog)
    assert {"path": str(locked), "reason": "cannot list folder: Permission denied"} in (
        result.counts.problems
    )
    assert result.counts.indexed == 3


def test_scan_of_the_real_corpus_matches_its_manifest(tmp_path: Path, corpus: Path) -> None:
    import csv

    manifest = list(csv.DictReader((corpus / "MANIFEST.tsv").open(), delimiter="\t"))
    settings = Settings(
        state_dir=tmp_path / "state",
        roots=[RootSettings(path=corpus)],
        tagging={"sidecar": False},  # never write into the shared corpus
    )
    catalog = Catalog.open(f"sqlite:///{tmp_path / 'corpus.sqlite'}")
    result = run(settings, catalog)
    with catalog.read() as tx:
        found = {Path(a.path).name: a.ai_class for a in tx.list_assets()}
    catalog.close()
    expected = {
        row["file"]: {"yes": "ai", "partial": "partial", "no": "none"}[row["expected_ai"]]
        for row in manifest
        if not row["file"].endswith(".xmp")  # sidecars are read beside files, not as assets
    }
    known_misses = {"edge_ai_stripped.jpg", "sd_a1111_stealth_alpha.png"}  # no metadata mark
    wrong = {
        name: (found.get(name), want)
        for name, want in expected.items()
        if name not in known_misses and found.get(name) != want
    }
    assert not wrong
    assert result.counts.skipped == 0


def test_deep_scan_finds_data_hidden_in_the_alpha_channel(tmp_path: Path, corpus: Path) -> None:
    folder = tmp_path / "stealth"
    folder.mkdir()
    shutil.copy(corpus / "sd_a1111_stealth_alpha.png", folder / "frame.png")  # a copy in tmp_path
    settings = settings_for(tmp_path, folder)
    catalog = Catalog.open(f"sqlite:///{tmp_path / 'deep.sqlite'}")
    run(settings, catalog)
    with catalog.read() as tx:
        shallow = tx.asset_by_path(str(folder / "frame.png"))
    run(settings, catalog, NOW + timedelta(hours=1), deep=True, rebuild=True)
    with catalog.read() as tx:
        deep = tx.asset_by_path(str(folder / "frame.png"))
    catalog.close()
    assert shallow is not None and shallow.ai_class == "none"
    assert deep is not None and (deep.ai_class, deep.family) == ("ai", "a1111")


def _set_status(catalog: Catalog, path: Path, status: str) -> None:
    with catalog.write() as tx:
        asset = tx.asset_by_path(str(path))
        assert asset is not None
        asset.status, asset.present = status, False


def test_new_file_at_a_purged_assets_path_is_a_new_asset(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    settings = settings_for(tmp_path, root)
    run(settings, catalog)
    castle = root / "concepts" / "castle.png"
    content = castle.read_bytes()
    _set_status(catalog, castle, "purged")
    castle.write_bytes(content)  # the same bytes come back at the same path
    result = run(settings, catalog, NOW + timedelta(hours=1))
    with catalog.read() as tx:
        fresh = tx.asset_by_path(str(castle))
        retired = [a for a in tx.list_assets() if a.status == "purged"]
    assert result.counts.indexed == 1 and result.counts.moved == 0
    assert fresh is not None and fresh.status == "temporary"
    assert len(retired) == 1 and retired[0].uid != fresh.uid
    assert retired[0].path.startswith(f"{castle} (purged")


def test_new_file_where_a_quarantined_asset_was_waits(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    settings = settings_for(tmp_path, root)
    run(settings, catalog)
    castle = root / "concepts" / "castle.png"
    _set_status(catalog, castle, "quarantined")
    write_a1111_png(castle, color="white")
    result = run(settings, catalog, NOW + timedelta(hours=1))
    assert result.counts.skipped == 1
    assert "quarantined asset" in result.counts.problems[0]["reason"]
    with catalog.read() as tx:
        kept = tx.asset_by_path(str(castle))
    assert kept is not None and kept.status == "quarantined"


def test_same_content_as_a_quarantined_asset_elsewhere_is_not_a_move(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    settings = settings_for(tmp_path, root)
    run(settings, catalog)
    castle = root / "concepts" / "castle.png"
    _set_status(catalog, castle, "quarantined")
    shutil.copy(castle, root / "plates" / "again.png")
    castle.unlink()
    result = run(settings, catalog, NOW + timedelta(hours=1))
    assert (result.counts.moved, result.counts.indexed) == (0, 1)


@pytest.mark.parametrize("name", ["plate.png.xmp", "plate.xmp"])
def test_a_sidecar_beside_a_file_is_read_by_the_scan(
    tmp_path: Path, catalog: Catalog, name: str
) -> None:
    # the walk tells the readers which files have a sidecar; both names must count
    from tests.fixtures_media import IPTC_DST, xmp_packet

    folder = tmp_path / "production"
    write_plain_png(folder / "plate.png")
    write_plain_png(folder / "other.png", color="white")
    (folder / name).write_text(xmp_packet(digital_source_type=IPTC_DST + "trainedAlgorithmicMedia"))
    run(settings_for(tmp_path, folder), catalog)
    with catalog.read() as tx:
        plate = tx.asset_by_path(str(folder / "plate.png"))
        other = tx.asset_by_path(str(folder / "other.png"))
        assert plate is not None and plate.id is not None and other is not None
        kinds = {s.kind for s in tx.signals_of(plate.id)}
    assert (plate.ai_class, other.ai_class) == ("ai", "none")
    assert "sidecar" in kinds


def test_files_that_are_not_ai_share_one_indexed_event(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    from provenance.audit import rows_digest, verify_chain

    run(settings_for(tmp_path, root), catalog)
    with catalog.read() as tx:
        castle = tx.asset_by_path(str(root / "concepts" / "castle.png"))
        plain = [tx.asset_by_path(str(root / "plates" / n)) for n in ("plate.png", "still.jpg")]
        assert castle is not None and castle.id is not None
        own = tx.events_of(castle.id)
        histories = [tx.events_of(a.id) for a in plain if a is not None and a.id is not None]
        chain = [e.model_dump() for e in tx.all_events()]
    # the AI asset has its own event; the two plain files one between them
    assert [(e.action, e.asset_id) for e in own] == [("indexed", castle.id)]
    assert len(histories) == 2 and histories[0] == histories[1]
    (shared,) = histories[0]
    assert (shared.action, shared.asset_id, shared.path) == ("indexed", None, str(root / "plates"))
    assert shared.after["count"] == 2 and shared.after["ai_class"] == "none"
    rows = sorted((a.id, a.uid, a.path, a.content_hash) for a in plain if a is not None)
    assert shared.after["digest"] == rows_digest(rows)
    assert len(chain) == 2 and verify_chain(chain) is None


def _detect_after_gate(path: str, data: Any, **options: Any) -> Any:
    """Detect as the readers do, once the gate file of a ``stream`` file exists."""
    from provenance.detect import detect_file

    if Path(path).name.startswith("stream"):
        while not Path(f"{path}.go").exists():
            time.sleep(0.01)
    return detect_file(path, data, **options)


def _recorded_as_taken(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch, pngs: int, fifos: int
) -> list[int]:
    """Ingest ``pngs`` PNGs then ``fifos`` slow PNGs (8 files, one per chunk, 2 workers)
    in batches of 4, TAIL_BATCH 2, and return how many assets the catalog held as the
    ingest took each result.

    A worker reads a slow file only once its gate file exists. Each gate is made 0.1 s
    after the ingest took the file before it, so its result is never in when the ingest
    looks for it. With no slow file, every read is done before the ingest takes the first
    result.
    """
    import threading
    import time

    from sqlalchemy import text

    from provenance.files import readfile
    from provenance.files.reader import FileReader, ReadOptions
    from provenance.ingest import ingest as ingest_module
    from provenance.ingest.ingest import Ingest
    from provenance.ingest.scan import ingest_context
    from tests.watch.conftest import wait_for

    folder = tmp_path / "plates"
    paths = [write_plain_png(folder / f"p{n}.png", color=f"#0000{n:02x}") for n in range(pngs)]
    streams = [write_plain_png(folder / f"stream{n}.png") for n in range(fifos)]
    fork_readers(monkeypatch)
    monkeypatch.setattr(readfile, "_detect_file", _detect_after_gate)  # the forked readers'
    taken: list[int] = []
    recorded: list[int] = []

    def progress(_: int) -> None:
        with catalog.read() as tx:
            recorded.append(len(tx.session.execute(text("SELECT id FROM assets")).all()))
        taken.append(1)

    def feed() -> None:
        for n, stream in enumerate(streams):
            wait_for(lambda n=n: len(taken) >= pngs + n, 10, "the file before it to be taken")
            time.sleep(0.1)
            Path(f"{stream}.go").touch()

    settings = settings_for(tmp_path, tmp_path).model_copy(
        update={"scan": Settings().scan.model_copy(update={"batch_size": 4})}
    )
    ingest = Ingest(ingest_context(settings, catalog, ACTOR, NOW))
    files = [str(path) for path in paths + streams]
    monkeypatch.setattr(ingest_module, "TAIL_BATCH", 2)
    with FileReader(ReadOptions(), workers=2) as reader:
        reader.warm_up()  # forked before the feeding thread starts
        results = reader.read_many(files)
        if streams:
            threading.Thread(target=feed, daemon=True).start()
        else:
            window = results._window  # type: ignore[attr-defined]
            wait_for(lambda: all(future.done() for _, future in window), 10, "the reads")
        ingest.ingest(
            reader,
            files,
            lambda _: str(tmp_path),
            count=len(files),
            progress=progress,
            results=results,
        )
    assert ingest.counts.indexed == len(files)
    return recorded


def test_the_last_files_are_recorded_early_while_the_next_is_still_being_read(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # among the last batch_size files, a batch of TAIL_BATCH is recorded when the next
    # result is not in yet: while the workers read it. 4 files (a full batch), then 2 and 2
    assert _recorded_as_taken(tmp_path, catalog, monkeypatch, 2, 6) == [0, 0, 0, 0, 4, 4, 6, 6]


def test_the_last_files_go_in_full_batches_when_they_are_read_already(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the writer is behind the readers: smaller batches would cost more and end no sooner
    assert _recorded_as_taken(tmp_path, catalog, monkeypatch, 8, 0) == [0, 0, 0, 0, 4, 4, 4, 4]


def test_tags_a_dead_worker_did_not_write_are_written_by_the_scan(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    # the worker that was to write a batch's sidecars died: the scan writes them itself
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from provenance.ingest.ingest import Ingest
    from provenance.ingest.scan import ingest_context
    from provenance.ingest.tags import sidecar_jobs
    from provenance.tagging.follow import Outcome

    settings = settings_for(tmp_path, root)
    run(settings, catalog)
    castle = root / "concepts" / "castle.png"
    (root / "concepts" / "castle.png.xmp").unlink()
    with catalog.read() as tx:
        asset = tx.asset_by_path(str(castle))
    assert asset is not None
    _, jobs = sidecar_jobs([asset], catalog)
    died: Future[tuple[int, dict[str, Outcome]]] = Future()
    died.set_exception(BrokenProcessPool("a worker died"))
    ingest = Ingest(ingest_context(settings, catalog, ACTOR, NOW))
    ingest._tagging.append(([], jobs, died))
    ingest._count_tags()
    assert ingest.counts.tagged == 1
    assert (root / "concepts" / "castle.png.xmp").is_file()


def test_a_rescan_puts_back_the_missing_tag_of_an_unchanged_ai_asset(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    # deleted by hand, or never written (a scan stopped before its workers wrote it)
    settings = settings_for(tmp_path, root)
    run(settings, catalog)
    sidecar = root / "concepts" / "castle.png.xmp"
    original = sidecar.read_bytes()
    sidecar.unlink()
    dry = run(settings, catalog, dry_run=True)
    assert dry.counts.tagged == 0 and not sidecar.exists()
    again = run(settings, catalog)
    assert (again.counts.unchanged, again.counts.indexed, again.counts.tagged) == (3, 0, 1)
    assert sidecar.read_bytes() == original
    assert not (root / "plates" / "plate.png.xmp").exists()  # not AI: no tag
    assert run(settings, catalog).counts.tagged == 0  # present: left alone
    sidecar.write_bytes(b"")  # a new sidecar after a power cut (written without fsync)
    assert run(settings, catalog).counts.tagged == 1
    assert sidecar.read_bytes() == original
