"""``service.assets`` called directly, on a real catalog of each backend: show, list, log,
uncleared."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from provenance.access.roles import Role
from provenance.errors import NotInCatalogError, PermissionDeniedError
from provenance.files.thumbnails import MAX_BYTES
from provenance.service import assets
from provenance.service.context import App
from tests.retention.helpers import MakeAsset
from tests.service.conftest import caller

VIEWER = caller(Role.VIEWER)


def test_show_returns_the_record_by_path_or_by_id(app: App, make_asset: MakeAsset) -> None:
    poster = make_asset("finals/poster.png")
    record = assets.show(app, VIEWER, poster.path)
    assert (record["path"], record["uid"], record["status"]) == (
        poster.path,
        poster.uid,
        "temporary",
    )
    assert [e["action"] for e in record["events"]] == ["indexed"]
    assert record["clearance"]["risk"]  # an AI asset: what its clearance needs
    assert assets.show(app, VIEWER, poster.uid) == record


def test_show_names_a_path_the_catalog_does_not_know(app: App, root: Path) -> None:
    with pytest.raises(NotInCatalogError, match="not in the catalog"):
        assets.show(app, VIEWER, str(root / "nothing.png"))


def test_each_reading_action_needs_the_viewer_role(app: App, make_asset: MakeAsset) -> None:
    poster = make_asset("poster.png")
    nobody = caller()
    for action, call in {
        "show": lambda: assets.show(app, nobody, poster.path),
        "list": lambda: assets.list_assets(app, nobody),
        "log": lambda: assets.log(app, nobody),
        "uncleared": lambda: assets.uncleared(app, nobody),
    }.items():
        with pytest.raises(PermissionDeniedError, match=f"may not {action}: that needs the viewer"):
            call()


def test_list_streams_the_assets_by_path_with_its_filters(
    app: App, root: Path, make_asset: MakeAsset
) -> None:
    make_asset("b/two.png", status="flagged")
    make_asset("a/one.png")
    make_asset("c/plain.png", ai_class="none")
    listed = assets.list_assets(app, VIEWER)
    assert [Path(a.path).name for a in listed] == ["one.png", "two.png", "plain.png"]
    flagged = assets.list_assets(app, VIEWER, statuses=["flagged"])
    assert [Path(a.path).name for a in flagged] == ["two.png"]
    under = assets.list_assets(app, VIEWER, ai_only=True, under=str(root / "a"))
    assert [Path(a.path).name for a in under] == ["one.png"]


def test_log_and_uncleared(app: App, make_asset: MakeAsset) -> None:
    poster = make_asset("poster.png")
    (event,) = assets.log(app, VIEWER, poster.path)
    assert (event["action"], event["user"]) == ("indexed", "tester")
    assert [e["action"] for e in assets.log(app, VIEWER, limit=5)] == ["indexed"]
    (row,) = assets.uncleared(app, VIEWER)
    assert (row.path, row.status, row.generator) == (poster.path, "temporary", "ComfyUI")
    assert row.risk and row.rules


def test_thumbnail_is_a_small_picture_for_a_viewer(app: App, make_asset: MakeAsset) -> None:
    out = io.BytesIO()
    Image.new("RGB", (1920, 1080), "orange").save(out, "JPEG")
    plate = make_asset("shots/plate.jpg", content=out.getvalue())
    plain = make_asset("shots/notes.jpg", content=out.getvalue() + b"x", ai_class="none")
    try:
        data = assets.thumbnail(app, VIEWER, plate.id)
        assert data is not None and len(data) <= MAX_BYTES
        with Image.open(io.BytesIO(data)) as picture:
            assert (picture.format, picture.size) == ("WEBP", (128, 72))
        assert assets.THUMBNAIL_TYPE == "image/webp"
        assert assets.thumbnail(app, VIEWER, plain.id) is None  # not AI: none
        with pytest.raises(PermissionDeniedError, match="may not show"):
            assets.thumbnail(app, caller(), plate.id)
        with pytest.raises(NotInCatalogError):
            assets.thumbnail(app, VIEWER, 999_999)
        Path(plate.path).unlink()  # kept by content hash: still there, no file read
        assert assets.thumbnail(app, VIEWER, plate.id) == data
    finally:
        app.thumbnailer.close()
