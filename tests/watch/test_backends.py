"""The daemon on both catalog backends (PostgreSQL when PROVENANCE_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

from pathlib import Path

from provenance.catalog import Catalog
from provenance.config import CatalogSettings, RootSettings
from tests.media import write_a1111_png, write_plain_png
from tests.watch.conftest import Start


def test_create_rename_folder_rename_and_delete(
    tmp_path: Path, catalog: Catalog, start_daemon: Start
) -> None:
    root = tmp_path / "production"
    root.mkdir()
    daemon = start_daemon(
        RootSettings(path=root), catalog_settings=CatalogSettings(url=catalog.url)
    )
    castle = daemon.wait_asset(write_a1111_png(root / "seq" / "castle.png"))
    plate = daemon.wait_asset(write_plain_png(root / "plate.png"))
    (root / "seq" / "castle.png").rename(root / "seq" / "castle_v2.png")
    assert daemon.wait_asset(root / "seq" / "castle_v2.png").id == castle.id
    (root / "seq").rename(root / "sequence")
    assert daemon.wait_asset(root / "sequence" / "castle_v2.png").id == castle.id
    (root / "plate.png").unlink()
    assert daemon.wait_asset(root / "plate.png", present=False).id == plate.id
    assert daemon.actions(root / "sequence" / "castle_v2.png") == ["indexed", "moved", "moved"]
