"""Legal holds: held files are never flagged, quarantined or purged; release returns them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from provenance.catalog import Catalog
from provenance.cli import cli
from provenance.config import Settings
from provenance.retention.sweep import sweep
from tests.retention.helpers import ACTOR, DAY, T0, MakeAsset, reload, status_of, write_config


def test_hold_on_a_folder_covers_everything_under_it(
    catalog: Catalog,
    make_asset: MakeAsset,
    root: Path,
    settings_purge: Settings,
    runner: CliRunner,
    tmp_path: Path,
) -> None:
    inside = make_asset("legal/case/a.png", status="flagged", flagged_at=T0 + 30 * DAY)
    quarantined_one = make_asset("legal/b.png", status="flagged", flagged_at=T0 + 30 * DAY)
    outside = make_asset("legalese.png")
    make_asset("young.png", first_seen=T0 + 500 * DAY)
    config = write_config(tmp_path, root, catalog)
    result = runner.invoke(
        cli,
        [
            "--config",
            str(config),
            "hold",
            str(root / "legal"),
            "--reason",
            "matter 42",
            "--dry-run",
        ],
    )
    assert (result.exit_code, result.stdout) == (
        0,
        f"dry run: would hold {root / 'legal'} (2 assets)\n",
    )
    assert status_of(catalog, inside.id) == "flagged"
    result = runner.invoke(
        cli, ["--config", str(config), "hold", str(root / "legal"), "--reason", "matter 42"]
    )
    assert (result.exit_code, result.stdout) == (0, f"held {root / 'legal'} (2 assets)\n")
    assert (status_of(catalog, inside.id), status_of(catalog, quarantined_one.id)) == (
        "held",
        "held",
    )
    for days in (40, 60, 100):
        sweep(catalog, settings_purge, ACTOR, T0 + days * DAY)
    assert Path(inside.path).is_file() and Path(quarantined_one.path).is_file()
    assert status_of(catalog, inside.id) == "held"
    assert status_of(catalog, outside.id) != "held"


def test_release_returns_assets_to_the_policy(
    catalog: Catalog,
    make_asset: MakeAsset,
    root: Path,
    settings_purge: Settings,
    runner: CliRunner,
    tmp_path: Path,
) -> None:
    asset = make_asset("legal/a.png", status="flagged", flagged_at=T0 + 30 * DAY)
    make_asset("young.png", first_seen=T0 + 500 * DAY)
    config = write_config(tmp_path, root, catalog)
    runner.invoke(cli, ["--config", str(config), "hold", str(root / "legal"), "--reason", "m"])
    result = runner.invoke(cli, ["--config", str(config), "release", str(root / "legal")])
    assert (result.exit_code, result.stdout) == (0, f"released {root / 'legal'} (1 assets)\n")
    assert status_of(catalog, asset.id) == "temporary"
    sweep(catalog, settings_purge, ACTOR, T0 + 100 * DAY)
    flagged = reload(catalog, asset.id)
    assert (flagged.status, flagged.flagged_at) == ("flagged", T0 + 100 * DAY)
    with catalog.read() as tx:
        actions = [e.action for e in tx.events_of(asset.id)]  # type: ignore[arg-type]
    assert actions == ["indexed", "held", "released", "flagged"]


def test_release_of_a_path_never_held_is_an_error(
    catalog: Catalog, make_asset: MakeAsset, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    config = write_config(tmp_path, root, catalog)
    (root / "legal").mkdir()
    runner.invoke(cli, ["--config", str(config), "hold", str(root / "legal"), "--reason", "m"])
    result = runner.invoke(cli, ["--config", str(config), "release", str(root / "legal" / "x")])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {root / 'legal' / 'x'}: no hold was placed on this path "
        f"(it is covered by the hold on {root / 'legal'})\n"
    )


def test_hold_needs_a_reason(
    catalog: Catalog, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    config = write_config(tmp_path, root, catalog)
    result = runner.invoke(cli, ["--config", str(config), "hold", str(root)])
    assert result.exit_code == 2
    assert "--reason" in result.stderr


def test_hold_on_a_path_that_does_not_exist_is_an_error(
    catalog: Catalog, make_asset: MakeAsset, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    asset = make_asset("legal/a.png")
    config = write_config(tmp_path, root, catalog)
    typo = root / "legall"
    result = runner.invoke(
        cli, ["--config", str(config), "hold", str(root / "legal"), str(typo), "--reason", "m"]
    )
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"error: no such path: {typo}\n"
    assert status_of(catalog, asset.id) == "temporary"


def test_hold_names_a_path_from_the_working_folder_as_the_catalog_keys_it(
    catalog: Catalog,
    make_asset: MakeAsset,
    root: Path,
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asset = make_asset("legal/case/a.png")
    config = write_config(tmp_path, root, catalog)
    monkeypatch.chdir(root / "legal" / "case")
    result = runner.invoke(cli, ["--config", str(config), "hold", "../../legal/.", "--reason", "m"])
    assert (result.exit_code, result.stdout) == (0, f"held {root / 'legal'} (1 assets)\n")
    assert status_of(catalog, asset.id) == "held"
    typo = runner.invoke(cli, ["--config", str(config), "hold", "../cas", "--reason", "m"])
    assert (typo.exit_code, typo.stderr) == (1, f"error: no such path: {root / 'legal' / 'cas'}\n")


def test_hold_refuses_a_link_and_a_path_outside_every_root(
    catalog: Catalog, make_asset: MakeAsset, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    asset = make_asset("legal/a.png")
    config = write_config(tmp_path, root, catalog)
    (root / "latest").symlink_to(root / "legal")
    linked = runner.invoke(
        cli, ["--config", str(config), "hold", str(root / "latest"), "--reason", "m"]
    )
    assert linked.exit_code == 1 and linked.stderr == (
        f"error: {root / 'latest'} is a symbolic link: hold the file or folder it leads to\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    outside = runner.invoke(cli, ["--config", str(config), "hold", str(elsewhere), "--reason", "m"])
    assert outside.exit_code == 1 and outside.stderr == (
        f"error: {elsewhere}: outside every root ({root}): nothing there is swept\n"
    )
    assert status_of(catalog, asset.id) == "temporary"


def test_hold_on_a_quarantined_file_gone_from_its_path_is_allowed(
    catalog: Catalog, make_asset: MakeAsset, root: Path, runner: CliRunner, tmp_path: Path
) -> None:
    asset = make_asset("legal/a.png", status="flagged", flagged_at=T0 + 30 * DAY)
    Path(asset.path).unlink()
    config = write_config(tmp_path, root, catalog)
    result = runner.invoke(cli, ["--config", str(config), "hold", asset.path, "--reason", "m"])
    assert (result.exit_code, result.stdout) == (0, f"held {asset.path} (1 assets)\n")
