"""The decisions a web form asks for: the form's fields -> one service action (clear, revoke,
hold, release, tag) as the signed-in user -> the lines saying what was done.

The service checks the user's role, as for the command line: a form sent by someone without
the role (a forged POST) is refused there with the command line's message, and the refusal
is recorded in the audit trail with the real user.
"""

from __future__ import annotations

import logging
import pwd
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from provenance.access.identity import Actor
from provenance.audit.refusals import RefusalLog, Write
from provenance.clearance.assess import FLAG_FACTS, Facts
from provenance.clearance.clear import ClearRequest
from provenance.clearance.rules import INTENDED_USES
from provenance.errors import ProvenanceError
from provenance.ingest.manual import ManualTag
from provenance.service import decisions
from provenance.service.context import App, Caller

log = logging.getLogger(__name__)

#: The decisions a form may ask for, and the action (``access.roles.REQUIRED``) each needs.
ACTIONS = {"clear": "clear", "revoke": "revoke", "hold": "hold", "release": "release", "tag": "tag"}
#: Paths one form may name (a group's form names one folder).
MAX_PATHS = 1000


class FormError(ProvenanceError):
    """A form that asks for nothing this service does, or lacks what the action needs."""


@dataclass(frozen=True)
class Done:
    """What a decision did: one line per asset or path, and its warnings."""

    action: str
    lines: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def references(text: str) -> tuple[str, ...]:
    """Return the references of a field holding one or more (by line or comma)."""
    return tuple(part.strip() for part in re.split(r"[\n,]", text) if part.strip())


def _field(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0].strip()


def perform(app: App, caller: Caller, form: dict[str, list[str]]) -> Done:
    """Run the decision ``form`` asks for (its fields: ``action``, ``path`` (one or more),
    and the action's own) as ``caller``; PermissionDeniedError without the role, FormError
    or another ProvenanceError when it cannot be done, as the command line says it."""
    action = _field(form, "action")
    if action not in ACTIONS:
        raise FormError(f"no such decision: {action!r}")
    paths = [path for path in form.get("path", []) if path.strip()]
    if not paths:
        raise FormError(f"{action}: no file or folder given")
    if len(paths) > MAX_PATHS or any(not path.startswith("/") or "\0" in path for path in paths):
        raise FormError(f"{action}: the paths must be at most {MAX_PATHS} absolute paths")
    return _DECISIONS[action](app, caller, paths, form)


def _clear(app: App, caller: Caller, paths: Sequence[str], form: dict[str, list[str]]) -> Done:
    approval = _field(form, "approval")
    request = ClearRequest(
        approval_ref=approval or None,
        note=_field(form, "note"),
        consent_refs=references(_field(form, "consent")),
        escalation_ref=_field(form, "escalation") or None,
        label=_field(form, "label") == "on",
    )
    lines, warnings = [], []
    for outcome in decisions.clear(app, caller, paths, request):
        if outcome.already:
            lines.append(f"{outcome.path}: already cleared")
        else:
            held = "; stays held (a hold wins)" if outcome.held else ""
            rules = ", ".join(outcome.rules)
            lines.append(
                f"cleared {outcome.path} (risk {outcome.risk}: {rules}; approval {approval}){held}"
            )
        warnings += outcome.warnings
    return Done("clear", tuple(lines), tuple(warnings))


def _reason(form: dict[str, list[str]], action: str) -> str:
    reason = _field(form, "reason")
    if not reason:
        raise FormError(f"{action}: a reason is needed (it is kept in the audit trail)")
    return reason


def _revoke(app: App, caller: Caller, paths: Sequence[str], form: dict[str, list[str]]) -> Done:
    done = decisions.revoke(app, caller, paths, _reason(form, "revoke"))
    return Done(
        "revoke",
        tuple(f"revoked {d.path} ({d.approval_ref}); now {d.status}" for d in done),
    )


def _hold(app: App, caller: Caller, paths: Sequence[str], form: dict[str, list[str]]) -> Done:
    done = decisions.hold(app, caller, paths, _reason(form, "hold"))
    return Done(
        "hold",
        tuple(
            f"{d.path}: already held" if d.already else f"held {d.path} ({d.assets} assets)"
            for d in done
        ),
    )


def _release(app: App, caller: Caller, paths: Sequence[str], form: dict[str, list[str]]) -> Done:
    done = decisions.release(app, caller, paths)
    return Done("release", tuple(f"released {d.path} ({d.assets} assets)" for d in done))


def _tag(app: App, caller: Caller, paths: Sequence[str], form: dict[str, list[str]]) -> Done:
    use = _field(form, "use") or None
    if use is not None and use not in INTENDED_USES:
        raise FormError(f"tag: no such intended use: {use!r} (one of {', '.join(INTENDED_USES)})")
    facts = Facts(
        intended_use=use,
        talent=references(_field(form, "talent")),
        **{name: _field(form, name) == "on" for name in FLAG_FACTS},
    )
    if not facts.as_mapping():
        raise FormError("tag: no fact declared")
    tagged = decisions.tag(app, caller, paths, ManualTag(facts=facts))
    return Done(
        "tag",
        tuple(
            f"tagged {asset.path}: {asset.ai_class}, {asset.generator}, {asset.status}, "
            f"risk {asset.risk or '-'}"
            for asset in tagged
        ),
    )


_DECISIONS: dict[str, Callable[[App, Caller, Sequence[str], dict[str, list[str]]], Done]] = {
    "clear": _clear,
    "revoke": _revoke,
    "hold": _hold,
    "release": _release,
    "tag": _tag,
}


def refusal_writer(app: App) -> Write:
    """Return what writes the web's refusal events (and their counts) to the audit trail,
    for ``audit.refusals.RefusalLog``, which decides which are written and when."""

    def write(
        actor: Actor, action: str, when: datetime, reason: str, after: dict[str, Any]
    ) -> None:
        try:
            with app.catalog.write() as tx:
                tx.record(actor, action, when, reason=reason, after=after)
        except ProvenanceError as exc:
            log.warning("web: %s of %s not recorded: %s", action, after.get("verb"), exc)

    return write


def record_refusal(
    refusals: RefusalLog, caller: Caller, action: str, why: str, address: str, now: datetime
) -> None:
    """Record in the audit trail that ``caller`` was refused ``action`` over the web: the
    first of this user and action an interval on its own, the rest counted (as the socket's)."""
    log.warning("web: refused %s to %s (from %s)", action, caller.actor.user, address)
    try:
        uid = pwd.getpwnam(caller.actor.user).pw_uid
    except KeyError:  # a name from the proxy with no account here: counted under -1
        uid = -1
    after = {"verb": action, "via": "web", "address": address}
    refusals.refused(caller.actor, uid, action, now, why, after)
