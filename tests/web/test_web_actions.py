"""Decisions through the web: the service's own functions as the signed-in user, with the
command line's refusals (a forged form from a viewer is refused and recorded)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.web.conftest import PROXY
from tests.web.site import Client, Site, set_password, unique_password


def _as(site: Site, user: str) -> tuple[Client, str]:
    client = site.client(PROXY)
    client.headers["X-Remote-User"] = user
    return client, client.get("/").csrf()


def test_an_approver_clears_a_folder_with_its_references(header_site: Site) -> None:
    client, token = _as(header_site, header_site.approver.name)
    folder = header_site.root / "reel_1" / "shot_010"
    answer = client.post(
        "/act",
        [
            ("csrf", token),
            ("action", "clear"),
            ("path", str(folder)),
            ("approval", "LEGAL-7"),
            ("consent", "CONS-1, CONS-2"),
            ("escalation", "ESC-3"),
            ("note", "final grade"),
        ],
    )
    assert answer.status == 200, answer.body
    assert answer.body.count("cleared ") == 4
    assert header_site.status_of(folder / "frame_0000.png") == "cleared"
    cleared = header_site.events("cleared")
    assert {event["user"] for event in cleared} == {header_site.approver.name}
    # the folder left the queue
    assert "reel_1/shot_010" not in client.get("/").body


def test_a_clearance_without_its_approval_is_refused_as_the_command_line_refuses(
    header_site: Site,
) -> None:
    client, token = _as(header_site, header_site.approver.name)
    path = header_site.root / "reel_1" / "shot_020" / "frame_0001.png"
    answer = client.post("/act", {"csrf": token, "action": "clear", "path": str(path)})
    assert answer.status == 400
    assert "approval" in answer.body
    # a folder's refusal names each file on a line of its own, as the command line does
    folder = client.post(
        "/act",
        {"csrf": token, "action": "clear", "path": str(path.parent), "approval": "A"},
    )
    assert folder.status == 400
    assert folder.body.count('<p class="line">') == 4
    assert header_site.status_of(path) != "cleared"


def test_a_forged_clear_from_a_viewer_is_refused_and_recorded(pam_site: Site) -> None:
    # signed in through PAM: the viewer's page holds their token (the sign-out form), so
    # the forged form carries a valid one, and only the role refuses it
    password = unique_password()
    set_password(pam_site.viewer, password)
    client = pam_site.client()
    client.sign_in(pam_site.viewer, password)
    token = client.get("/").csrf()
    header_site = pam_site
    folder = header_site.root / "reel_2"
    answer = client.post(
        "/act", {"csrf": token, "action": "clear", "path": str(folder), "approval": "X"}
    )
    assert answer.status == 403
    assert f"user {header_site.viewer.name!r} may not clear: that needs the approver role" in (
        answer.body.replace("&#39;", "'")
    )
    assert header_site.status_of(folder / "shot_100" / "frame_0000.png") != "cleared"
    (refused,) = header_site.events("refused")
    assert refused["user"] == header_site.viewer.name
    assert refused["after"]["verb"] == "clear" and refused["after"]["via"] == "web"  # type: ignore[index]


def test_a_custodian_holds_and_releases_a_production(header_site: Site) -> None:
    client, token = _as(header_site, header_site.custodian.name)
    production = header_site.root / "reel_1"
    held = client.post(
        "/act", {"csrf": token, "action": "hold", "path": str(production), "reason": "M-12"}
    )
    assert held.status == 200, held.body
    assert f"held {production} (8 assets)" in held.body
    assert header_site.status_of(production / "shot_020" / "frame_0003.png") == "held"
    queue = client.get("/")
    assert "Release the hold on the production" in queue.body
    released = client.post("/act", {"csrf": token, "action": "release", "path": str(production)})
    assert released.status == 200 and f"released {production}" in released.body
    # a custodian clears nothing
    refused = client.post(
        "/act", {"csrf": token, "action": "clear", "path": str(production), "approval": "A"}
    )
    assert refused.status == 403


def test_declaring_facts_and_revoking(header_site: Site) -> None:
    client, token = _as(header_site, header_site.approver.name)
    path = header_site.root / "reel_2" / "shot_100" / "frame_0002.png"
    tagged = client.post(
        "/act",
        [
            ("csrf", token),
            ("action", "tag"),
            ("path", str(path)),
            ("use", "previs"),
            ("copyrighted_ref", "on"),
        ],
    )
    assert tagged.status == 200, tagged.body
    assert f"tagged {path}" in tagged.body
    with header_site.catalog.read() as tx:
        asset = tx.asset_by_path(str(path))
        assert asset is not None and asset.facts is not None
        assert asset.facts.get("intended_use") == "previs" and asset.facts.get("copyrighted_ref")
    cleared = client.post(
        "/act",
        {
            "csrf": token,
            "action": "clear",
            "path": str(path),
            "approval": "A-1",
            "escalation": "E-1",  # the tool is in no registry (NFX-CONF3), the ref (NFX-CO2)
        },
    )
    assert header_site.status_of(path) == "cleared", cleared.body
    revoked = client.post(
        "/act", {"csrf": token, "action": "revoke", "path": str(path), "reason": "withdrawn"}
    )
    assert revoked.status == 200 and f"revoked {path} (A-1)" in revoked.body
    assert header_site.status_of(path) == "temporary"


def test_a_form_naming_no_decision_or_a_relative_path_is_refused(header_site: Site) -> None:
    client, token = _as(header_site, header_site.approver.name)
    assert client.post("/act", {"csrf": token, "action": "purge", "path": "/x"}).status == 400
    assert client.post("/act", {"csrf": token, "action": "hold", "path": "x"}).status == 400


def test_refusals_in_a_loop_are_one_event_and_a_count(pam_site: Site) -> None:
    """A user looping a refused form cannot fill the audit trail: the first refusal is an
    event of its own, the ones after it in the interval one count (as over the socket)."""
    password = unique_password()
    set_password(pam_site.viewer, password)
    client = pam_site.client()
    client.sign_in(pam_site.viewer, password)
    token = client.get("/").csrf()  # the sign-out form's: a viewer is offered no decision
    folder = pam_site.root / "reel_2"
    for _ in range(5):
        answer = client.post(
            "/act", {"csrf": token, "action": "clear", "path": str(folder), "approval": "X"}
        )
        assert answer.status == 403
    (refused,) = pam_site.events("refused")
    assert refused["user"] == pam_site.viewer.name
    pam_site.server.stop()  # the interval's count is written when the service stops
    (counted,) = pam_site.events("refusals counted")
    assert counted["user"] == pam_site.viewer.name
    assert counted["after"]["count"] == 4  # type: ignore[index]


def test_facts_are_declared_for_a_whole_folder_with_the_command_lines_roles(
    header_site: Site,
) -> None:
    site = header_site
    folder = site.root / "reel_1" / "shot_010"
    frames = [folder / f"frame_{index:04d}.png" for index in range(4)]

    def facts(path: Path) -> dict[str, object]:
        with site.catalog.read() as tx:
            asset = tx.asset_by_path(str(path))
            assert asset is not None
            return dict(asset.facts or {})

    # a tagger declares a fact that asks more of a clearance, for the folder at once
    tagger, token = _as(site, site.tagger.name)
    assert "Declare facts for the folder" in tagger.get("/").body
    flagged = tagger.post(
        "/act",
        [("csrf", token), ("action", "tag"), ("path", str(folder)), ("copyrighted_ref", "on")],
    )
    assert flagged.status == 200, flagged.body
    assert flagged.body.count("tagged ") == 4
    assert all(facts(frame).get("copyrighted_ref") for frame in frames)
    # an intended use that lowers what clearing needs is an approver's, as for `tag`:
    # refused, recorded, and no file of the folder changed
    lowered = tagger.post(
        "/act", {"csrf": token, "action": "tag", "path": str(folder), "use": "previs"}
    )
    assert lowered.status == 403
    assert "approver" in lowered.body
    assert not any(facts(frame).get("intended_use") for frame in frames)
    (refused,) = site.events("refused")
    assert refused["user"] == site.tagger.name and refused["after"]["verb"] == "tag"  # type: ignore[index]
    # a custodian declares nothing, and is offered no form for it
    custodian, token = _as(site, site.custodian.name)
    assert "Declare facts" not in custodian.get("/").body
    assert (
        custodian.post(
            "/act", {"csrf": token, "action": "tag", "path": str(folder), "use": "final"}
        ).status
        == 403
    )
    # the approver may: the whole production at once
    approver, token = _as(site, site.approver.name)
    production = site.root / "reel_1"
    used = approver.post(
        "/act", {"csrf": token, "action": "tag", "path": str(production), "use": "previs"}
    )
    assert used.status == 200, used.body
    assert used.body.count("tagged ") == 8
    assert facts(site.root / "reel_1" / "shot_020" / "frame_0003.png")["intended_use"] == "previs"
    assert facts(frames[0]) == {"copyrighted_ref": True, "intended_use": "previs"}
    # a folder with no AI asset under it is refused in one line
    empty = site.root / "reel_1" / "empty"
    empty.mkdir()
    nothing = approver.post(
        "/act", {"csrf": token, "action": "tag", "path": str(empty), "use": "final"}
    )
    assert nothing.status == 400 and "no AI assets under this folder" in nothing.body


def _clear_form(body: str, path: Path) -> str | None:
    """Return the clear form of the queue or detail page whose paths are ``path``."""
    for form in body.split('<details class="decision clear">')[1:]:
        form = form.split("</details>", 1)[0]
        if f'name="path" value="{path}"' in form:
            return form
    return None


def test_the_clear_forms_ask_for_every_reference_the_rules_ask_for(header_site: Site) -> None:
    site = header_site
    client, token = _as(site, site.approver.name)
    talent = site.root / "reel_1" / "shot_020" / "frame_0001.png"
    reused = site.root / "reel_2" / "shot_100" / "frame_0000.png"
    for path, fact in (
        (talent, ("talent", "Ada Lane, Bo Kim")),
        (reused, ("other_project_model", "on")),
    ):
        tagged = client.post(
            "/act", [("csrf", token), ("action", "tag"), ("path", str(path)), fact]
        )
        assert tagged.status == 200, tagged.body
    reel_1 = client.get(f"/?under={site.root / 'reel_1'}").body
    # no tools registry: every tool is unknown, so every clear needs an escalation (NFX-CONF3)
    for folder in (site.root / "reel_1", talent.parent):
        form = _clear_form(reel_1, folder)
        assert form is not None, folder
        assert re.search(r'name="consent" required placeholder="2 \(one per performer\)', form)
        assert re.search(r'name="escalation" required', form)
    plain = _clear_form(reel_1, site.root / "reel_1" / "shot_010")
    assert plain is not None and 'name="escalation" required' in plain
    assert 'name="consent" required' not in plain
    # a reused talent model is blocked: no form offers to clear it or a folder above it
    reel_2 = client.get(f"/?under={site.root / 'reel_2'}").body
    assert _clear_form(reel_2, reused.parent) is None
    assert _clear_form(reel_2, site.root / "reel_2") is None
    assert "the rules block a file under it" in reel_2
    # each file's own page says the same
    with site.catalog.read() as tx:
        uids = {path: tx.asset_by_path(str(path)).uid for path in (talent, reused)}  # type: ignore[union-attr]
    detail = client.get(f"/asset/{uids[talent]}").body
    form = _clear_form(detail, talent)
    assert form is not None and 'name="consent" required' in form
    assert _clear_form(client.get(f"/asset/{uids[reused]}").body, reused) is None
    # the form filled in as it asks passes; without the consents it is refused
    refused = client.post(
        "/act",
        {
            "csrf": token,
            "action": "clear",
            "path": str(talent.parent),
            "approval": "A-1",
            "escalation": "E-1",
        },
    )
    assert refused.status == 400 and "consent" in refused.body
    cleared = client.post(
        "/act",
        {
            "csrf": token,
            "action": "clear",
            "path": str(talent.parent),
            "approval": "A-1",
            "consent": "C-1, C-2",
            "escalation": "E-1",
        },
    )
    assert cleared.status == 200, cleared.body
    assert site.status_of(talent) == "cleared"
