"""``service.thumbnails.prune_thumbnails``: the pictures kept of content no asset holds are
deleted, from real files made by real reader workers, on a real catalog of each backend; the
command and the daemon's nightly job call it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from provenance.access.roles import Role
from provenance.catalog import Catalog
from provenance.cli import cli
from provenance.config import Settings
from provenance.daemon.scheduler import THUMBNAILS_JOB, Scheduler, register_thumbnails
from provenance.errors import PermissionDeniedError
from provenance.service.assets import thumbnail
from provenance.service.context import App
from provenance.service.thumbnails import prune_thumbnails
from tests.retention.helpers import T0, MakeAsset
from tests.service.conftest import caller


def _png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "PNG")
    return out.getvalue()


def _kept(state: Path) -> set[str]:
    return {p.name for p in (state / "thumbnails").rglob("*") if p.is_file()}


@pytest.fixture
def pictured(app: App, catalog: Catalog, make_asset: MakeAsset) -> dict[str, str]:
    """Assets with pictures (or a remembered refusal) kept, by name -> the kept file's name;
    then the files of ``gone`` and ``purged`` no longer on the disk."""
    assets = {
        "kept": make_asset("kept.png", content=_png("red")),
        "refused": make_asset("refused.png", content=b"not a picture at all"),
        "gone": make_asset("gone.png", content=_png("blue")),
        "copy-left": make_asset("copy-left.png", content=_png("green")),
        "copy-gone": make_asset("copy-gone.png", content=_png("green")),
        "purged": make_asset("purged.png", content=_png("yellow"), status="purged"),
        "gone-refused": make_asset("gone-refused.png", content=b"no picture either"),
    }
    viewer = caller(Role.VIEWER)
    names = {}
    for name, asset in assets.items():
        made = thumbnail(app, viewer, asset.id or 0)
        assert (made is None) == ("refused" in name), name
        suffix = ".none" if made is None else ".webp"
        names[name] = (asset.content_hash or "").split(":")[1] + suffix
    app.thumbnailer.close()
    for name in ("gone", "copy-gone", "purged", "gone-refused"):
        Path(assets[name].path).unlink()
    with catalog.write() as tx:
        tx.mark_missing([assets[n].path for n in ("gone", "copy-gone", "gone-refused")], T0)
        purged = tx.asset_by_id(assets["purged"].id or 0)
        assert purged is not None
        purged.present = False  # as a purge leaves it
    return names


def test_prune_deletes_the_pictures_and_refusals_of_content_no_asset_holds(
    app: App, settings: Settings, pictured: dict[str, str]
) -> None:
    state = settings.state_path
    assert _kept(state) == set(pictured.values())
    operator = caller(Role.OPERATOR)
    gone = {pictured[n] for n in ("gone", "purged", "gone-refused")}

    dry = prune_thumbnails(app, operator, dry_run=True)
    assert dry.dry_run and _kept(state) == set(pictured.values())  # nothing deleted
    assert {
        d.content_hash.split(":")[1] + "." + ("webp" if d.kind == "picture" else "none")
        for d in dry.removed
    } == gone
    assert dry.kept == 3 and dry.left == []

    done = prune_thumbnails(app, operator)
    assert [(d.content_hash, d.kind, d.size) for d in done.removed] == [
        (d.content_hash, d.kind, d.size) for d in dry.removed
    ]
    # a copy still on the disk keeps the picture of its content
    assert _kept(state) == {pictured[n] for n in ("kept", "refused", "copy-left")}
    again = prune_thumbnails(app, operator)
    assert again.removed == [] and again.kept == 3


def test_prune_leaves_a_link_and_names_not_its_own(
    app: App, settings: Settings, pictured: dict[str, str], tmp_path: Path
) -> None:
    shard = settings.state_path / "thumbnails" / pictured["gone"][:2]
    outside = tmp_path / "outside.webp"
    outside.write_bytes(b"not the service's")
    # two shard names no picture of the test uses
    first, second = sorted({f"{n:02x}" for n in range(256)} - {p[:2] for p in pictured.values()})[
        :2
    ]
    planted = first + "0" * 62 + ".webp"
    (settings.state_path / "thumbnails" / first).mkdir(mode=0o700)
    (settings.state_path / "thumbnails" / first / planted).symlink_to(outside)
    (shard / "notes.txt").write_text("an operator's")
    # a shard folder that is a link leads nowhere: never followed
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / (second + "0" * 62 + ".none")).write_text("not the service's")
    (settings.state_path / "thumbnails" / second).symlink_to(elsewhere)
    done = prune_thumbnails(app, caller(Role.OPERATOR))
    assert len(done.removed) == 3
    link, folder = done.left
    assert planted in link and "symbolic link" in link
    assert folder.startswith(str(settings.state_path / "thumbnails" / second))
    assert "symbolic link" in folder
    assert outside.read_bytes() == b"not the service's"
    assert [p.name for p in elsewhere.iterdir()] == [second + "0" * 62 + ".none"]
    assert (shard / "notes.txt").exists()


def test_prune_needs_the_operator_role(app: App) -> None:
    with pytest.raises(PermissionDeniedError, match="may not prune thumbnails"):
        prune_thumbnails(app, caller(Role.APPROVER))


def test_prune_with_no_pictures_kept_prunes_nothing(app: App) -> None:
    pruned = prune_thumbnails(app, caller(Role.OPERATOR))
    assert (pruned.removed, pruned.kept, pruned.left) == ([], 0, [])


def test_the_command_prunes_and_its_dry_run_deletes_nothing(
    settings: Settings, catalog: Catalog, pictured: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "provenance.toml"
    config.write_text(
        f"state_dir = {json.dumps(str(settings.state_path))}\n"
        f"[catalog]\nurl = {json.dumps(catalog.url)}\n"
    )
    runner = CliRunner()
    dry = runner.invoke(cli, ["--config", str(config), "thumbnails", "prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert _kept(settings.state_path) == set(pictured.values())
    lines = dry.stdout.splitlines()
    assert len(lines) == 4 and all(line.startswith("would remove ") for line in lines[:3])
    assert lines[-1].startswith("thumbnails (dry run): 3 would remove (")
    assert lines[-1].endswith(" bytes), 3 kept")
    done = runner.invoke(cli, ["--config", str(config), "thumbnails", "prune", "--json"])
    assert done.exit_code == 0, done.output
    assert '"dry_run": false' in done.stdout and '"kept": 3' in done.stdout
    assert len(_kept(settings.state_path)) == 3


def test_the_daemon_prunes_each_night_with_reconcile(
    settings: Settings, catalog: Catalog, pictured: dict[str, str]
) -> None:
    scheduler = Scheduler(settings.state_path)
    register_thumbnails(scheduler, settings, catalog)
    assert scheduler.jobs[THUMBNAILS_JOB].cron == settings.schedule.reconcile
    assert scheduler.jobs[THUMBNAILS_JOB].lock is None  # each node its own state folder
    scheduler.jobs[THUMBNAILS_JOB].body()
    assert _kept(settings.state_path) == {pictured[n] for n in ("kept", "refused", "copy-left")}
