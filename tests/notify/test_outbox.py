"""Notifications end to end on a real catalog of each backend: the real service sweep writes
the audit events, the outbox sends them to a real HTTP receiver on 127.0.0.1, signed; a
receiver that fails or is down is tried again and nothing is lost; off sends nothing."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from provenance.access.roles import Role
from provenance.catalog import Catalog, utcnow
from provenance.catalog.lifecycle import recent_events
from provenance.catalog.notices import load_cursors
from provenance.clearance.clear import ClearRequest
from provenance.config import Settings, settings_from_mapping
from provenance.notify.outbox import GIVEN_UP, SPOOL_DIR, Outbox
from provenance.notify.send import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from provenance.report.deliver import deliver_weekly
from provenance.service import decisions, integrity, retention
from provenance.service.context import App
from tests.notify.receiver import Receiver
from tests.retention.helpers import MakeAsset
from tests.service.conftest import caller

OPERATOR = caller(Role.OPERATOR)
SECRET = "s3cret-shared-with-the-receiver"
SECRET_ENV = "PROVENANCE_TEST_WEBHOOK_SECRET"


def notify_settings(tmp_path: Path, root: Path, *hooks: dict[str, Any], **notify: Any) -> Settings:
    notify.setdefault("enabled", True)
    notify.setdefault("interval", "1s")
    return settings_from_mapping(
        {
            "state_dir": str(tmp_path / "state"),
            "roots": [{"path": str(root), "owner": "Dana Coordinator"}],
            "retention": {
                "policies": [{"name": "purge", "action": "purge", "grace": "1s"}],
            },
            "notify": {**notify, "webhooks": list(hooks)},
        }
    )


def hook(receiver: Receiver, **fields: Any) -> dict[str, Any]:
    return {"name": "coordinators", "url": receiver.url, "secret_env": SECRET_ENV, **fields}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)


def cursors(catalog: Catalog) -> dict[str, int]:
    with catalog.read() as tx:
        return load_cursors(tx)


def sweep(settings: Settings, catalog: Catalog) -> None:
    retention.sweep(App.using(settings, catalog), OPERATOR)


def test_a_sweep_s_events_reach_the_receiver_signed(
    tmp_path: Path, root: Path, catalog: Catalog, make_asset: MakeAsset, receiver: Receiver
) -> None:
    settings = notify_settings(
        tmp_path, root, hook(receiver, events=["expiring", "flagged", "quarantined"])
    )
    outbox = Outbox(settings, catalog)
    assert outbox.run_once().sent == {}  # the first round only places the cursor
    due = [make_asset(f"old/shot_{i}.png") for i in range(3)]
    sweep(settings, catalog)
    done = outbox.run_once()
    bodies = receiver.bodies()
    assert done.sent == {"coordinators": len(bodies)} and bodies
    assert {b["path"] for b in bodies} == {a.path for a in due}
    assert {b["event"] for b in bodies} <= {"expiring", "flagged", "quarantined"}
    assert "flagged" in {b["event"] for b in bodies}
    for body in bodies:
        assert body["type"] == "provenance.event" and body["id"] == f"event-{body['event_id']}"
        assert body["owner"] == "Dana Coordinator" and body["root"] == root.name
        assert body["status"]["to"] == body["event"]
    ids = [b["event_id"] for b in bodies]
    assert ids == sorted(ids)
    for request in receiver.received:
        assert request.path == "/hook/T0KEN-IN-THE-PATH"
        assert request.headers["idempotency-key"] == request.json["id"]
        assert verify(
            SECRET.encode(),
            request.headers[TIMESTAMP_HEADER.lower()],
            request.body,
            request.headers[SIGNATURE_HEADER.lower()],
            now=time.time(),
        )
        assert not verify(
            b"another secret",
            request.headers[TIMESTAMP_HEADER.lower()],
            request.body,
            request.headers[SIGNATURE_HEADER.lower()],
            now=time.time(),
        )
        # a replay minutes later is refused by the timestamp it carries
        assert not verify(
            SECRET.encode(),
            request.headers[TIMESTAMP_HEADER.lower()],
            request.body,
            request.headers[SIGNATURE_HEADER.lower()],
            now=time.time() + 3600,
        )
    assert outbox.run_once().sent == {}  # sent once; the cursor is past them
    assert cursors(catalog)["coordinators"] == max(ids)


def test_a_failing_then_absent_receiver_is_retried_and_nothing_is_lost(
    tmp_path: Path,
    root: Path,
    catalog: Catalog,
    make_asset: MakeAsset,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = notify_settings(tmp_path, root, hook(receiver, events=["flagged"]))
    clock = Clock()
    outbox = Outbox(settings, catalog, clock=clock)
    outbox.run_once()
    assets = [make_asset(f"old/plate_{i}.exr") for i in range(4)]
    sweep(settings, catalog)

    receiver.answers = [500]
    assert "coordinators" in outbox.run_once().failed  # HTTP 500: nothing moves
    assert receiver.bodies() == []
    assert outbox.run_once().failed == {}  # waiting (1s): not even tried
    assert receiver.bodies() == []

    receiver.stop()  # down: connection refused
    clock.now += 1
    assert "not reached" in outbox.run_once().failed["coordinators"]
    clock.now += 1.5  # the wait doubled to 2s
    assert outbox.run_once().failed == {}
    clock.now += 1
    assert outbox.run_once().failed  # still down

    receiver.start()  # back, on the same port
    clock.now += 10
    done = outbox.run_once()
    assert done.sent == {"coordinators": 4} and done.failed == {}
    flagged = [b for b in receiver.bodies() if b["event"] == "flagged"]
    assert sorted(b["path"] for b in flagged) == sorted(a.path for a in assets)
    assert "answered HTTP 500" in caplog.text and "trying again" in caplog.text
    assert "answers again" in caplog.text
    # no secret in the logs: neither the shared secret nor the URL's token
    assert SECRET not in caplog.text and "T0KEN" not in caplog.text


def test_a_round_cut_short_resends_from_the_cursor_with_the_same_ids(
    tmp_path: Path, root: Path, catalog: Catalog, make_asset: MakeAsset, receiver: Receiver
) -> None:
    settings = notify_settings(tmp_path, root, hook(receiver, events=["flagged"]))
    Outbox(settings, catalog).run_once()
    for i in range(3):
        make_asset(f"old/frame_{i}.png")
    sweep(settings, catalog)
    receiver.answers = [200, 503]  # the second send fails: the first one's cursor is kept
    first = Outbox(settings, catalog)  # a daemon that then dies
    assert first.run_once().failed
    sent_once = receiver.bodies()
    assert len(sent_once) == 1
    again = Outbox(settings, catalog, clock=Clock())  # the next daemon, from the catalog
    assert again.run_once().sent == {"coordinators": 2}
    ids = [b["id"] for b in receiver.bodies()]
    assert len(ids) == len(set(ids)) == 3


def test_off_by_default_sends_nothing_and_keeps_no_cursor(
    tmp_path: Path, root: Path, catalog: Catalog, make_asset: MakeAsset, receiver: Receiver
) -> None:
    assert Settings().notify.enabled is False
    settings = notify_settings(tmp_path, root, hook(receiver), enabled=False)
    outbox = Outbox(settings, catalog)
    make_asset("old/poster.png")
    outbox.run_once()
    sweep(settings, catalog)
    outbox.run_once()
    outbox.start()  # the daemon's thread does not even start
    assert not outbox.running
    assert receiver.bodies() == []
    assert cursors(catalog) == {}


def test_roots_and_owners_filters(
    tmp_path: Path, root: Path, catalog: Catalog, make_asset: MakeAsset, receiver: Receiver
) -> None:
    settings = notify_settings(
        tmp_path,
        root,
        hook(receiver, name="dana", owners=["Dana Coordinator"], events=["flagged"]),
        hook(receiver, name="someone-else", owners=["Sam"], events=["flagged"]),
    )
    outbox = Outbox(settings, catalog)
    outbox.run_once()
    make_asset("old/poster.png")
    sweep(settings, catalog)
    done = outbox.run_once()
    assert done.sent == {"dana": 1}
    kept = cursors(catalog)
    assert kept["someone-else"] == kept["dana"]  # passed over, not waiting


def test_the_weekly_digest_is_spooled_per_owner_then_sent(
    tmp_path: Path, root: Path, catalog: Catalog, make_asset: MakeAsset, receiver: Receiver
) -> None:
    settings = notify_settings(
        tmp_path,
        root,
        hook(receiver, name="digests", events=[], digest=True),
        hook(receiver, name="events-only"),
    )
    make_asset("old/poster.png")
    delivery = deliver_weekly(settings, catalog, utcnow())
    spool = settings.state_path / SPOOL_DIR
    assert len(list(spool.iterdir())) == 1  # for the digest webhook only
    done = Outbox(settings, catalog).run_once()
    assert done.sent == {"digests": 1}
    (digest,) = receiver.bodies()
    assert digest["type"] == "provenance.digest"
    assert digest["owner"] == "Dana Coordinator"
    assert digest["totals"].get("temporary") == 1
    assert digest["files"] == [str(path) for path in delivery.files]
    assert list(spool.iterdir()) == []  # sent: gone from the spool
    assert Outbox(settings, catalog).run_once().sent == {}


def test_off_the_weekly_report_spools_no_digest(
    tmp_path: Path, root: Path, catalog: Catalog, make_asset: MakeAsset, receiver: Receiver
) -> None:

    settings = notify_settings(tmp_path, root, hook(receiver, digest=True), enabled=False)
    make_asset("old/poster.png")
    deliver_weekly(settings, catalog, utcnow())
    assert not (settings.state_path / SPOOL_DIR).exists()


def test_a_reload_starts_and_stops_the_thread(
    tmp_path: Path, root: Path, catalog: Catalog, receiver: Receiver
) -> None:
    off = notify_settings(tmp_path, root, hook(receiver), enabled=False)
    on = notify_settings(tmp_path, root, hook(receiver))
    outbox = Outbox(off, catalog)
    outbox.update(off)
    assert not outbox.running
    outbox.update(on)
    assert outbox.running
    outbox.update(off)
    assert not outbox.running


def test_a_receiver_s_retry_after_is_waited_and_status_tells(
    tmp_path: Path, root: Path, catalog: Catalog, make_asset: MakeAsset, receiver: Receiver
) -> None:
    settings = notify_settings(tmp_path, root, hook(receiver, events=["flagged"]))
    clock = Clock()
    outbox = Outbox(settings, catalog, clock=clock)
    outbox.run_once()
    make_asset("old/poster.png")
    sweep(settings, catalog)
    receiver.answers = [(429, {"Retry-After": "30"})]
    assert "HTTP 429" in outbox.run_once().failed["coordinators"]
    state = outbox.status()["coordinators"]
    assert state["failures"] == 1 and state["retry_in"] == 30.0
    assert "HTTP 429" in str(state["last_error"])
    clock.now += 29
    assert outbox.run_once().failed == {} and receiver.bodies() == []  # still waiting
    clock.now += 1
    assert outbox.run_once().sent == {"coordinators": 1}
    assert outbox.status()["coordinators"] == {
        "sent": 1,
        "failed": 1,
        "given_up": 0,
        "last_given_up": "",
        "failures": 0,
        "last_error": "",
        "retry_in": 0.0,
    }


def test_two_nodes_share_the_cursors_and_send_each_notice_once(
    tmp_path: Path, root: Path, catalog: Catalog, make_asset: MakeAsset, receiver: Receiver
) -> None:
    one = notify_settings(tmp_path / "node1", root, hook(receiver, events=["flagged"]))
    two = notify_settings(tmp_path / "node2", root, hook(receiver, events=["flagged"]))
    first, second = Outbox(one, catalog), Outbox(two, catalog)
    first.run_once()
    make_asset("old/a.png")
    sweep(one, catalog)
    assert first.run_once().sent == {"coordinators": 1}
    assert second.run_once().sent == {}  # the other node's cursor is this one's
    make_asset("old/b.png")
    sweep(two, catalog)
    assert second.run_once().sent == {"coordinators": 1}
    assert first.run_once().sent == {}
    ids = [b["id"] for b in receiver.bodies()]
    assert len(ids) == len(set(ids)) == 2


def test_a_voided_clearance_reaches_a_teams_webhook(
    tmp_path: Path, root: Path, catalog: Catalog, make_asset: MakeAsset, receiver: Receiver
) -> None:
    settings = notify_settings(
        tmp_path,
        root,
        hook(receiver, kind="teams", events=["cleared", "clearance-voided", "fixity-failed"]),
    )
    outbox = Outbox(settings, catalog)
    outbox.run_once()
    app = App.using(settings, catalog)
    poster = make_asset("finals/poster.png")
    request = ClearRequest("LEGAL-1", "", ("C-1",), "ESC-1", False)
    (cleared,) = decisions.clear(app, caller(Role.APPROVER), [poster.path], request)
    assert cleared.problem is None
    Path(poster.path).write_bytes(b"other bytes after the clearance")
    integrity.fixity(app, caller(Role.OPERATOR))
    # the asset's fixity failure and voided clearance, then the run's summary
    assert outbox.run_once().sent == {"coordinators": 4}
    titles = []
    for message in receiver.bodies():
        assert message["type"] == "message"
        card = message["attachments"][0]["content"]
        assert card["type"] == "AdaptiveCard"
        titles.append(card["body"][0]["text"])
    assert titles == [
        "AI asset cleared",
        "fixity check failed",
        "clearance voided: the content changed",
        "fixity check failed",
    ]


def test_a_notice_refused_for_good_is_given_up_once_audited_and_counted(
    tmp_path: Path,
    root: Path,
    catalog: Catalog,
    make_asset: MakeAsset,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = notify_settings(tmp_path, root, hook(receiver, events=["flagged"]))
    clock = Clock()
    outbox = Outbox(settings, catalog, clock=clock)
    outbox.run_once()
    assets = [make_asset(f"old/plate_{i}.exr") for i in range(3)]
    sweep(settings, catalog)

    receiver.answers = [503]  # fails, then recovers: tried again, nothing skipped
    assert "answered HTTP 503" in outbox.run_once().failed["coordinators"]
    receiver.answers = [429, 410]  # too many requests: tried again; gone: refused for good
    clock.now += 1
    assert "answered HTTP 429" in outbox.run_once().failed["coordinators"]
    clock.now += 2
    done = outbox.run_once()
    assert done.failed == {} and done.given_up == {"coordinators": 1}
    assert done.sent == {"coordinators": 2}
    flagged = sorted(b["path"] for b in receiver.bodies() if b["event"] == "flagged")
    assert flagged == sorted(a.path for a in assets)[1:]  # the first one was refused
    assert outbox.run_once().sent == {}  # never sent again
    clock.now += 100
    assert outbox.run_once() == type(done)()
    told = outbox.status()["coordinators"]
    assert (told["sent"], told["failed"], told["given_up"]) == (2, 2, 1)
    assert "answered HTTP 410" in str(told["last_given_up"])
    assert outbox.counts() == {"coordinators": (2, 2, 1)}
    assert caplog.text.count("refused for good, given up") == 1
    with catalog.read() as tx:
        events = [e for e in recent_events(tx, 20) if e.action == GIVEN_UP]
    assert len(events) == 1
    assert events[0].after["webhook"] == "coordinators" and events[0].after["status"] == 410
    assert events[0].after["notice"].startswith("event-")
    assert SECRET not in caplog.text and "T0KEN" not in caplog.text


def test_a_spooled_digest_refused_for_good_is_dropped(
    tmp_path: Path, root: Path, catalog: Catalog, receiver: Receiver
) -> None:
    settings = notify_settings(tmp_path, root, hook(receiver, events=[], digest=True))
    outbox = Outbox(settings, catalog)
    outbox.run_once()
    deliver_weekly(settings, catalog, utcnow())
    assert list((tmp_path / "state" / SPOOL_DIR).iterdir())
    receiver.answers = [400]
    done = outbox.run_once()
    assert done.given_up == {"coordinators": 1} and done.failed == {}
    assert not list((tmp_path / "state" / SPOOL_DIR).iterdir())
    assert receiver.bodies() == []
