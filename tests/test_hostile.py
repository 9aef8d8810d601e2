"""Hostile files never stop a scan or the daemon: each is read within its budget, the good
files beside it are recorded, and the bad one is named with its reason."""

from __future__ import annotations

import json
import logging
import os
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from provenance.catalog import Catalog
from provenance.cli import cli
from tests.hostile import HOSTILE
from tests.media import write_a1111_png, write_plain_png
from tests.processes import fork_readers
from tests.test_daemon import DaemonProcess, catalog_of, daemons, start_ready
from tests.test_daemon import config as daemon_config
from tests.watch.conftest import wait_for

__all__ = ["daemons"]

pytestmark = pytest.mark.timeout(120)

#: Budgets small enough that a test of a stuck reader ends in seconds.
BUDGETS = "read_seconds = 3.0\nread_memory_mb = 256\n"


def _config(tmp_path: Path, root: Path) -> Path:
    path = tmp_path / "provenance.toml"
    path.write_text(f'[[roots]]\npath = "{root}"\n[scan]\nworkers = 2\n{BUDGETS}')
    return path


def _scan(runner: CliRunner, tmp_path: Path, root: Path, *options: str) -> dict[str, Any]:
    started = time.monotonic()
    result = runner.invoke(
        cli, ["--config", str(_config(tmp_path, root)), "scan", "--json", *options, str(root)]
    )
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    summary["seconds"] = time.monotonic() - started
    return summary


def _recorded(tmp_path: Path) -> set[str]:
    catalog = catalog_of(tmp_path)
    try:
        with catalog.read() as tx:
            return {asset.path for asset in tx.list_assets()}
    finally:
        catalog.close()


def _good_files(root: Path) -> list[Path]:
    return [
        write_a1111_png(root / "good" / "castle.png"),
        write_plain_png(root / "good" / "plate.png"),
    ]


@pytest.fixture
def hostile_root(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    root = tmp_path / "production"
    made = {name: make(root / name) for name, make in HOSTILE.items()}
    return root, made


def test_a_scan_of_every_hostile_class_finishes_and_names_each_bad_file(
    tmp_path: Path,
    runner: CliRunner,
    hostile_root: tuple[Path, dict[str, Path]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    root, made = hostile_root
    good = _good_files(root)
    caplog.set_level(logging.WARNING, logger="provenance")
    summary = _scan(runner, tmp_path, root, "--deep")
    recorded = _recorded(tmp_path)
    assert {str(path) for path in good} <= recorded
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for name, path in made.items():
        if name in ("fifo-sidecar", "symlinked-sidecar"):
            # the image beside it is recorded, the sidecar named as refused
            assert str(path)[: -len(".xmp")] in recorded, name
            assert path.name in logged, name
            continue
        if name == "non-utf8-name":  # not recorded (a catalog holds text), but named
            assert any("bytes \\xff\\xfe.png" in p["path"] for p in summary["problems"])
            continue
        # recorded (hash and what could be read), or, on a machine too slow for the test's
        # small budget, skipped and named with the reason
        skipped = [p for p in summary["problems"] if p["path"] == str(path)]
        assert str(path) in recorded or "budget" in skipped[0]["reason"], name
    for name in ("many-compressed-chunks", "zlib-bomb", "huge-chunk-count", "pixel-bomb"):
        assert str(made[name]) in logged, name
    assert summary["seconds"] < 60


def _busy(*args: object, **kwargs: object) -> None:
    # a parser stuck in a C loop: holds the GIL, ignores Python signal handlers
    while True:
        pass


def _greedy(*args: object, **kwargs: object) -> None:
    # a parser that asks for 4 GB at once (asked, not touched: fails at once past the limit)
    bytearray(4 * 1024 * 1024 * 1024)


@pytest.mark.parametrize(
    ("detector", "reason"),
    [(_busy, "took longer than its"), (_greedy, "needs more than its memory budget")],
    ids=["time", "memory"],
)
def test_a_file_over_its_budget_is_skipped_with_the_reason_and_the_rest_recorded(
    tmp_path: Path,
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    detector: Any,
    reason: str,
) -> None:
    # The detectors the forked readers inherit misbehave on one file only: the scan's own
    # process holds no thread, so its readers are forked with this in place.
    from provenance.detect import detect_file
    from provenance.files import readfile

    root = tmp_path / "production"
    good = _good_files(root) + [write_plain_png(root / f"p{n}.png", color="red") for n in range(20)]
    stuck = write_plain_png(root / "stuck.png", color="green")

    def detect(path: str, data: Any, **options: Any) -> Any:
        if path == str(stuck):
            detector()
        return detect_file(path, data, **options)

    fork_readers(monkeypatch)
    monkeypatch.setattr(readfile, "_detect_file", detect)
    summary = _scan(runner, tmp_path, root)
    assert summary["skipped"] == 1
    (problem,) = summary["problems"]
    assert problem["path"] == str(stuck) and reason in problem["reason"]
    assert {str(path) for path in good} <= _recorded(tmp_path)
    assert summary["seconds"] < 30


def test_a_fifo_in_a_watched_root_and_hostile_files_leave_the_daemon_recording(
    tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    root = tmp_path / "production"
    root.mkdir()
    settings = daemon_config(tmp_path, root, watch="polling", extra=BUDGETS)
    daemon = start_ready(daemons, tmp_path, "--config", str(settings), "daemon")
    made = {name: make(root) for name, make in HOSTILE.items()}  # one folder: events only
    os.mkfifo(root / "stream.png")
    good = _good_files(root)
    hostile = {
        str(path)
        for name, path in made.items()
        if name not in ("fifo-sidecar", "symlinked-sidecar", "non-utf8-name")
    }

    def done() -> bool:
        # every good file recorded; every hostile one recorded, or named as skipped (on a
        # machine too slow for the test's small budget)
        recorded = _recorded(tmp_path)
        log = daemon.text()
        return {str(path) for path in good} <= recorded and all(
            path in recorded or f"skipped {path}: took longer" in log for path in hostile
        )

    try:
        wait_for(done, 60, "every file to be recorded or named")
    except AssertionError:
        raise AssertionError(f"{hostile - _recorded(tmp_path)}\n{daemon.text()}") from None
    later = write_plain_png(root / "later.png", color="red")
    wait_for(lambda: str(later) in _recorded(tmp_path), 30, "a file after them")
    assert daemon.process.poll() is None, daemon.text()


def test_nul_bytes_and_huge_values_reach_every_catalog_cleaned(
    tmp_path: Path, catalog: Catalog
) -> None:
    # a NUL in a prompt made PostgreSQL refuse every batch of the root, forever
    from tests.hostile import nul_prompt
    from tests.test_scan import run, settings_for

    root = tmp_path / "production"
    bad = nul_prompt(root)
    long = write_a1111_png(root / "long.png", parameters="x" * 200_000 + "\nSteps: 1, Seed: 2")
    good = _good_files(root)
    result = run(settings_for(tmp_path, root), catalog)
    assert result.counts.skipped == 0
    with catalog.read() as tx:
        recorded = {asset.path: asset for asset in tx.list_assets()}
    assert {str(path) for path in [bad, long, *good]} <= set(recorded)
    asset = recorded[str(bad)]
    assert asset.ai_class == "ai" and asset.prompt is not None
    assert "\x00" not in asset.prompt and "\ufffd" in asset.prompt
    assert recorded[str(long)].prompt is not None
    assert recorded[str(long)].prompt.endswith("[...cut]")


def test_a_row_the_catalog_refuses_costs_its_own_file_only(
    tmp_path: Path, catalog: Catalog
) -> None:
    # A daemon's event can name a file the walk would skip: a name that is not UTF-8 cannot
    # be stored as text. The batch is written in halves, down to that one file, skipped.
    from provenance.files.reader import FileReader, ReadOptions
    from provenance.ingest.ingest import Ingest
    from provenance.ingest.scan import ingest_context
    from tests.test_scan import ACTOR, NOW, settings_for

    root = tmp_path / "production"
    good = [write_plain_png(root / f"p{n}.png", color=(n, 0, 0)) for n in range(7)]  # type: ignore[arg-type]
    odd = root / os.fsdecode(b"bytes \xff.png")
    write_plain_png(odd)
    files = [str(path) for path in good[:3]] + [str(odd)] + [str(path) for path in good[3:]]
    ingest = Ingest(ingest_context(settings_for(tmp_path, root), catalog, ACTOR, NOW))
    with FileReader(ReadOptions(), workers=1) as reader:
        ingest.ingest(reader, files, lambda _: str(root), count=len(files))
    assert ingest.counts.skipped == 1
    (problem,) = ingest.counts.problems
    assert "not recorded: catalog refused a row" in problem["reason"]
    with catalog.read() as tx:
        assert {asset.path for asset in tx.list_assets()} == {str(path) for path in good}


def test_an_unreadable_mark_puts_the_file_before_a_person(
    tmp_path: Path, runner: CliRunner
) -> None:
    # a mark is there but cannot be read: not "not AI", but suspect. A C2PA manifest (a
    # caBX chunk) that does not parse; generation parameters in a zlib bomb
    from tests.fixtures_media import png_chunk, png_with_chunks

    root = tmp_path / "production"
    root.mkdir()
    broken = root / "signed.png"
    broken.write_bytes(png_with_chunks([png_chunk(b"caBX", b"\x00\x00\x00\x10jumbnot c2pa")]))
    bomb = zlib.compress(b"\x00" * (64 * 1024 * 1024), 9)
    parameters = png_chunk(b"zTXt", b"parameters\x00\x00" + bomb)
    (root / "bomb.png").write_bytes(png_with_chunks([parameters]))
    # a diffusion UI's parameters chunk, read, but JSON cut short
    junk = png_chunk(b"tEXt", b'parameters\x00{"prompt": "a red fox", "seed": ')
    (root / "cut.png").write_bytes(png_with_chunks([junk]))
    plain = write_plain_png(root / "plate.png")
    _scan(runner, tmp_path, root)
    listed = runner.invoke(cli, ["list", "--json"])
    records = {Path(r["path"]).name: r for r in json.loads(listed.stdout)}
    for name in ("signed.png", "bomb.png", "cut.png"):
        assert records[name]["ai_class"] == "suspect", name
        assert records[name]["status"] == "temporary", name
        assert not (root / f"{name}.xmp").exists()  # no AI claim written beside it
    assert records[plain.name]["ai_class"] == "none"
    uncleared = runner.invoke(cli, ["uncleared", "--files", "--json"])
    assert uncleared.exit_code == 0, uncleared.output
    names = sorted(Path(r["path"]).name for r in json.loads(uncleared.stdout))
    assert names == ["bomb.png", "cut.png", "signed.png"]
    # the report names each with why, with no tools registry configured
    config = str(_config(tmp_path, root))
    report = runner.invoke(cli, ["--config", config, "report", "--format", "json"])
    assert report.exit_code == 0, report.output
    (attention,) = [s for s in json.loads(report.stdout)["sections"] if s["key"] == "attention"]
    reasons = {
        Path(item["path"]).name: item["reason"]
        for group in attention["groups"]
        for item in group["items"]
    }
    assert attention["total"] == 3 and sorted(reasons) == ["bomb.png", "cut.png", "signed.png"]
    assert all(reason.startswith("mark unreadable: ") for reason in reasons.values()), reasons
    assert "inflates to more than" in reasons["bomb.png"]
    assert "unreadable JSON" in reasons["cut.png"]
    assert "C2PA" in reasons["signed.png"]
