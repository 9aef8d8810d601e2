"""The review queue in a real browser (the system's chromium, driven by Playwright; never a
browser download): an approver and a viewer sign in with their OS passwords, a group is
cleared with its references, a refusal is seen, a production is held and released.

Screenshots go to ``$PROVENANCE_TEST_SCREENSHOTS`` when set (to look at), else the test's
own folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.needs import unavailable
from tests.web.site import Site, set_password, unique_password

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable("needs the system's chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PROVENANCE_TEST_SCREENSHOTS") or tmp_path / "screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(browser: Any, site: Site, user: Any, password: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"http://127.0.0.1:{site.port}/")
    assert "/login" in page.url
    page.fill("input[name=username]", user.name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    return page


def _folder(page: Any, name: str) -> Any:
    return page.locator("section.folder", has=page.locator(f"h3:text-is('{name}')"))


def test_an_approver_clears_a_group_sees_a_refusal_holds_and_releases(
    pam_site: Site, browser: Any, shots: Path
) -> None:
    password = unique_password()
    set_password(pam_site.approver, password)
    page = _sign_in(browser, pam_site, pam_site.approver, password)
    assert pam_site.approver.name in page.inner_text("header.top")
    page.screenshot(path=str(shots / "1-queue-approver.png"), full_page=True)

    # the form asks for the escalation its unknown tool needs (NFX-CONF3); sent without
    # it all the same (a form from before the rules changed), the command line's refusal
    shot = _folder(page, "reel_1/shot_020")
    shot.locator("details.clear summary").click()
    escalation = shot.locator("input[name=escalation]")
    assert escalation.get_attribute("required") is not None
    shot.locator("input[name=approval]").fill("LEGAL-1")
    escalation.evaluate("input => input.removeAttribute('required')")
    shot.locator("details.clear button[type=submit]").click()
    assert page.inner_text("h1") == "Failed"
    assert "missing an escalation reference" in page.inner_text("section.message")
    page.screenshot(path=str(shots / "2-refused-clear.png"), full_page=True)
    page.click("text=Back to the queue")

    # the whole folder, with its references
    shot = _folder(page, "reel_1/shot_010")
    shot.locator("details.clear summary").click()
    shot.locator("input[name=approval]").fill("LEGAL-2291")
    shot.locator("input[name=consent]").fill("CONSENT-7, CONSENT-8")
    shot.locator("input[name=escalation]").fill("ESC-12")
    shot.locator("input[name=note]").fill("final grade, reel 1")
    page.screenshot(path=str(shots / "3-clear-form.png"), full_page=True)
    shot.locator("details.clear button[type=submit]").click()
    assert page.inner_text("h1") == "Done: clear"
    assert page.locator("p.line", has_text="cleared ").count() == 4
    page.screenshot(path=str(shots / "4-cleared.png"), full_page=True)
    assert pam_site.status_of(pam_site.root / "reel_1" / "shot_010" / "frame_0003.png") == "cleared"
    page.click("text=Back to the queue")
    assert page.locator("h3:text-is('reel_1/shot_010')").count() == 0

    # no custodian role: an approver gets no hold form; the custodian holds and releases
    assert page.locator("details.hold").count() == 0
    page.context.close()
    set_password(pam_site.custodian, password)
    page = _sign_in(browser, pam_site, pam_site.custodian, password)
    production = page.locator("section.production", has=page.locator("h2", has_text="reel_2"))
    hold = production.locator(
        "details.hold", has=page.locator("summary", has_text="Hold the production")
    )
    hold.locator("summary").click()
    hold.locator("input[name=reason]").fill("MATTER-44")
    hold.locator("button").click()
    assert page.inner_text("h1") == "Done: hold"
    assert "held " in page.inner_text("section.message")
    page.click("text=Back to the queue")
    page.screenshot(path=str(shots / "5-held.png"), full_page=True)
    # the hold is the production's: released there, not on its folder
    assert page.locator("text=Release the hold on the folder").count() == 0
    assert pam_site.status_of(pam_site.root / "reel_2" / "shot_100" / "frame_0000.png") == "held"
    page.click("text=Release the hold on the production")
    assert page.inner_text("h1") == "Done: release"
    assert pam_site.status_of(pam_site.root / "reel_2" / "shot_100" / "frame_0000.png") != "held"
    page.context.close()


def test_a_viewer_sees_no_decision_and_a_forged_form_is_refused(
    pam_site: Site, browser: Any, shots: Path
) -> None:
    password = unique_password()
    set_password(pam_site.viewer, password)
    page = _sign_in(browser, pam_site, pam_site.viewer, password)
    assert page.locator("details.decision").count() == 0
    assert "your roles allow no decision" in page.inner_text("main")
    page.screenshot(path=str(shots / "6-queue-viewer.png"), full_page=True)
    page.locator("table.files a").first.click()
    assert page.locator("section.signals").count() == 1
    assert page.locator("section.act").count() == 0
    page.screenshot(path=str(shots / "7-asset-viewer.png"), full_page=True)

    # a form the viewer builds by hand, with their own session's token, is refused
    folder = str(pam_site.root / "reel_1")
    page.evaluate(
        """([folder]) => {
            const form = document.createElement("form");
            form.method = "post"; form.action = "/act";
            const token = document.querySelector("input[name=csrf]").value;
            for (const [name, value] of [["csrf", token], ["action", "clear"],
                                         ["path", folder], ["approval", "FORGED"]]) {
                const input = document.createElement("input");
                input.type = "hidden"; input.name = name; input.value = value;
                form.appendChild(input);
            }
            document.body.appendChild(form);
            form.submit();
        }""",
        [folder],
    )
    page.wait_for_selector("section.message")
    assert page.inner_text("h1") == "Refused"
    assert "that needs the approver role" in page.inner_text("section.message")
    page.screenshot(path=str(shots / "8-viewer-refused.png"), full_page=True)
    assert pam_site.status_of(pam_site.root / "reel_1" / "shot_010" / "frame_0000.png") != (
        "cleared"
    )
    (refused,) = pam_site.events("refused")
    assert refused["user"] == pam_site.viewer.name
    page.context.close()
