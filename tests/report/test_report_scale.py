"""The report reads at any scale: a 2,000-file show prints in a handful of pages.

A real catalog (SQLite) holds 2,000 AI assets of one show (4 episodes x 25 shots x 20
files; the files need not exist for the report), in every open status, some flagged,
quarantined or held. The HTML report is printed to PDF by the real headless Chromium and
its pages are counted; again with a picture of the first files of each folder (real PNG
files, their pictures made in the reader workers).
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from pathlib import Path

from PIL import Image

from provenance.catalog import Asset, Catalog
from provenance.config import RootSettings, Settings
from provenance.files.hashing import hash_file
from provenance.files.thumbnails import MAX_BYTES
from provenance.report.build import build_report
from provenance.report.data import SECTION_SHOWN, Period, Report
from provenance.report.deliver import render
from provenance.report.pictures import add_pictures
from provenance.report.render_html import render_html
from tests.report.sample import AS_OF, GENERATED_AT
from tests.report.test_render_html import _run_chromium

SHOW = "/prod/show_x"
EPISODES, SHOTS, FILES = 4, 25, 20
#: A handful of A4 pages: the groups' lines, never one line per file.
MOST_PAGES = 10


def populate_show(catalog: Catalog, show: str = SHOW, files: bool = False) -> int:
    """Add the show's 2,000 AI assets (``files``: each a real small PNG of its own under
    ``show``); return how many."""
    count = 0
    with catalog.write() as tx:
        for episode in range(EPISODES):
            for shot in range(SHOTS):
                folder = f"{show}/ep{101 + episode}/sh{shot * 10:04d}"
                if files:
                    Path(folder).mkdir(parents=True)
                for number in range(FILES):
                    count += 1
                    path = f"{folder}/comp_v{number:03d}_generated_plate.png"
                    content_hash = f"blake3:{count:064x}"
                    if files:
                        colour = (count % 256, (count // 256) * 30 % 256, 128)
                        Image.new("RGB", (64, 36), colour).save(path, "PNG")
                        content_hash = hash_file(Path(path))
                    kind = count % 10
                    status, deadline = "temporary", AS_OF + timedelta(days=1 + count % 6)
                    if kind == 7:
                        status, deadline = "flagged", AS_OF - timedelta(days=2)
                    elif kind == 8:
                        status, deadline = "quarantined", AS_OF - timedelta(days=12)
                    elif kind == 9:
                        status, deadline = "held", AS_OF + timedelta(days=3)
                    tx.add(
                        Asset(
                            uid=f"00000000-0000-0000-0001-{count:012d}",
                            path=path,
                            root=show,
                            size=40_000_000 + count,
                            mtime_ns=1,
                            inode=count,
                            device=1,
                            content_hash=content_hash,
                            ai_class="ai",
                            generator="ComfyUI",
                            status=status,
                            policy="comp-30d",
                            deadline=deadline,
                            first_seen=AS_OF - timedelta(days=40),
                            last_seen=AS_OF,
                        )
                    )
    return count


def show_settings(tmp_path: Path, show: str = SHOW) -> Settings:
    return Settings(
        state_dir=tmp_path / "state",
        roots=[RootSettings(path=Path(show), name="Show X", owner="Dana Post")],
    )


def show_report(catalog: Catalog, tmp_path: Path) -> Report:
    return build_report(catalog, show_settings(tmp_path), Period(AS_OF, 7), GENERATED_AT)


def pdf_pages(pdf: bytes) -> int:
    """Return the number of pages of a PDF (its page objects)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def test_a_2000_file_show_prints_in_a_handful_of_pages(
    sqlite_catalog: Catalog, tmp_path: Path
) -> None:
    assert populate_show(sqlite_catalog) == 2000
    report = show_report(sqlite_catalog, tmp_path)
    assert sum(section.count for section in report.sections) >= 1800
    # a section names its first files by date, and counts every file in each folder's line
    expiring = report.section("expiring")
    assert (
        len(expiring.items)
        == SECTION_SHOWN
        < expiring.count
        == sum(group.count for group in expiring.groups)
    )
    assert "the first 1000 of" in expiring.note
    # one line per shot folder, one command each; a missing tools registry is one alert
    assert len(expiring.groups) == EPISODES * SHOTS
    assert all(group.command.startswith("provenance clear ") for group in expiring.groups)
    assert [a.kind for a in report.alerts].count("no-tools-registry") == 1
    assert len(report.alerts) <= 12
    pages = print_pages(report, tmp_path)
    assert 1 <= pages <= MOST_PAGES, f"{pages} pages"


def print_pages(report: Report, tmp_path: Path) -> int:
    """Return how many pages the real headless Chromium prints the HTML report on."""
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    # a folder whose files are counted but not all named says so
    assert re.search(r"… and \d+ more files? in this folder", page.read_text(encoding="utf-8"))
    pdf = tmp_path / "report.pdf"
    printed = _run_chromium(
        f"--print-to-pdf={pdf}",
        "--no-pdf-header-footer",
        page.as_uri(),
        profile=tmp_path / "profile",
    )
    assert printed.returncode == 0, printed.stderr[-2000:]
    return pdf_pages(pdf.read_bytes())


def test_the_show_with_pictures_still_prints_in_a_handful_of_pages(
    sqlite_catalog: Catalog, tmp_path: Path
) -> None:
    show = str(tmp_path / "show_x")
    assert populate_show(sqlite_catalog, show, files=True) == 2000
    settings = show_settings(tmp_path, show)
    report = build_report(sqlite_catalog, settings, Period(AS_OF, 7), GENERATED_AT)
    pictured = add_pictures(report, settings)
    # the first files of the first folders, up to [thumbnails] report_max, each a few hundred bytes
    assert len(pictured.thumbnails) == settings.thumbnails.report_max
    page = render_html(pictured)
    embedded = re.findall(r'<img src="data:image/webp;base64,([A-Za-z0-9+/=]+)" alt="', page)
    # each production's line and each of its folders' show their first files' pictures
    assert len(embedded) >= settings.thumbnails.report_max
    assert {base64.b64decode(data) for data in embedded} == set(pictured.thumbnails.values())
    assert all(len(base64.b64decode(data)) <= MAX_BYTES for data in embedded)
    assert len(page) - len(render_html(report)) < 200 * 1024
    assert "src=" not in page.replace('<img src="data:image/webp;base64,', "")
    # the other formats carry no pictures: the same text with them or without
    for fmt in ("json", "csv", "md"):
        assert render(pictured, fmt) == render(report, fmt)
    # [thumbnails] report_max = 0 (or enabled = false): none
    for off in ({"report_max": 0}, {"enabled": False}):
        quiet = settings.model_copy(
            update={"thumbnails": settings.thumbnails.model_copy(update=off)}
        )
        assert "<img " not in render_html(add_pictures(report, quiet))
    pages = print_pages(pictured, tmp_path)
    assert 1 <= pages <= MOST_PAGES, f"{pages} pages"


def test_the_attention_section_names_its_first_files_by_path_and_counts_them_all(
    catalog: Catalog, tmp_path: Path
) -> None:
    # more files from an unapproved tool than a section names
    total = SECTION_SHOWN + 3
    with catalog.write() as tx:
        for count in range(total):
            tx.add(
                Asset(
                    uid=f"00000000-0000-0000-0002-{count:012d}",
                    path=f"{SHOW}/ep{101 + count % 4}/sh{count % 7}/gen_{count:05d}.png",
                    root=SHOW,
                    size=1000,
                    mtime_ns=1,
                    inode=count,
                    device=1,
                    content_hash=f"blake3:{count:064x}",
                    ai_class="ai",
                    generator="Midjourney",
                    tool_status="unapproved",
                    status="temporary",
                    policy="comp-30d",
                    deadline=AS_OF + timedelta(days=30),
                    first_seen=AS_OF - timedelta(days=40),
                    last_seen=AS_OF,
                )
            )
    attention = show_report(catalog, tmp_path).section("attention")
    paths = sorted(f"{SHOW}/ep{101 + n % 4}/sh{n % 7}/gen_{n:05d}.png" for n in range(total))
    assert sorted(item.path for item in attention.items) == paths[:SECTION_SHOWN]
    assert attention.count == total == sum(group.count for group in attention.groups)
    assert f"the first {SECTION_SHOWN} of {total} by path" in attention.note
