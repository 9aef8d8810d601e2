"""metrics.prom: the daemon's Prometheus metrics as a node-exporter textfile."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from provenance.config import RootSettings
from provenance.daemon.metrics import NotifyCounts, RootMetrics, Snapshot, write_metrics
from tests.media import write_a1111_png, write_plain_png
from tests.watch.conftest import Running, wait_for


def _samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(path.read_text())
        for sample in family.samples
    }


def test_write_metrics_writes_every_number(tmp_path: Path) -> None:
    snapshot = Snapshot(
        at=1_800_000_000.0,
        started_at=1_799_999_000.0,
        queue=3,
        files_ingested=120,
        read_errors=2,
        events_lost=1,
        roots=(
            RootMetrics("/mnt/show a", True, True, 42.5, hears=True, last_canary_age=12.0),
            RootMetrics("/mnt/show_b", False, False, None),
        ),
        ai_assets={("/mnt/show a", "temporary"): 7, ("/mnt/show a", "flagged"): 1},
        backlog=5,
        notify={"desk": NotifyCounts(sent=9, failed=4, given_up=1), "quiet": NotifyCounts()},
    )
    path = write_metrics(tmp_path / "state", snapshot)
    assert path == tmp_path / "state" / "metrics.prom"
    samples = _samples(path)
    assert samples[("provenance_metrics_updated_timestamp_seconds", ())] == 1_800_000_000.0
    assert samples[("provenance_queue_depth", ())] == 3
    assert samples[("provenance_backlog", ())] == 5
    assert samples[("provenance_files_ingested_total", ())] == 120
    assert samples[("provenance_read_errors_total", ())] == 2
    assert samples[("provenance_events_lost_total", ())] == 1
    assert samples[("provenance_root_last_scan_age_seconds", (("root", "/mnt/show a"),))] == 42.5
    assert ("provenance_root_last_scan_age_seconds", (("root", "/mnt/show_b"),)) not in samples
    assert samples[("provenance_root_watched", (("root", "/mnt/show_b"),))] == 0
    assert samples[("provenance_root_online", (("root", "/mnt/show a"),))] == 1
    assert samples[("provenance_root_hears", (("root", "/mnt/show a"),))] == 1
    assert samples[("provenance_root_hears", (("root", "/mnt/show_b"),))] == 0
    heard = "provenance_root_last_canary_age_seconds"
    assert samples[(heard, (("root", "/mnt/show a"),))] == 12.0
    assert (heard, (("root", "/mnt/show_b"),)) not in samples
    for kind, desk, quiet in (("sent", 9, 0), ("failed", 4, 0), ("given_up", 1, 0)):
        assert samples[(f"provenance_notify_{kind}_total", (("webhook", "desk"),))] == desk
        assert samples[(f"provenance_notify_{kind}_total", (("webhook", "quiet"),))] == quiet
    temporary = ("provenance_ai_assets", (("root", "/mnt/show a"), ("status", "temporary")))
    assert samples[temporary] == 7
    assert [p.name for p in path.parent.iterdir()] == ["metrics.prom"]  # no temp file left
    assert not any(name.endswith("_created") for name, _labels in samples)


def test_daemon_writes_its_metrics_beside_its_status(
    tmp_path: Path, start_daemon: Callable[..., Running]
) -> None:
    root = tmp_path / "show"
    write_a1111_png(root / "ai.png")
    write_plain_png(root / "plain.png")
    write_plain_png(root / "copy.png")  # a copy is recorded once
    run = start_daemon(RootSettings(path=root))
    state = tmp_path / "state"
    wait_for(lambda: (state / "metrics.prom").exists(), 10, "metrics.prom")
    assert (state / "daemon-status.json").exists()
    wait_for(lambda: bool(run.daemon.roots[str(root)].hears), 30, "the canary heard")
    run.idle()
    samples = _samples(write_metrics(state, run.daemon.metrics()))
    assert samples[("provenance_ai_assets", (("root", str(root)), ("status", "temporary")))] == 1
    assert samples[("provenance_files_ingested_total", ())] == 3
    assert samples[("provenance_queue_depth", ())] == 0
    assert samples[("provenance_root_watched", (("root", str(root)),))] == 1
    age = samples[("provenance_root_last_scan_age_seconds", (("root", str(root)),))]
    assert 0 <= age < 60
    assert samples[("provenance_root_hears", (("root", str(root)),))] == 1
    heard = samples[("provenance_root_last_canary_age_seconds", (("root", str(root)),))]
    assert 0 <= heard < 60


def test_metrics_for_node_exporter_are_readable_by_it_and_the_state_stays_private(
    tmp_path: Path, start_daemon: Callable[..., Running]
) -> None:
    textfile = tmp_path / "textfile"
    textfile.mkdir()
    root = tmp_path / "show"
    write_a1111_png(root / "ai.png")
    previous = os.umask(0o077)  # the unit's UMask
    try:
        run = start_daemon(RootSettings(path=root), metrics_dir=textfile)
        wait_for(lambda: (textfile / "metrics.prom").exists(), 10, "metrics.prom")
        run.idle()
    finally:
        os.umask(previous)
    assert stat.S_IMODE((textfile / "metrics.prom").stat().st_mode) == 0o644
    assert not (tmp_path / "state" / "metrics.prom").exists()
    samples = _samples(textfile / "metrics.prom")
    assert samples[("provenance_root_watched", (("root", str(root)),))] == 1
    # a link planted at the name is replaced, not written through
    target = tmp_path / "elsewhere"
    target.write_text("kept")
    (textfile / "metrics.prom").unlink()
    (textfile / "metrics.prom").symlink_to(target)
    write_metrics(textfile, run.daemon.metrics(), shared=True)
    assert target.read_text() == "kept" and not (textfile / "metrics.prom").is_symlink()
