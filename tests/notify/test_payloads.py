"""The shapes a webhook is sent: the project's JSON (its schema), Slack's and Teams'; file
names stay text; the [notify] settings are checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from provenance.config import check_config, settings_from_mapping
from provenance.errors import ConfigError
from provenance.notify.payloads import DigestNotice, DigestRoot, EventNotice, body
from provenance.notify.send import signature, verify

SCHEMA = Path(__file__).resolve().parents[2] / "schema" / "notification.schema.json"
AT = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
HOSTILE = "/mnt/show_a/<@channel> *bold* [x](http://evil) & `tick`.png"

EVENT = EventNotice(
    event_id=42,
    event="flagged",
    at=AT,
    path=HOSTILE,
    asset_id=7,
    reason="past its deadline (policy purge30)",
    user="svc",
    host="edit01",
    status_before="expiring",
    status_after="flagged",
    root="show_a",
    owner="Dana",
)
DIGEST = DigestNotice(
    as_of=AT,
    owner="Dana",
    scope="all roots",
    roots=[DigestRoot("show_a", "/mnt/show_a", "Dana", {"flagged": 3, "temporary": 10})],
    files=["/var/lib/provenance/reports/provenance-report-2026-12-04.html"],
)


@pytest.mark.parametrize("notice", [EVENT, DIGEST], ids=["event", "digest"])
def test_generic_body_follows_the_schema(notice: EventNotice | DigestNotice) -> None:
    data = json.loads(body("generic", notice))
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    assert data["id"] == notice.id


def test_generic_event_and_digest_fields() -> None:
    event = json.loads(body("generic", EVENT))
    assert event["id"] == "event-42" and event["path"] == HOSTILE
    assert event["status"] == {"from": "expiring", "to": "flagged"}
    digest = json.loads(body("generic", DIGEST))
    assert digest["id"] == "digest-2026-12-04-Dana"
    assert digest["totals"] == {"flagged": 3, "temporary": 10}
    assert digest["files"] == list(DIGEST.files)


def test_slack_shape_and_escaping() -> None:
    data = json.loads(body("slack", EVENT))
    assert isinstance(data["text"], str) and data["text"]
    kinds = [block["type"] for block in data["blocks"]]
    assert kinds == ["header", "section", "context"]
    section = data["blocks"][1]["text"]
    assert section["type"] == "mrkdwn"
    text = section["text"]
    assert "<@channel>" not in text and "&lt;@channel&gt;" in text  # no mention, no link
    assert "<http" not in data["text"]
    assert "event-42" in json.dumps(data["blocks"][2])


def test_teams_shape_and_escaping() -> None:
    data = json.loads(body("teams", EVENT))
    assert data["type"] == "message"
    (attachment,) = data["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"]
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["path"].replace("\\", "") == HOSTILE
    assert "[x](http" not in facts["path"] and "\\*bold\\*" in facts["path"]


def test_digest_in_chat_shapes_names_counts_and_the_report_file() -> None:
    for kind in ("slack", "teams"):
        text = body(kind, DIGEST).decode()
        assert "flagged 3" in text and "provenance-report-2026-12-04" in text


def test_signature_is_hmac_of_timestamp_and_body() -> None:
    data = body("generic", EVENT)
    header = signature(b"k", "1764840600", data)
    assert header.startswith("v1=") and len(header) == 3 + 64
    assert verify(b"k", "1764840600", data, header, now=1764840600 + 10)
    assert not verify(b"k", "1764840600", data + b" ", header, now=1764840600)
    assert not verify(b"k", "1764840601", data, header, now=1764840600)


def test_notify_settings_are_checked(tmp_path: Path) -> None:
    good = {"name": "a", "url": "https://hooks.example.com/x"}
    settings = settings_from_mapping({"notify": {"webhooks": [good]}})
    assert settings.notify.enabled is False
    assert settings.notify.webhooks[0].events == [
        "expiring",
        "flagged",
        "quarantined",
        "clearance-voided",
    ]
    bad = [
        {"name": "a", "url": "file:///etc/passwd"},
        {"name": "b", "url": "https://x", "kind": "discord"},
        {"name": "c", "url": "https://x", "events": ["flaged"]},
        {"name": "d", "url": "https://x", "roots": ["no_such_root"]},
        {"name": "has space", "url": "https://x"},
        {"name": "e", "url": "https://x/a b"},
    ]
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({"notify": {"webhooks": bad, "interval": "soon"}})
    text = str(info.value)
    for expected in (
        "notify.webhooks.0.url: must be an http:// or https:// URL",
        "notify.webhooks.1.kind",
        "notify.webhooks.2.events: unknown event 'flaged'",
        "notify.webhooks.4.name: use letters, digits",
        "notify.webhooks.5.url: must not hold spaces",
        "notify.interval: not a duration",
    ):
        assert expected in text
    with pytest.raises(ConfigError, match=r"webhooks\.name must be unique"):
        settings_from_mapping({"notify": {"webhooks": [good, good]}})
    with pytest.raises(ConfigError, match=r"notify.webhooks.0.roots: no root named 'nope'"):
        settings_from_mapping({"notify": {"webhooks": [{**good, "roots": ["nope"]}]}})
    config = tmp_path / "provenance.toml"
    config.write_text(
        '[[notify.webhooks]]\nname = "a"\nurl = "https://x"\n'
        f'secret_file = "{tmp_path / "missing"}"\n'
    )
    _settings, problems = check_config(config)
    assert any("notify.webhooks.0.secret_file: no such file" in p for p in problems)
