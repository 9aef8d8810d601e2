"""Our own sidecar is evidence only about the content it was written for."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provenance.audit import Actor
from provenance.catalog import Catalog
from provenance.config import RootSettings, Settings
from provenance.detect import detect_file
from provenance.detect.combine import bind_sidecars
from provenance.files.hashing import hash_bytes
from provenance.ingest.scan import scan
from tests.fixtures_media import IPTC_DST, xmp_packet
from tests.media import write_a1111_png, write_plain_png

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACTOR = Actor("tester", "host1")


def _settings(tmp_path: Path, root: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", roots=[RootSettings(path=root)])


def test_new_plain_file_under_an_old_ai_files_name_is_not_ai(
    tmp_path: Path, catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "production"
    castle = root / "castle.png"
    write_a1111_png(castle)
    settings = _settings(tmp_path, root)
    scan(settings, catalog, ACTOR, NOW)
    sidecar = root / "castle.png.xmp"
    assert sidecar.is_file(), "the AI file was tagged"
    # deleted by hand and a new, unrelated file saved under its name before the next scan:
    # the sidecar, written for the old content, is still there
    castle.unlink()
    write_plain_png(castle, color="white")
    with caplog.at_level(logging.WARNING):
        scan(settings, catalog, ACTOR, NOW + timedelta(hours=2))
    with catalog.read() as tx:
        fresh = tx.asset_by_path(str(castle))
    assert fresh is not None
    assert (fresh.ai_class, fresh.status) == ("none", "not-ai")
    assert any("castle.png.xmp: written for other content" in r.message for r in caplog.records)


def test_modified_content_beside_our_sidecar_loses_only_that_evidence(tmp_path: Path) -> None:
    path = tmp_path / "plate.png"
    write_plain_png(path)
    (tmp_path / "plate.png.xmp").write_text(_own_tag("blake3:" + "0" * 64))
    verdict = detect_file(path)
    assert verdict.ai_class == "ai", "read alone, the sidecar claims AI"
    bound = bind_sidecars(verdict, hash_bytes(path.read_bytes()))
    assert bound.ai_class == "none"
    assert bound.signals == ()
    assert bound.problems == (
        f"sidecar plate.png.xmp: written for other content (blake3:{'0' * 17}...), not this"
        " file's; ignored as evidence (left over from a renamed or replaced file?)",
    )


def test_our_sidecar_for_this_content_stays_evidence(tmp_path: Path) -> None:
    path = tmp_path / "plate.png"
    write_plain_png(path)
    content_hash = hash_bytes(path.read_bytes())
    (tmp_path / "plate.png.xmp").write_text(_own_tag(content_hash))
    verdict = bind_sidecars(detect_file(path), content_hash)
    assert verdict.ai_class == "ai"
    assert verdict.signals[0].detail["asset_id"] == "0190b3c2-0000-7000-8000-000000000001"


def test_another_tools_sidecar_carries_no_binding(tmp_path: Path) -> None:
    path = tmp_path / "plate.png"
    write_plain_png(path)
    packet = xmp_packet(digital_source_type=IPTC_DST + "trainedAlgorithmicMedia")
    (tmp_path / "plate.png.xmp").write_text(packet)
    verdict = bind_sidecars(detect_file(path), "blake3:" + "1" * 64)
    assert verdict.ai_class == "ai"


def _own_tag(content_hash: str) -> str:
    """An XMP sidecar as provenance writes it (the properties that matter here)."""
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" '
        'xmlns:provenance="http://ns.provenance-tool.org/xmp/1.0/" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
        "<provenance:AssetId>0190b3c2-0000-7000-8000-000000000001</provenance:AssetId>"
        f"<provenance:ContentHash>{content_hash}</provenance:ContentHash>"
        "<provenance:AiClass>ai</provenance:AiClass>"
        f"<Iptc4xmpExt:DigitalSourceType>{IPTC_DST}trainedAlgorithmicMedia"
        "</Iptc4xmpExt:DigitalSourceType>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )


def test_a_stale_sidecar_is_reported_by_scan_and_status_until_it_is_gone(
    tmp_path: Path, catalog: Catalog
) -> None:
    import json

    from tests.clearance.helpers import run, write_config

    root = tmp_path / "production"
    castle = root / "castle.png"
    write_a1111_png(castle)
    write_plain_png(root / "plate.png")
    config = write_config(tmp_path, root, catalog, tools=[])
    assert run(config, "scan").exit_code == 0
    castle.unlink()
    write_plain_png(castle, color="white")  # a new file under the old AI file's name

    result = run(config, "scan")
    assert result.exit_code == 0, result.output
    assert (
        "problem: 1 files beside a sidecar of ours written for other content, ignored as"
        f" evidence (left from a renamed or replaced file?): {castle}"
    ) in result.stdout
    # unchanged, not read again: the next scan still reports it, and so does status
    again = json.loads(run(config, "scan", "--json").stdout)
    assert (again["stale_sidecars"], again["stale"], again["unchanged"]) == (1, [str(castle)], 2)
    status = run(config, "status")
    assert "problem: 1 files beside a sidecar of ours written for other content" in status.stdout
    shown = json.loads(run(config, "status", "--json").stdout)
    assert [r["stale_sidecars"] for r in shown["roots"]] == [1]
    # the leftover sidecar removed: nothing to report
    (root / "castle.png.xmp").unlink()
    gone = json.loads(run(config, "scan", "--json").stdout)
    assert (gone["stale_sidecars"], gone["stale"]) == (0, [])
    assert "sidecar of ours" not in run(config, "status").stdout
