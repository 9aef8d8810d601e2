"""``check_webhooks``: send a signed test notice to each configured webhook (or one) now, and
say what each answered (``provenance notify test``)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from provenance.catalog import utcnow
from provenance.errors import ConfigError, NotifyError
from provenance.notify.payloads import CheckNotice
from provenance.notify.send import post, where
from provenance.service.context import App, Caller


@dataclass(frozen=True)
class WebhookCheck:
    """What one webhook answered a test notice: ``status`` (its 2xx) when it took it, else
    ``error`` (one line: no answer, a refusal, a secret that cannot be read)."""

    name: str
    #: How logs name it: its name and host, never its URL (it may hold a token).
    where: str
    status: int | None
    error: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status is not None


def check_webhooks(app: App, caller: Caller, target: str | None = None) -> list[WebhookCheck]:
    """Send a test notice (``schema/notification.schema.json``: ``provenance.test``), signed
    as the webhook's notices are, to every configured webhook or the one named ``target``,
    once each, whether or not ``[notify] enabled``; return what each answered. ConfigError
    when there is no such webhook."""
    caller.require("notify test")
    hooks = app.settings.notify.webhooks
    if target is not None:
        hooks = [hook for hook in hooks if hook.name == target]
        if not hooks:
            names = ", ".join(h.name for h in app.settings.notify.webhooks) or "none configured"
            raise ConfigError(f"--target {target}: no such webhook (webhooks: {names})")
    if not hooks:
        raise ConfigError("no webhooks configured ([[notify.webhooks]] in the config)")
    host = socket.gethostname()
    results = []
    for hook in hooks:
        started = time.monotonic()
        try:
            status: int | None = post(hook, CheckNotice(hook.name, utcnow(), host))
            error = ""
        except NotifyError as exc:
            status, error = None, str(exc)
        results.append(
            WebhookCheck(hook.name, where(hook), status, error, time.monotonic() - started)
        )
    return results
