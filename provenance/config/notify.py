"""Settings of ``[notify]``: webhooks told of lifecycle events and sent the weekly digest."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from provenance.config.jobs import parse_duration
from provenance.config.values import OptionalPath
from provenance.lifecycle.states import MARKED, MEANINGS, Status

#: The audit actions a webhook can be told of: a move to a status whose event is named for
#: it (``provenance.lifecycle.states.MEANINGS``), and the other actions.
NOTIFIABLE: tuple[str, ...] = (
    *(str(status) for status in MEANINGS),
    "restored",
    "revoked",
    "clearance-voided",
    "fixity-failed",
    "released",
    "hold placed",
    "hold released",
)


def _default_events() -> list[str]:
    """What a person must act on: each mark a sweep gives a file before it acts on it, the
    quarantine, and a voided clearance."""
    return [*(str(status) for status in (*MARKED, Status.QUARANTINED)), "clearance-voided"]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WebhookSettings(_Section):
    """One receiver: where, in which shape, which events of which roots, and the secret."""

    #: A short name for logs and for its place in the outbox (never the URL: it may hold a
    #: token).
    name: str = Field(min_length=1, max_length=64)
    #: Where the POST goes (http or https).
    url: str
    #: "generic" (JSON, signed), "slack" (incoming webhook), "teams" (Adaptive Card).
    kind: Literal["generic", "slack", "teams"] = "generic"
    #: The audit events sent (see NOTIFIABLE); empty sends none (a digest-only webhook).
    events: list[str] = Field(default_factory=_default_events)
    #: Only events under these roots (by name); empty means every root.
    roots: list[str] = Field(default_factory=list)
    #: Only events under roots these owners answer for (``[[roots]] owner``); empty: any.
    owners: list[str] = Field(default_factory=list)
    #: Also send the weekly report's summary (counts, the report files) to this webhook.
    digest: bool = False
    #: The shared secret that signs the body: the name of an environment variable that holds
    #: it, or a file whose first line is it (used when secret_env is empty).
    secret_env: str = ""
    secret_file: OptionalPath = None
    #: Seconds one POST may take (connect and answer).
    timeout: float = Field(default=10.0, gt=0, le=120)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            raise ValueError("use letters, digits, '.', '_' and '-' only (e.g. \"clearance-desk\")")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in value):
            raise ValueError("must not hold spaces or control characters (encode them: %20)")
        return value

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in NOTIFIABLE]
        if unknown:
            raise ValueError(f"unknown event {unknown[0]!r} (use any of: {', '.join(NOTIFIABLE)})")
        return value


class NotifySettings(_Section):
    """Webhooks told of lifecycle events by the daemon; off by default."""

    #: Send notifications at all (the daemon sends them; nothing is sent while false).
    enabled: bool = False
    #: How often the daemon looks for new events to send (a duration).
    interval: str = "10s"
    #: The longest wait between two tries of a receiver that fails (a duration; the wait
    #: doubles from `interval` up to this).
    max_backoff: str = "10m"
    webhooks: list[WebhookSettings] = Field(default_factory=list)

    @field_validator("interval", "max_backoff")
    @classmethod
    def _durations(cls, value: str) -> str:
        if parse_duration(value).total_seconds() <= 0:
            raise ValueError("must be longer than 0s")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> NotifySettings:
        names = [hook.name for hook in self.webhooks]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"webhooks.name must be unique ({', '.join(twice)} given twice)")
        return self

    @property
    def interval_seconds(self) -> float:
        return parse_duration(self.interval).total_seconds()

    @property
    def max_backoff_seconds(self) -> float:
        return parse_duration(self.max_backoff).total_seconds()
