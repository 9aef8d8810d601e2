"""`provenance notify test`: a signed test notice to each webhook, one line each, against real
local HTTP receivers (one that takes it, one that refuses it, one that is down)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from provenance.access.roles import Role
from provenance.cli import cli
from provenance.errors import PermissionDeniedError
from provenance.notify.send import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from provenance.service.context import App
from provenance.service.notify import check_webhooks
from tests.notify.receiver import Receiver
from tests.notify.test_outbox import SECRET, SECRET_ENV, notify_settings
from tests.notify.test_payloads import SCHEMA as SCHEMA_PATH
from tests.service.conftest import caller


def _config(tmp_path: Path, *hooks: tuple[str, str]) -> Path:
    lines = [f'state_dir = "{tmp_path / "state"}"', "", "[notify]", "enabled = false"]
    for name, url in hooks:
        lines += ["", "[[notify.webhooks]]", f'name = "{name}"', f'url = "{url}"']
        lines += [f'secret_env = "{SECRET_ENV}"']
    path = tmp_path / "provenance.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_notify_test_sends_a_signed_notice_to_each_webhook(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    refusing = Receiver().start()
    down = Receiver().start()
    down.stop()  # its port refuses connections
    refusing.answers = [410]
    try:
        config = _config(
            tmp_path, ("desk", receiver.url), ("gone", refusing.url), ("down", down.url)
        )
        result = CliRunner().invoke(cli, ["--config", str(config), "notify", "test"])
    finally:
        refusing.stop()
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("webhook desk (127.0.0.1): took the test")
    assert "(HTTP 200, " in lines[0]
    errors = result.stderr.splitlines()
    assert errors[0] == "error: webhook gone (127.0.0.1) answered HTTP 410"
    assert errors[1].startswith("error: webhook down (127.0.0.1) not reached: ")
    assert len(errors) == 2 and "Traceback" not in result.output
    assert "T0KEN" not in result.output and SECRET not in result.output
    (request,) = receiver.received
    body = json.loads(request.body)
    jsonschema.validate(body, json.loads(SCHEMA_PATH.read_text()))
    assert body["type"] == "provenance.test" and body["webhook"] == "desk"
    assert request.headers["idempotency-key"] == body["id"]
    assert verify(
        SECRET.encode(),
        request.headers[TIMESTAMP_HEADER.lower()],
        request.body,
        request.headers[SIGNATURE_HEADER.lower()],
        now=time.time(),
    )

    one = CliRunner().invoke(cli, ["--config", str(config), "notify", "test", "--target", "desk"])
    assert one.exit_code == 0 and len(receiver.received) == 2
    unknown = CliRunner().invoke(cli, ["--config", str(config), "notify", "test", "--target", "x"])
    assert unknown.exit_code == 1
    assert unknown.stderr == "error: --target x: no such webhook (webhooks: desk, gone, down)\n"


def test_notify_test_needs_the_operator_role(
    tmp_path: Path, root: Path, receiver: Receiver
) -> None:
    settings = notify_settings(tmp_path, root, {"name": "desk", "url": receiver.url})
    with pytest.raises(PermissionDeniedError, match="may not notify test"):
        check_webhooks(App.using(settings), caller(Role.VIEWER), None)
    (result,) = check_webhooks(App.using(settings), caller(Role.OPERATOR), None)
    assert result.ok and result.status == 200 and receiver.received
