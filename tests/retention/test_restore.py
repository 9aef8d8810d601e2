"""`provenance restore`: a quarantined file goes back; nothing is ever overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from provenance.catalog import Catalog
from provenance.cli import cli
from provenance.config import Settings
from provenance.errors import PurgeError
from provenance.retention.restore import restore
from provenance.retention.sweep import sweep
from tests.retention.helpers import ACTOR, DAY, T0, MakeAsset, reload, write_config


def quarantined(catalog: Catalog, make_asset: MakeAsset, settings: Settings):  # type: ignore[no-untyped-def]
    asset = make_asset("shots/a.png", status="flagged", flagged_at=T0 + 30 * DAY, sidecar=True)
    make_asset("young.png", first_seen=T0 + 500 * DAY)
    sweep(catalog, settings, ACTOR, T0 + 40 * DAY)
    assert reload(catalog, asset.id).status == "quarantined"
    return asset


def test_restore_puts_file_and_sidecar_back_and_flags_again(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings
) -> None:
    asset = quarantined(catalog, make_asset, settings_purge)
    restored = restore(catalog, settings_purge, asset.id, ACTOR, T0 + 41 * DAY)  # type: ignore[arg-type]
    assert (restored.path, restored.changed, restored.dry_run) == (asset.path, False, False)
    back = reload(catalog, asset.id)
    assert (back.status, back.flagged_at, back.quarantine_path, back.present) == (
        "flagged",
        T0 + 41 * DAY,
        None,
        True,
    )
    assert Path(asset.path).read_bytes() == b"bytes of a.png"
    assert Path(asset.path + ".xmp").is_file()
    assert not (root / ".provenance-quarantine" / "shots" / "a.png").exists()
    # a fresh grace period: not quarantined again the next day
    sweep(catalog, settings_purge, ACTOR, T0 + 42 * DAY)
    assert reload(catalog, asset.id).status == "flagged"


def test_restore_never_overwrites_a_file_now_at_the_path(
    catalog: Catalog, make_asset: MakeAsset, root: Path, settings_purge: Settings
) -> None:
    asset = quarantined(catalog, make_asset, settings_purge)
    Path(asset.path).write_bytes(b"a new file by the same name")
    with pytest.raises(PurgeError, match="a file now exists at that path; not overwritten"):
        restore(catalog, settings_purge, asset.id, ACTOR, T0 + 41 * DAY)  # type: ignore[arg-type]
    assert Path(asset.path).read_bytes() == b"a new file by the same name"
    assert reload(catalog, asset.id).status == "quarantined"


def test_restore_command_dry_run_and_errors(
    catalog: Catalog,
    make_asset: MakeAsset,
    root: Path,
    settings_purge: Settings,
    runner: CliRunner,
    tmp_path: Path,
) -> None:
    asset = quarantined(catalog, make_asset, settings_purge)
    config = write_config(tmp_path, root, catalog)
    result = runner.invoke(cli, ["--config", str(config), "restore", asset.path, "--dry-run"])
    assert (result.exit_code, result.stdout) == (
        0,
        f"dry run: would restore {asset.path} (from "
        f"{root / '.provenance-quarantine/shots/a.png'})\n",
    )
    assert reload(catalog, asset.id).status == "quarantined"
    result = runner.invoke(cli, ["--config", str(config), "restore", asset.uid])
    assert (result.exit_code, result.stdout) == (0, f"restored {asset.path}\n")
    result = runner.invoke(cli, ["--config", str(config), "restore", asset.path])
    assert result.exit_code == 1
    assert result.stderr == f"error: {asset.path}: not in quarantine (status flagged)\n"
