"""Who may use the review queue: OS accounts through PAM, or the user a trusted proxy names;
sessions in a signed HttpOnly SameSite=Strict cookie; a token on every form; /metrics."""

from __future__ import annotations

import re
import time

import pytest

from provenance.web.sessions import Sessions, token_matches
from tests.web.conftest import PROXY
from tests.web.site import Site, set_password, unique_password


def test_pam_signs_in_a_real_user_with_their_password_and_roles(pam_site: Site) -> None:
    password = unique_password()
    set_password(pam_site.approver, password)
    client = pam_site.client()
    first = client.get("/")
    assert first.status == 303 and first.location.startswith("/login?next=")
    wrong = client.sign_in(pam_site.approver, "not-the-password")
    assert wrong.status == 401
    assert "not accepted" in wrong.body
    signed = client.sign_in(pam_site.approver, password)
    assert signed.status == 303 and signed.location == "/"
    (cookie,) = signed.cookies
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "max-age"} <= flags
    assert "samesite=strict" in cookie.lower()
    queue = client.get("/")
    assert queue.status == 200
    assert pam_site.approver.name in queue.body
    assert "approver" in queue.body and "Clear the folder" in queue.body


def test_a_user_without_an_account_password_is_refused(pam_site: Site) -> None:
    client = pam_site.client()
    answer = client.sign_in(pam_site.viewer, "")  # no password was ever set
    assert answer.status == 401
    assert client.get("/").status == 303


def test_signing_out_ends_the_session_for_good(pam_site: Site) -> None:
    password = unique_password()
    set_password(pam_site.viewer, password)
    client = pam_site.client()
    client.sign_in(pam_site.viewer, password)
    kept = client.cookie
    page = client.get("/")
    assert page.status == 200
    out = client.post("/logout", {"csrf": page.csrf()})
    assert out.status == 303
    replay = pam_site.client()
    replay.cookie = kept  # the old cookie, still validly signed
    assert replay.get("/").status == 303


def test_a_form_without_its_sessions_token_is_refused(pam_site: Site) -> None:
    password = unique_password()
    set_password(pam_site.approver, password)
    client = pam_site.client()
    client.sign_in(pam_site.approver, password)
    folder = str(pam_site.root / "reel_1" / "shot_010")
    fields = {"action": "hold", "path": folder, "reason": "matter 7"}
    assert client.post("/act", fields).status == 403
    assert client.post("/act", {**fields, "csrf": "forged"}).status == 403
    token = client.get("/").csrf()
    foreign = client.post("/act", {**fields, "csrf": token}, Origin="http://evil.example")
    assert foreign.status == 403
    assert pam_site.status_of(pam_site.root / "reel_1" / "shot_010" / "frame_0000.png") != "held"


def test_the_login_form_needs_its_token_too(pam_site: Site) -> None:
    password = unique_password()
    set_password(pam_site.viewer, password)
    client = pam_site.client()
    answer = client.post("/login", {"username": pam_site.viewer.name, "password": password})
    assert answer.status == 403


def test_the_proxy_header_names_the_user(header_site: Site) -> None:
    client = header_site.client(PROXY)
    answer = client.get("/", **{"X-Remote-User": header_site.viewer.name})
    assert answer.status == 200
    assert header_site.viewer.name in answer.body
    assert "viewer" in answer.body
    assert '<form method="post" action="/act"' not in answer.body  # no decision for a viewer


def test_the_header_from_an_address_that_is_not_a_proxy_is_refused(header_site: Site) -> None:
    client = header_site.client("127.0.0.1")
    answer = client.get("/", **{"X-Remote-User": header_site.approver.name})
    assert answer.status == 403
    assert "only from the configured proxies" in answer.body
    assert header_site.approver.name not in answer.body


def test_the_header_on_a_pam_site_is_refused(pam_site: Site) -> None:
    answer = pam_site.client(PROXY).get("/", **{"X-Remote-User": pam_site.approver.name})
    assert answer.status == 403


def test_without_the_header_behind_a_proxy_nobody_is_signed_in(header_site: Site) -> None:
    assert header_site.client(PROXY).get("/").status == 401
    assert header_site.client("127.0.0.1").get("/").status == 401


def test_a_name_that_is_no_account_is_refused(header_site: Site) -> None:
    answer = header_site.client(PROXY).get("/", **{"X-Remote-User": "nobody-such-user"})
    assert answer.status == 403
    assert "not an account on this server" in answer.body


def test_metrics_answer_a_local_scrape_without_a_login(header_site: Site) -> None:
    answer = header_site.client("127.0.0.1").get("/metrics")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert re.search(r"^provenance_root_watched\{root=\".*show_a\"\} 1\.0$", answer.body, re.M)


def test_metrics_through_the_proxy_need_a_viewer(header_site: Site) -> None:
    client = header_site.client(PROXY)
    assert client.get("/metrics").status == 401
    outsider = header_site.accounts.user()
    assert client.get("/metrics", **{"X-Remote-User": outsider.name}).status == 403
    viewer = client.get("/metrics", **{"X-Remote-User": header_site.viewer.name})
    assert viewer.status == 200 and "provenance_files_ingested" in viewer.body


def test_every_answer_forbids_scripts_and_frames(header_site: Site) -> None:
    answer = header_site.client(PROXY).get("/", **{"X-Remote-User": header_site.viewer.name})
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_session_ends_at_its_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = Sessions(lifetime=60)
    session = sessions.new("ana")
    assert sessions.get(session.id) == session
    later = time.monotonic() + 61
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert sessions.get(session.id) is None
    assert not token_matches(None, session.csrf)
    assert not token_matches(session, "")


def test_a_form_through_the_proxy_may_name_the_host_the_browser_asked_for(
    header_site: Site,
) -> None:
    client = header_site.client(PROXY)
    client.headers["X-Remote-User"] = header_site.custodian.name
    token = client.get("/").csrf()
    folder = str(header_site.root / "reel_1" / "shot_010")
    fields = {"csrf": token, "action": "hold", "path": folder, "reason": "M-1"}
    held = client.post(
        "/act", fields, Origin="https://review.example", **{"X-Forwarded-Host": "review.example"}
    )
    assert held.status == 200, held.body
    # another site's page is another site's, whatever host the proxy names
    refused = client.post(
        "/act", fields, Origin="https://evil.example", **{"X-Forwarded-Host": "review.example"}
    )
    assert refused.status == 403


def test_a_forwarded_host_from_an_address_that_is_not_a_proxy_counts_for_nothing(
    pam_site: Site,
) -> None:
    password = unique_password()
    set_password(pam_site.custodian, password)
    client = pam_site.client()
    client.sign_in(pam_site.custodian, password)
    token = client.get("/").csrf()
    folder = str(pam_site.root / "reel_1" / "shot_010")
    fields = {"csrf": token, "action": "hold", "path": folder, "reason": "M-1"}
    refused = client.post(
        "/act", fields, Origin="https://review.example", **{"X-Forwarded-Host": "review.example"}
    )
    assert refused.status == 403
