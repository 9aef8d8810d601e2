"""A scan's head start: a root the catalog does not know is read while the catalog loads."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from click.testing import CliRunner

from provenance.audit import Actor
from provenance.catalog import Catalog, utcnow
from provenance.catalog.ids import AssetIds
from provenance.cli import cli
from provenance.config import RootSettings, Settings
from provenance.files.reader import FileFacts, FileReader, ReadOptions
from provenance.files.walk import EntrySpill
from provenance.ingest.prefetch import catalog_knows_root, prefetch
from provenance.ingest.scan import scan
from tests.media import write_a1111_png, write_plain_png

ACTOR = Actor("tester", "host1")


def _root(folder: Path, plain: int = 20) -> Path:
    write_a1111_png(folder / "concepts" / "castle.png")
    for n in range(plain):
        write_plain_png(folder / "plates" / f"plate_{n:02}.png", color=f"#00{n:02x}00")
    return folder


def _settings(tmp_path: Path, root: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", roots=[RootSettings(path=root)])


def test_catalog_knows_root_asks_sqlite_and_says_none_when_unsure(tmp_path: Path) -> None:
    root = _root(tmp_path / "production")
    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    assert catalog_knows_root(url, str(root)) is False  # no catalog yet
    catalog = Catalog.open(url)
    try:
        assert catalog_knows_root(url, str(root)) is False  # a catalog, nothing there
        scan(_settings(tmp_path, root), catalog, ACTOR, utcnow())
        assert catalog_knows_root(url, str(root)) is True
        assert catalog_knows_root(url, str(tmp_path / "elsewhere")) is False
    finally:
        catalog.close()
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    assert catalog_knows_root(f"sqlite:///{garbage}", str(root)) is None
    assert catalog_knows_root("postgresql+psycopg://db/provenance", str(root)) is None
    assert catalog_knows_root("sqlite://", str(root)) is None


def test_start_returns_every_result_in_order(tmp_path: Path) -> None:
    root = _root(tmp_path / "production", plain=40)
    paths = sorted(str(p) for p in root.rglob("*.png"))
    with FileReader(ReadOptions(), workers=2) as reader:
        started = [r.path for r in reader.start(paths, ahead=2)]  # type: ignore[arg-type]
        asked = [r.path for r in reader.read_many(paths)]
    assert started == asked == paths


def test_head_start_only_for_a_root_the_catalog_does_not_know(tmp_path: Path) -> None:
    root = _root(tmp_path / "production")
    settings = _settings(tmp_path, root)
    with FileReader(ReadOptions(), workers=2) as reader:
        head = prefetch(settings, reader)
        assert head is not None and head.root == str(root)
        assert len(head.entries) == 21
        facts = list(head.results)
        assert all(isinstance(f, FileFacts) for f in facts)
        catalog = Catalog.open(settings.catalog_url)
        try:
            scan(settings, catalog, ACTOR, utcnow())
        finally:
            catalog.close()
        assert prefetch(settings, reader) is None  # known now: a re-scan reads only changes
        rebuilding = prefetch(settings, reader, rebuild=True)
        assert rebuilding is not None  # a rebuild reads every file anyway
        list(rebuilding.results)
        offline = Settings(
            state_dir=tmp_path / "state",
            roots=[RootSettings(path=tmp_path / "unmounted", marker=".mounted")],
        )
        assert prefetch(offline, reader) is None


def test_files_recorded_meanwhile_are_not_recorded_twice(tmp_path: Path) -> None:
    # the head start was decided, then another scan recorded the root before this one
    # opened the catalog: this scan takes only what is new to it
    root = _root(tmp_path / "production")
    settings = _settings(tmp_path, root)
    with FileReader(ReadOptions(), workers=2) as reader:
        head = prefetch(settings, reader)
        assert head is not None
        catalog = Catalog.open(settings.catalog_url)
        try:
            first = scan(settings, catalog, ACTOR, utcnow())
            write_plain_png(root / "plates" / "late.png", color="#123456")
            head.entries = EntrySpill(_walk(root))  # the walk, now with late.png
            head.results = reader.start(head.entries)
            second = scan(settings, catalog, ACTOR, utcnow(), reader=reader, prefetched=head)
            with catalog.read() as tx:
                count = len(list(tx.known_files_in_order(str(root))))
        finally:
            catalog.close()
    assert first.counts.indexed == 21
    assert (second.counts.indexed, second.counts.unchanged, second.counts.modified) == (1, 21, 0)
    assert count == 22


def test_a_rebuild_with_a_head_start_still_sees_moves_and_deletions(tmp_path: Path) -> None:
    # a rebuild reads a root the catalog knows: what the catalog has there is merged with the
    # head start's walk before any result is recorded
    root = _root(tmp_path / "production")
    settings = _settings(tmp_path, root)
    catalog = Catalog.open(settings.catalog_url)
    try:
        scan(settings, catalog, ACTOR, utcnow())
        (root / "plates" / "plate_15.png").rename(root / "plates" / "a_plate.png")  # sorts first
        (root / "plates" / "plate_03.png").unlink()
        with FileReader(ReadOptions(), workers=2) as reader:
            head = prefetch(settings, reader, rebuild=True)
            assert head is not None
            again = scan(
                settings, catalog, ACTOR, utcnow(), rebuild=True, reader=reader, prefetched=head
            )
    finally:
        catalog.close()
    counts = again.counts
    assert (counts.moved, counts.missing, counts.indexed, counts.skipped) == (1, 1, 0, 0)


def _walk(root: Path):  # type: ignore[no-untyped-def]
    from provenance.files.walk import walk_files

    return walk_files(root)


def test_cli_scan_with_a_head_start_matches_one_without(tmp_path: Path) -> None:
    root = _root(tmp_path / "production")
    (root / "plates" / "render.exr.part").write_bytes(b"half written")
    runner = CliRunner()
    first = runner.invoke(cli, ["scan", "--json", str(root)])
    assert first.exit_code == 0, first.output
    again = runner.invoke(cli, ["scan", "--json", str(root)])
    assert again.exit_code == 0, again.output
    assert '"indexed": 21' in first.output and '"ai": 1' in first.output
    assert '"unchanged": 21' in again.output and '"indexed": 0' in again.output
    listed = runner.invoke(cli, ["list", "--ai", "--json"])
    assert "castle.png" in listed.output


def test_new_asset_ids_are_time_ordered_version_7_uuids() -> None:
    uids = AssetIds()
    before = time.time_ns() // 1_000_000
    drawn = [uids() for _ in range(3000)]
    after = time.time_ns() // 1_000_000
    assert len(set(drawn)) == len(drawn)
    for text in drawn:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, text)
        assert before <= parsed.int >> 80 <= after  # the millisecond it was drawn in
    stamps = [uuid.UUID(text).int >> 80 for text in drawn]
    assert stamps == sorted(stamps)


def test_the_walk_goes_to_the_workers_as_it_is_found(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # the reader takes the first files before the walk is over; finish() walks the rest for
    # the scan, and the reader then gets those back from the kept walk, each once, in order
    from provenance.files.walk import FileEntry
    from provenance.ingest.prefetch import _Walked

    monkeypatch.setattr(EntrySpill, "BLOCK", 4)  # the kept walk goes to its temporary file
    found: list[str] = []

    def walk():  # type: ignore[no-untyped-def]
        for n in range(23):
            found.append(f"/r/{n:02}.png")
            yield FileEntry(f"/r/{n:02}.png", 1, 1, n, 1)

    walked = _Walked(walk())
    reading = iter(walked)
    first = [next(reading).path for _ in range(6)]
    assert first == found  # only as far as the reader has asked
    walked.finish()
    assert len(walked.entries) == 23
    rest = [entry.path for entry in reading]
    assert first + rest == [f"/r/{n:02}.png" for n in range(23)]
    assert [entry.path for entry in walked.entries] == first + rest
    walked.entries.close()


def test_a_scan_of_a_new_root_reads_before_it_loads_the_catalog(tmp_path: Path) -> None:
    # the readers are forked (and the first chunks sent) before SQLAlchemy and the catalog's
    # models load: seen from the command itself, run as a user runs it, with a config file
    # or without one
    root = _root(tmp_path / "production")
    probe = (
        "import os, sys\n"
        "seen = []\n"
        "loaded = lambda: 'provenance.catalog.models' in sys.modules\n"
        "os.register_at_fork(before=lambda: seen.append(loaded()))\n"
        "from provenance.cli import main\n"
        "try:\n"
        "    main(['scan', sys.argv[1]])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('loaded at first fork:', seen[0])\n"
    )
    env = {**os.environ, "PROVENANCE_STATE_DIR": str(tmp_path / "state")}
    env.pop("PROVENANCE_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", probe, str(root)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "21 new" in done.stdout and "loaded at first fork: False" in done.stdout
    config = tmp_path / "provenance.toml"
    config.write_text('[scan]\nignore = ["*.part"]\n')
    env["PROVENANCE_CONFIG"] = str(config)
    env["PROVENANCE_STATE_DIR"] = str(tmp_path / "state2")
    done = subprocess.run(
        [sys.executable, "-c", probe, str(root)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "21 new" in done.stdout and "loaded at first fork: False" in done.stdout
    # a root the catalog knows: no head start, the catalog loads first (and then its one
    # changed file is read)
    write_plain_png(root / "plates" / "plate_00.png", color="#ff0000")
    done = subprocess.run(
        [sys.executable, "-c", probe, str(root)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "1 modified" in done.stdout and "loaded at first fork: True" in done.stdout
