"""A rebuild takes a status from a tag only where the tag is evidence of it: beside the bytes
it was written for, and only a sweep's own marks. A tag is no record of a clearance or a
hold (anyone who can write the folder can write a sidecar), nor of a quarantine or purge."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from provenance.audit import Actor
from provenance.catalog import Catalog
from provenance.config import RootSettings, Settings
from provenance.ingest.scan import scan
from provenance.tagging.sidecar import read_sidecar, write_sidecar
from tests.media import write_a1111_png

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ACTOR = Actor("tester", "host1")


def _statuses(catalog: Catalog, paths: list[Path]) -> list[str]:
    with catalog.read() as tx:
        found = [tx.asset_by_path(str(path)) for path in paths]
    return [asset.status if asset is not None else "-" for asset in found]


def test_a_rebuild_takes_only_a_sweeps_marks_from_a_tag_beside_its_bytes(
    tmp_path: Path,
) -> None:
    root = tmp_path / "production"
    names = ["flagged.png", "expiring.png", "cleared.png", "held.png", "purged.png", "edited.png"]
    paths = [write_a1111_png(root / name, color=f"#{i:02x}3050") for i, name in enumerate(names)]
    settings = Settings(state_dir=tmp_path / "state", roots=[RootSettings(path=root)])
    first = Catalog.open(f"sqlite:///{tmp_path / 'one.sqlite'}")
    scan(settings, first, ACTOR, NOW)
    first.close()
    said = ["flagged", "expiring", "cleared", "held", "purged", "flagged"]
    for path, status in zip(paths, said, strict=True):
        tag = read_sidecar(path)
        assert tag is not None and tag.status == "temporary"
        write_sidecar(path, replace(tag, status=status))
    write_a1111_png(paths[-1], color="white")  # other bytes beside the tag now
    second = Catalog.open(f"sqlite:///{tmp_path / 'two.sqlite'}")
    scan(settings, second, ACTOR, NOW + timedelta(days=1), rebuild=True)
    try:
        assert _statuses(second, paths) == [
            "flagged",
            "expiring",
            "temporary",
            "temporary",
            "temporary",
            "temporary",
        ]
    finally:
        second.close()
