"""The queue grouped as the report groups it, a page at a time, and each asset's record,
with every value escaped (file names are whatever an artist typed)."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import quote, urlencode

from provenance.catalog import utcnow
from tests.web.conftest import PROXY
from tests.web.site import EVIL_NAME, Client, Site


def _as(site: Site, user: str) -> Client:
    client = site.client(PROXY)
    client.headers["X-Remote-User"] = user
    return client


def test_the_queue_groups_by_root_production_and_folder_with_counts(header_site: Site) -> None:
    body = _as(header_site, header_site.viewer.name).get("/").body
    productions = re.findall(r'<span class="root">show_a</span> / (reel_\d)', body)
    assert productions == ["reel_1", "reel_2"]
    folders = re.findall(r"<h3>([^<]+)</h3>", body)
    assert folders == ["reel_1/shot_010", "reel_1/shot_020", "reel_2/shot_100"]
    counts = re.findall(r'<span class="count">(\d+) uncleared', body)
    assert counts == ["8", "4", "4", "5", "5"]  # reel_1, its shots, reel_2, its shot
    assert "owner Dana &lt;dana@example.com&gt;" in body
    assert "nearest deadline" in body


def test_the_queue_pages_after_the_last_path(header_site: Site) -> None:
    client = _as(header_site, header_site.viewer.name)
    # a page of ten: the first holds ten files, the next the other three
    first = client.get("/?after=")
    assert len(first.uids()) == 10
    listed = set(first.uids())
    link = re.search(r'href="(/\?after=[^"]+)" rel="next"', first.body)
    assert link is not None
    second = client.get(html.unescape(link.group(1)))
    assert len(second.uids()) == 3 and not listed & set(second.uids())
    assert 'rel="next"' not in second.body
    # a folder cut by the page still counts all its files
    assert "5 uncleared (2 on this page)" in first.body


def test_a_hostile_file_name_is_shown_as_text(header_site: Site) -> None:
    client = _as(header_site, header_site.approver.name)
    queue = client.get(f"/?under={quote(str(header_site.root / 'reel_2'))}")
    assert "<script>" not in queue.body and "<img" not in queue.body
    assert f">{EVIL_NAME}</a>" in html.unescape(queue.body)
    uid = queue.uids()[0]
    detail = client.get(f"/asset/{uid}")
    assert detail.status == 200
    assert "<script>" not in detail.body and "<img src=x" not in detail.body
    path = str(header_site.root / "reel_2" / "shot_100" / EVIL_NAME)
    assert f'<h1 class="path">{path}</h1>' in html.unescape(detail.body)


def test_the_detail_shows_signals_rules_missing_evidence_and_history(header_site: Site) -> None:
    client = _as(header_site, header_site.viewer.name)
    uid = client.get("/").uids()[0]
    body = client.get(f"/asset/{uid}").body
    assert "parameters-text" in body or "parameters" in body
    assert "Rules fired" in body and "Evidence still missing" in body
    assert "NFX-" in body
    assert re.search(r"<td>indexed</td>|<td>new</td>|<td>detected</td>", body)
    assert "Decide" not in body  # a viewer decides nothing


def test_an_asset_that_does_not_exist_is_not_found(header_site: Site) -> None:
    client = _as(header_site, header_site.viewer.name)
    assert client.get("/asset/00000000-0000-0000-0000-000000000000").status == 404
    assert client.get("/asset/../../etc/passwd").status == 404


def test_the_detail_shows_a_picture_of_the_content(header_site: Site) -> None:
    client = _as(header_site, header_site.viewer.name)
    uid = client.get("/").uids()[-1]
    body = client.get(f"/asset/{uid}").body
    assert f'<img class="picture" src="/picture/{uid}"' in body
    picture = client.get(f"/picture/{uid}")
    assert picture.status == 200 and picture.headers["content-type"] == "image/webp"
    assert client.get("/picture/00000000-0000-0000-0000-000000000000").status == 404
    assert header_site.client(PROXY).get(f"/picture/{uid}").status == 401  # nobody signed in


def test_the_queue_says_how_many_wait_in_all_how_many_are_overdue_and_held(
    header_site: Site,
) -> None:
    site = header_site
    client = _as(site, site.viewer.name)

    def text(target: str) -> str:
        return re.sub(r"<[^>]+>", "", client.get(target).body)

    # 13 on two pages of ten: the total is the queue's, not the page's
    assert "13 uncleared AI assets in all: 0 overdue, 0 held." in text("/")
    late = site.root / "reel_1" / "shot_010" / "frame_0000.png"
    with site.catalog.write() as tx:
        asset = tx.asset_by_path(str(late))
        assert asset is not None
        asset.deadline = utcnow() - timedelta(days=2)
    custodian = _as(site, site.custodian.name)
    token = custodian.get("/").csrf()
    folder = site.root / "reel_2" / "shot_100"
    held = custodian.post(
        "/act", {"csrf": token, "action": "hold", "path": str(folder), "reason": "M-1"}
    )
    assert held.status == 200, held.body
    assert "13 uncleared AI assets in all: 1 overdue, 5 held." in text("/")
    under = text("/?" + urlencode({"under": str(site.root / "reel_1")}))
    assert "8 uncleared AI assets under this folder: 1 overdue, 0 held." in under
    # counted on the first page only: the pages after it read a page's rows and no more
    assert "in all" not in text("/?" + urlencode({"after": str(late)}))
