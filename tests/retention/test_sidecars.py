"""Quarantine, restore and purge take our sidecar with the file; another tool's stays put."""

from __future__ import annotations

from pathlib import Path

from provenance.catalog import Catalog
from provenance.config import Settings
from provenance.ingest.tags import tag_record
from provenance.retention.restore import restore
from provenance.retention.sweep import sweep
from provenance.tagging import write_sidecar
from tests.fixtures_media import FOREIGN_SIDECAR
from tests.retention.helpers import ACTOR, DAY, T0, MakeAsset, reload


def test_another_tools_sidecar_stays_where_it_is_through_quarantine_and_purge(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings
) -> None:
    ours = make_asset("shots/ours.png", status="flagged", flagged_at=T0 + 30 * DAY, sidecar=True)
    theirs = make_asset("shots/theirs.png", status="flagged", flagged_at=T0 + 30 * DAY)
    foreign = root / "shots" / "theirs.png.xmp"
    foreign.write_text(FOREIGN_SIDECAR)
    merged = make_asset("shots/merged.png", status="flagged", flagged_at=T0 + 30 * DAY)
    (root / "shots" / "merged.png.xmp").write_text(FOREIGN_SIDECAR)
    write_sidecar(Path(merged.path), tag_record(merged), root=root)  # ours merged into theirs
    kept = (root / "shots" / "merged.png.xmp").read_bytes()
    make_asset("young.png", first_seen=T0 + 500 * DAY)
    quarantine = root / ".provenance-quarantine" / "shots"

    sweep(catalog, settings_purge, ACTOR, T0 + 40 * DAY)
    assert {reload(catalog, a.id).status for a in (ours, theirs, merged)} == {"quarantined"}
    assert (quarantine / "ours.png.xmp").is_file()
    assert not (root / "shots" / "ours.png.xmp").exists()
    assert foreign.read_text() == FOREIGN_SIDECAR
    assert (root / "shots" / "merged.png.xmp").read_bytes() == kept
    assert sorted(p.name for p in quarantine.iterdir()) == [
        "merged.png",
        "ours.png",
        "ours.png.xmp",
        "theirs.png",
    ]

    restore(catalog, settings_purge, theirs.id, ACTOR, T0 + 41 * DAY)  # type: ignore[arg-type]
    assert Path(theirs.path).is_file() and foreign.read_text() == FOREIGN_SIDECAR

    sweep(catalog, settings_purge, ACTOR, T0 + 60 * DAY)
    assert reload(catalog, ours.id).status == reload(catalog, merged.id).status == "purged"
    assert not quarantine.joinpath("ours.png.xmp").exists()
    assert (root / "shots" / "merged.png.xmp").read_bytes() == kept
    assert foreign.read_text() == FOREIGN_SIDECAR
