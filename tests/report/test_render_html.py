"""The HTML report: escaping, no outside resources, and a real browser's view (its golden
file is checked with the other formats', in test_formats)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from provenance.report.data import Report
from provenance.report.render_html import render_html
from tests.needs import unavailable
from tests.report.sample import SCRIPT_NAME, SECRET_PROMPT

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium refuses its sandbox
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def test_html_escapes_every_value_from_a_file(sqlite_report: Report) -> None:
    page = render_html(sqlite_report)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; co" in page
    assert "<b>Evil" not in page
    assert "Lee &lt;lee@example.com&gt;" in page
    assert SECRET_PROMPT not in page


def test_html_needs_nothing_from_outside(sqlite_report: Report) -> None:
    page = render_html(sqlite_report).lower()
    assert "http" not in page
    assert "src=" not in page
    assert "@import" not in page
    assert "url(" not in page
    assert "<link" not in page
    assert "<style>" in page and "@media print" in page


def test_html_has_the_main_table_and_both_charts(sqlite_report: Report) -> None:
    page = render_html(sqlite_report)
    assert '<div class="groups" id="groups-expiring">' in page
    assert page.count("<svg ") == 2
    assert 'id="chart-expiries"' in page and 'id="chart-status"' in page


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        unavailable("chromium is not installed (apt-get install chromium); .ci/run installs it")
    return found


def _run_chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    command = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


def test_html_renders_in_a_real_browser(sqlite_report: Report, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(sqlite_report), encoding="utf-8")
    shot = tmp_path / "report.png"
    taken = _run_chromium(
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        page.as_uri(),
        profile=tmp_path / "profile",
    )
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.stat().st_size > 20_000  # a blank page is a few kilobytes
    dumped = _run_chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    main = re.search(r'<div class="groups" id="groups-expiring">(.*?)</section>', dom, re.S)
    assert main is not None, "the expiring groups are missing from the rendered page"
    # two productions and three folders, one line and one command each, files folded
    assert main.group(1).count('<details class="production">') == 2
    assert main.group(1).count('<details class="group">') == 3
    assert main.group(1).count("<code>provenance clear ") == 5
    assert "castle 01.png" in main.group(1)
    assert '<svg id="chart-expiries"' in dom and '<svg id="chart-status"' in dom
    assert dom.count("<rect ") >= 7 + 3
    # the steps that wait, the files that could not be read and the audit head are shown
    waiting = re.search(r'<div class="groups" id="groups-waiting">(.*?)</section>', dom, re.S)
    assert waiting is not None and "late.png" in waiting.group(1)
    unreadable = re.search(r'<div class="groups" id="groups-unreadable">(.*?)</section>', dom, re.S)
    assert unreadable is not None and unreadable.group(1).count('<details class="group">') == 2
    assert "&lt;stuck&gt;.exr" in unreadable.group(1)
    audit = sqlite_report.audit
    assert audit is not None and audit.head in dom and f"{audit.events} events" in dom
    # the hostile file name is text in the DOM, not an element
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "<script" not in dom.lower()
    assert SCRIPT_NAME not in dom
