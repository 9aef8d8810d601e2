"""A change of detection settings re-reads a root's files on the next scan, no rebuild."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provenance.audit import Actor
from provenance.catalog import Catalog
from provenance.config import PathRuleSettings, RootSettings, Settings
from provenance.detect import PathRule
from provenance.detect.fingerprint import detection_fingerprint
from provenance.ingest.scan import scan
from tests.media import write_plain_png

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACTOR = Actor("tester", "host1")


def test_fingerprint_follows_every_setting() -> None:
    base = detection_fingerprint(deep=False, sidecars=True, path_rules=())
    assert base == detection_fingerprint(deep=False, sidecars=True, path_rules=())
    rule = PathRule(glob="renders/**", tool="Midjourney")
    others = {
        detection_fingerprint(deep=True, sidecars=True, path_rules=()),
        detection_fingerprint(deep=False, sidecars=False, path_rules=()),
        detection_fingerprint(deep=False, sidecars=True, path_rules=(rule,)),
    }
    assert base not in others
    assert len(others) == 3


def test_an_edit_of_the_generator_claim_table_changes_the_fingerprint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the packaged table as a maintainer edits it: one entry more at its end
    from provenance.detect.families import c2pa_claims

    base = detection_fingerprint(deep=False, sidecars=True, path_rules=())
    edited = c2pa_claims.table_text() + (
        b'\n[[claim]]\ngenerator = "NewGen"\nfamily = "newgen"\n'
        b"claim_generator = '^NewGen'\nexample = \"NewGen/1.0\"\n"
    )
    monkeypatch.setattr(c2pa_claims, "table_text", lambda: edited)
    c2pa_claims.table_digest.cache_clear()
    try:
        assert detection_fingerprint(deep=False, sidecars=True, path_rules=()) != base
    finally:
        monkeypatch.undo()
        c2pa_claims.table_digest.cache_clear()
    assert detection_fingerprint(deep=False, sidecars=True, path_rules=()) == base


def test_a_new_path_rule_reaches_files_already_in_the_catalog(
    tmp_path: Path, catalog: Catalog
) -> None:
    root = tmp_path / "production"
    write_plain_png(root / "renders" / "mj" / "frame.png")
    write_plain_png(root / "plates" / "plate.png", color="white")
    settings = Settings(state_dir=tmp_path / "state", roots=[RootSettings(path=root)])
    scan(settings, catalog, ACTOR, NOW)
    again = scan(settings, catalog, ACTOR, NOW + timedelta(hours=1))
    assert again.counts.unchanged == 2, "same settings: nothing is read again"
    ruled = settings.model_copy(
        update={
            "detect": settings.detect.model_copy(
                update={"path_rules": [PathRuleSettings(glob="renders/mj/**", tool="Midjourney")]}
            )
        }
    )
    result = scan(ruled, catalog, ACTOR, NOW + timedelta(hours=2))
    assert (result.counts.modified, result.counts.unchanged) == (1, 1)
    with catalog.read() as tx:
        frame = tx.asset_by_path(str(root / "renders" / "mj" / "frame.png"))
        assert frame is not None and frame.id is not None
        events = [e for e in tx.events_of(frame.id) if e.action == "modified"]
    assert (frame.ai_class, frame.generator, frame.status) == ("ai", "Midjourney", "temporary")
    assert events[-1].reason == "read again with other detection settings"
    last = scan(ruled, catalog, ACTOR, NOW + timedelta(hours=3))
    assert last.counts.unchanged == 2, "the new settings are recorded: no third read"
