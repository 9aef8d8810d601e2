"""`provenance clear`: who may clear, what evidence it needs, what it records (both backends)."""

from __future__ import annotations

import getpass
import grp
import json
import os
from pathlib import Path

import pytest
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.inotify import InotifyObserver

from provenance.catalog import Catalog
from provenance.catalog.clearance import active_clearance, clearances_of
from provenance.tagging import read_sidecar
from tests.clearance.helpers import CLEAN_TOOL, actions_of, asset_at, run, write_config
from tests.media import write_a1111_png


class _Opens(FileSystemEventHandler):
    """The files of a folder the kernel saw opened (inotify), by anyone."""

    def __init__(self) -> None:
        self.opened: list[str] = []

    def on_opened(self, event: FileSystemEvent) -> None:
        self.opened.append(str(event.src_path))


def _scan(config: Path, root: Path) -> None:
    result = run(config, "scan", str(root))
    assert result.exit_code == 0, result.output


def test_clear_by_an_approver_records_the_evidence_and_rewrites_the_tag(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config = write_config(tmp_path, root, catalog)
    _scan(config, root)
    poster = root / "finals" / "poster.png"
    result = run(config, "clear", str(poster), "--approval", "LEGAL-1", "--note", "key art")
    assert result.exit_code == 0, result.output
    assert f"cleared {poster} (risk high: NFX-INTRO, NFX-FINAL1" in result.stdout
    assert "no machine-readable AI mark" in result.stderr  # the label warning
    asset = asset_at(catalog, poster)
    assert asset.status == "cleared" and asset.deadline is None
    with catalog.read() as tx:
        clearance = active_clearance(tx, asset.id or 0)
        events = tx.events_of(asset.id or 0)
    assert clearance is not None
    assert clearance.approval_ref == "LEGAL-1" and clearance.note == "key art"
    assert clearance.content_hash == asset.content_hash
    assert clearance.user == getpass.getuser() and clearance.host
    cleared = [e for e in events if e.action == "cleared"]
    assert len(cleared) == 1 and cleared[0].after["approval_ref"] == "LEGAL-1"
    assert read_sidecar(poster).approval_ref == "LEGAL-1"


def test_a_user_who_is_not_an_approver_is_refused_and_nothing_changes(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config = write_config(tmp_path, root, catalog, approvers=["someone-else"])
    _scan(config, root)
    poster = root / "finals" / "poster.png"
    result = run(config, "clear", str(poster), "--approval", "LEGAL-1")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: user {getpass.getuser()!r} may not clear")
    assert asset_at(catalog, poster).status == "temporary"
    assert "cleared" not in actions_of(catalog, poster)


def test_a_member_of_an_approver_group_may_clear(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    group = grp.getgrgid(os.getgid()).gr_name
    config = write_config(tmp_path, root, catalog, approvers=[], approver_groups=[group])
    _scan(config, root)
    poster = root / "finals" / "poster.png"
    result = run(config, "clear", str(poster), "--approval", "LEGAL-1")
    assert result.exit_code == 0, result.output
    assert asset_at(catalog, poster).status == "cleared"


def test_no_approvers_configured_refuses_everyone(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config = write_config(tmp_path, root, catalog, approvers=[])
    _scan(config, root)
    result = run(config, "clear", str(root / "finals" / "poster.png"), "--approval", "A")
    assert result.exit_code == 1
    assert "may not clear: that needs the approver role" in result.stderr


def test_clear_without_an_approval_reference_is_refused(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config = write_config(tmp_path, root, catalog)
    _scan(config, root)
    poster = root / "finals" / "poster.png"
    result = run(config, "clear", str(poster))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: no approval reference: clearing needs --approval REF, the written approval "
        "(NFX-INTRO)"
    )
    assert asset_at(catalog, poster).status == "temporary"


def test_missing_evidence_is_refused_naming_the_rules(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config = write_config(tmp_path, root, catalog)
    _scan(config, root)
    poster = root / "finals" / "poster.png"
    tagged = run(config, "tag", str(poster), "--talent", "Jane Doe", "--personal-data")
    assert tagged.exit_code == 0, tagged.output
    result = run(config, "clear", str(poster), "--approval", "LEGAL-1")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {poster}: missing ")
    assert "consent reference(s) for Jane Doe (--consent REF; 0 given) (NFX-TP1)" in lines[0]
    assert "an escalation reference (--escalation REF) (NFX-TP1, NFX-DU1)" in lines[0]
    assert asset_at(catalog, poster).status == "temporary"
    given = run(
        config, "clear", str(poster), "--approval", "L1", "--consent", "C-7", "--escalation", "E-2"
    )
    assert given.exit_code == 0, given.output
    with catalog.read() as tx:
        clearance = active_clearance(tx, asset_at(catalog, poster).id or 0)
    assert clearance is not None and clearance.consent_refs == ["C-7"]
    assert clearance.escalation_ref == "E-2" and clearance.risk == "high"


def test_an_unknown_tool_needs_an_escalation(tmp_path: Path, root: Path, catalog: Catalog) -> None:
    config = write_config(tmp_path, root, catalog, tools=[])
    _scan(config, root)
    poster = root / "finals" / "poster.png"
    asset = asset_at(catalog, poster)
    # judged as a final, as `show` and `uncleared` judge it: one risk everywhere
    assert asset.tool_status == "unknown" and asset.risk == "high"
    assert asset.risk_rules == "NFX-INTRO,NFX-FINAL1,NFX-CONF3,NFX-P2"
    result = run(config, "clear", str(poster), "--approval", "LEGAL-1")
    assert result.exit_code == 1
    assert "escalation reference (--escalation REF) (NFX-CONF3, NFX-P2)" in result.stderr
    unapproved = {**CLEAN_TOOL, "approved": False}
    config = write_config(tmp_path, root, catalog, tools=[unapproved])
    result = run(config, "clear", str(poster), "--approval", "LEGAL-1")
    assert result.exit_code == 1 and "(NFX-CONF3)" in result.stderr


def test_dry_run_says_what_would_be_cleared_and_what_is_missing(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config = write_config(tmp_path, root, catalog)
    _scan(config, root)
    poster = root / "finals" / "poster.png"
    result = run(config, "clear", str(poster), "--approval", "L1", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"dry run: would clear {poster} (risk high: NFX-INTRO")
    run(config, "tag", str(poster), "--talent", "Jane Doe")
    result = run(config, "clear", str(poster), "--dry-run", "--json")
    outcome = json.loads(result.stdout)[0]
    assert {m["kind"] for m in outcome["missing"]} == {"approval", "consent", "escalation"}
    assert asset_at(catalog, poster).status == "temporary"
    assert "cleared" not in actions_of(catalog, poster)


def test_clearing_a_folder_clears_every_ai_file_under_it(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    from tests.media import write_a1111_png

    write_a1111_png(root / "finals" / "logo.png", color="white")
    config = write_config(tmp_path, root, catalog)
    _scan(config, root)
    result = run(config, "clear", str(root), "--approval", "LEGAL-9")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert [line.split()[1] for line in lines] == [
        str(root / "finals" / "logo.png"),
        str(root / "finals" / "poster.png"),
    ]
    assert asset_at(catalog, root / "plates" / "plate.png").status == "not-ai"


def test_a_blocked_asset_is_never_cleared(tmp_path: Path, root: Path, catalog: Catalog) -> None:
    config = write_config(tmp_path, root, catalog)
    _scan(config, root)
    poster = root / "finals" / "poster.png"
    run(config, "tag", str(poster), "--other-project-model")
    assert asset_at(catalog, poster).risk == "blocked"
    result = run(
        config, "clear", str(poster), "--approval", "A", "--consent", "C", "--escalation", "E"
    )
    assert result.exit_code == 1
    assert "blocked: cannot be cleared (NFX-TE-MODEL)" in result.stderr


def test_a_held_asset_keeps_its_hold_and_is_cleared_when_released(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config = write_config(tmp_path, root, catalog)
    _scan(config, root)
    poster = root / "finals" / "poster.png"
    assert run(config, "hold", str(poster), "--reason", "matter 7").exit_code == 0
    result = run(config, "clear", str(poster), "--approval", "LEGAL-1")
    assert result.exit_code == 0, result.output
    assert "stays held" in result.stdout
    assert asset_at(catalog, poster).status == "held"
    assert run(config, "release", str(poster)).exit_code == 0
    assert asset_at(catalog, poster).status == "cleared"


def test_show_explains_risk_rules_and_evidence(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config = write_config(tmp_path, root, catalog, tools=[])
    _scan(config, root)
    poster = root / "finals" / "poster.png"
    run(config, "tag", str(poster), "--use", "marketing", "--copyrighted-ref")
    shown = run(config, "show", str(poster))
    assert shown.exit_code == 0, shown.output
    assert "risk:         high" in shown.stdout
    assert "NFX-CO2" in shown.stdout and "NFX-FINAL2" in shown.stdout
    assert "(not in the tools registry) (unknown)" in shown.stdout
    assert "missing: an escalation reference" in shown.stdout
    record = json.loads(run(config, "show", str(poster), "--json").stdout)
    assert record["risk"] == "high" and "NFX-CO2" in record["risk_rules"]
    assert record["facts"] == {"intended_use": "marketing", "copyrighted_ref": True}
    assert record["clearance"]["clearance"] is None


def test_uncleared_lists_ai_assets_with_risk_and_missing_evidence(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config = write_config(tmp_path, root, catalog, tools=[])
    _scan(config, root)
    listed = json.loads(run(config, "uncleared", "--json").stdout)
    assert [Path(item["path"]).name for item in listed] == ["poster.png"]
    assert listed[0]["risk"] == "high"  # judged as a final
    assert {gap["kind"] for gap in listed[0]["missing"]} == {"approval", "escalation"}
    # by root and folder, with what a clearance needs and a total; --files one per file
    text = run(config, "uncleared").stdout.splitlines()
    finals = root / "finals"
    assert text[0].startswith(f"{root.name} {root}: 1 file in 1 folder; risk 1 high")
    assert text[1].startswith(f"{1:>8}  {finals}  risk 1 high; status 1 temporary; needs 1 ")
    assert "approval" in text[1] and "escalation" in text[1] and len(text) == 3
    assert text[-1].startswith("total: 1 uncleared AI asset in 1 folder under 1 root")
    files = run(config, "uncleared", "--files")
    assert "poster.png" in files.stdout and "needs: an approval reference" in files.stdout
    assert files.stderr.strip() == "total: 1 uncleared AI asset"
    poster = root / "finals" / "poster.png"
    assert run(config, "clear", str(poster), "--approval", "A", "--escalation", "E").exit_code == 0
    assert json.loads(run(config, "uncleared", "--json").stdout) == []


def test_uncleared_reads_the_catalog_a_page_at_a_time(
    tmp_path: Path, root: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a big catalog has hundreds of thousands of uncleared assets: they are listed a page
    # at a time, each page's signals in one query, and every record is the one it was
    from provenance.service import assets

    config = write_config(tmp_path, root, catalog, tools=[])
    for n in range(5):
        parameters = f"shot {n}\nSteps: 20, Sampler: Euler a, Seed: {n}, Model: model_{n}"
        write_a1111_png(root / "gen" / f"frame_{n}.png", parameters, color=f"#0000{n:02x}")
    _scan(config, root)
    whole = run(config, "uncleared", "--json").stdout
    monkeypatch.setattr(assets, "UNCLEARED_PAGE", 2)
    paged = run(config, "uncleared", "--json").stdout
    assert paged == whole and len(json.loads(paged)) == 6
    assert run(config, "uncleared", "--files").stdout.count("\n") == 6
    folders = run(config, "uncleared").stdout.splitlines()  # the root, 2 folders, the total
    assert len(folders) == 4 and folders[-1].startswith("total: 6 uncleared AI assets in 2 ")
    assert folders[2].startswith(f"{5:>8}  {root / 'gen'}  risk 5 high")


def test_revoke_sends_the_asset_back_to_temporary(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config = write_config(tmp_path, root, catalog)
    _scan(config, root)
    poster = root / "finals" / "poster.png"
    assert run(config, "clear", str(poster), "--approval", "LEGAL-1").exit_code == 0
    result = run(config, "revoke", str(poster), "--reason", "approval withdrawn")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"revoked {poster} (LEGAL-1); now temporary"
    asset = asset_at(catalog, poster)
    assert asset.status == "temporary" and asset.deadline is not None
    with catalog.read() as tx:
        (clearance,) = clearances_of(tx, asset.id or 0)
        revoked = [e for e in tx.events_of(asset.id or 0) if e.action == "revoked"]
    assert clearance.void_action == "revoked" and clearance.voided_at is not None
    assert revoked[0].reason == "approval withdrawn"
    assert read_sidecar(poster).approval_ref is None
    again = run(config, "revoke", str(poster), "--reason", "twice")
    assert again.exit_code == 1 and f"error: {poster}: not cleared" in again.stderr


def test_label_embeds_the_iptc_mark_into_a_png(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config = write_config(tmp_path, root, catalog)
    _scan(config, root)
    poster = root / "finals" / "poster.png"
    before = json.loads(run(config, "show", str(poster), "--json").stdout)["clearance"]
    assert before["label"] == {"in_file": [], "sidecar": True} and not before["labelled"]
    assert "label:        sidecar only" in run(config, "show", str(poster)).stdout
    result = run(config, "clear", str(poster), "--approval", "LEGAL-1", "--label")
    assert result.exit_code == 0, result.output
    assert "IPTC DigitalSourceType embedded (png)" in result.stderr
    # show says what is there now: the mark embedded into these bytes, and the sidecar
    shown = run(config, "show", str(poster)).stdout
    assert "label:        in the file (IPTC XMP) and its sidecar" in shown
    record = json.loads(run(config, "show", str(poster), "--json").stdout)["clearance"]
    assert record["label"] == {"in_file": ["xmp"], "sidecar": True} and record["labelled"]
    asset = asset_at(catalog, poster)
    with catalog.read() as tx:
        clearance = active_clearance(tx, asset.id or 0)
    # the clearance follows our own rewrite of the bytes, so a re-scan keeps it
    assert clearance is not None and clearance.content_hash == asset.content_hash
    _scan(config, root)
    assert asset_at(catalog, poster).status == "cleared"


def test_clearing_again_leaves_a_cleared_file_as_it_is(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    config = write_config(tmp_path, root, catalog)
    assert run(config, "scan", str(root)).exit_code == 0
    poster = root / "finals" / "poster.png"
    assert run(config, "clear", str(poster), "--approval", "LEGAL-1").exit_code == 0
    run(config, "tag", str(poster), "--talent", "Jane Doe")  # a later fact does not undo it
    again = run(config, "clear", str(poster), "--approval", "LEGAL-2")
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == f"{poster}: already cleared"
    assert actions_of(catalog, poster).count("cleared") == 1


def test_a_link_swapped_in_at_the_path_is_refused_and_what_it_leads_to_is_never_read(
    tmp_path: Path, root: Path, catalog: Catalog
) -> None:
    """clear hashes the file it binds to from the root's descriptor, following no link: a
    link put at the scanned path, to a copy outside the root with the very same bytes (a
    hash through the link would match), is one error line, and the copy is never opened."""
    config = write_config(tmp_path, root, catalog)
    _scan(config, root)
    poster = root / "finals" / "poster.png"
    outside = tmp_path / "outside"
    outside.mkdir()
    copy = outside / "poster.png"
    copy.write_bytes(poster.read_bytes())
    before = copy.stat()
    poster.unlink()
    poster.symlink_to(copy)
    opens = _Opens()
    observer = InotifyObserver()
    observer.schedule(opens, str(outside))
    observer.start()
    try:
        result = run(config, "clear", str(poster), "--approval", "LEGAL-1")
    finally:
        observer.stop()
        observer.join()
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        f"error: {poster}: cannot read: is a symbolic link (never followed)"
    ], result.stderr
    assert opens.opened == []
    after = copy.stat()
    assert copy.read_bytes() == poster.read_bytes() and after.st_mtime_ns == before.st_mtime_ns
    assert poster.is_symlink() and asset_at(catalog, poster).status == "temporary"
    assert "cleared" not in actions_of(catalog, poster)
