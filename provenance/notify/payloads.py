"""What a webhook is sent: one notice (an audit event, or a weekly digest) in the shape its
kind expects. Pure: no I/O.

``generic`` is the project's own JSON (``schema/notification.schema.json``); ``slack`` is an
incoming webhook's message (``text`` and ``blocks``); ``teams`` is a message holding one
Adaptive Card (what a Teams workflow webhook takes). Each carries the notice's ``id``, the
idempotency key a receiver dedups on: a notice is sent at least once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from provenance.lifecycle.states import MEANINGS

#: What each event means, in a few words (the title of a chat message): a move to a status,
#: as the lifecycle says it, and the other actions.
TITLES: Mapping[str, str] = {
    **MEANINGS,
    "restored": "AI asset restored from quarantine",
    "revoked": "clearance revoked",
    "clearance-voided": "clearance voided: the content changed",
    "fixity-failed": "fixity check failed",
    "released": "AI asset released from hold",
    "hold placed": "legal hold placed",
    "hold released": "legal hold released",
}


@dataclass(frozen=True)
class EventNotice:
    """One audit event, with the root and owner of its path."""

    event_id: int
    event: str
    at: datetime
    path: str | None
    asset_id: int | None
    reason: str
    user: str
    host: str
    status_before: str | None = None
    status_after: str | None = None
    root: str | None = None
    owner: str = ""

    @property
    def id(self) -> str:
        return f"event-{self.event_id}"


@dataclass(frozen=True)
class DigestRoot:
    name: str
    path: str
    owner: str
    by_status: Mapping[str, int]


@dataclass(frozen=True)
class DigestNotice:
    """The weekly report's summary for one owner (or every root, owner "")."""

    as_of: datetime
    owner: str
    scope: str
    roots: Sequence[DigestRoot]
    files: Sequence[str] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        return f"digest-{self.as_of:%Y-%m-%d}-{self.owner or 'all'}"

    @property
    def totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for root in self.roots:
            for status, count in root.by_status.items():
                totals[status] = totals.get(status, 0) + count
        return totals


@dataclass(frozen=True)
class CheckNotice:
    """A notice that says nothing happened (``provenance notify test``): the receiver is
    reached, and can check the signature."""

    webhook: str
    at: datetime
    host: str

    @property
    def id(self) -> str:
        return f"test-{self.webhook}-{int(self.at.timestamp())}"


Notice = EventNotice | DigestNotice | CheckNotice


def generic(notice: Notice) -> dict[str, Any]:
    """Return the project's own JSON of ``notice`` (``schema/notification.schema.json``)."""
    if isinstance(notice, CheckNotice):
        return {
            "type": "provenance.test",
            "id": notice.id,
            "at": notice.at.isoformat(),
            "webhook": notice.webhook,
            "host": notice.host,
        }
    if isinstance(notice, DigestNotice):
        return {
            "type": "provenance.digest",
            "id": notice.id,
            "as_of": notice.as_of.isoformat(),
            "owner": notice.owner,
            "scope": notice.scope,
            "totals": notice.totals,
            "roots": [
                {"name": r.name, "path": r.path, "owner": r.owner, "by_status": dict(r.by_status)}
                for r in notice.roots
            ],
            "files": list(notice.files),
        }
    return {
        "type": "provenance.event",
        "id": notice.id,
        "event_id": notice.event_id,
        "event": notice.event,
        "at": notice.at.isoformat(),
        "asset_id": notice.asset_id,
        "path": notice.path,
        "root": notice.root,
        "owner": notice.owner,
        "status": {"from": notice.status_before, "to": notice.status_after},
        "reason": notice.reason,
        "user": notice.user,
        "host": notice.host,
    }


def _slack_escape(text: str) -> str:
    # Slack's control characters; a file name is attacker-controlled and must stay text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _teams_escape(text: str) -> str:
    # an Adaptive Card TextBlock reads a subset of Markdown (emphasis, links, lists): keep
    # names literal
    escaped = "".join("\\" + char if char in "\\*_`[]" else char for char in text)
    return "\\" + escaped if escaped[:1] in ("-", "+", "#", ">") else escaped


def _lines(notice: Notice) -> tuple[str, list[tuple[str, str]]]:
    """Return a notice's title and its (label, value) lines, unescaped."""
    if isinstance(notice, CheckNotice):
        when = f"{notice.at:%Y-%m-%d %H:%M} UTC"
        return "provenance test notice", [
            ("webhook", notice.webhook),
            ("sent by", f"{notice.host} at {when}: nothing happened, this is a test"),
        ]
    if isinstance(notice, DigestNotice):
        title = f"Weekly AI asset report — {notice.scope} — {notice.as_of:%Y-%m-%d}"
        totals = notice.totals
        lines = [("owner", notice.owner or "(every root)")]
        lines.append(
            ("totals", ", ".join(f"{k} {v}" for k, v in sorted(totals.items())) or "nothing")
        )
        for root in notice.roots:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(root.by_status.items()) if v)
            lines.append((f"root {root.name}", counts or "nothing"))
        lines += [("report", path) for path in notice.files]
        return title, lines
    title = TITLES.get(notice.event, notice.event)
    lines = [("path", notice.path or "")]
    if notice.root:
        lines.append(("root", notice.root))
    if notice.owner:
        lines.append(("owner", notice.owner))
    if notice.status_before or notice.status_after:
        lines.append(("status", f"{notice.status_before} → {notice.status_after}"))
    if notice.reason:
        lines.append(("reason", notice.reason))
    lines.append(("by", f"{notice.user}@{notice.host} at {notice.at:%Y-%m-%d %H:%M} UTC"))
    return title, lines


def slack(notice: Notice) -> dict[str, Any]:
    """Return a Slack incoming webhook's message for ``notice``."""
    title, lines = _lines(notice)
    body = "\n".join(f"*{label}:* {_slack_escape(value)}" for label, value in lines)
    return {
        "text": _slack_escape(f"{title}: {lines[0][1]}"),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"id {notice.id}"}]},
        ],
    }


def teams(notice: Notice) -> dict[str, Any]:
    """Return a Teams message holding one Adaptive Card for ``notice``."""
    title, lines = _lines(notice)
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": _teams_escape(title),
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                        },
                        {
                            "type": "FactSet",
                            "facts": [
                                {"title": label, "value": _teams_escape(value)}
                                for label, value in lines
                            ],
                        },
                        {
                            "type": "TextBlock",
                            "text": f"id {notice.id}",
                            "isSubtle": True,
                            "size": "Small",
                        },
                    ],
                },
            }
        ],
    }


SHAPES = {"generic": generic, "slack": slack, "teams": teams}


def body(kind: str, notice: Notice) -> bytes:
    """Return the UTF-8 JSON body a webhook of ``kind`` is sent for ``notice``."""
    return json.dumps(SHAPES[kind](notice), separators=(",", ":")).encode("ascii")
