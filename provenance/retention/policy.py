"""Which rule applies to an AI asset, its deadline, and what a sweep should do next (pure).

Nothing here reads a file, a clock or the catalog: facts, rules, milestones and ``now`` go
in, a :class:`Decision` with a reason comes out. The lifecycle (DESIGN.md)::

    temporary -> expiring (now >= deadline - warn_before)
              -> flagged (now >= deadline)
              -> quarantined (now >= max(deadline, flagged_at) + grace; action "purge" only)
              -> purged (now >= quarantined_at + quarantine_for)

One sweep moves an asset at most as far as ``flagged``, and a file is only quarantined once
it has been flagged, so nobody loses a file that never showed as flagged. ``cleared`` and
``held`` are never moved; ``not-ai`` has no lifecycle; a missing file is never acted on.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal, cast

from provenance.config import RootSettings, Settings, parse_duration, parse_expiry
from provenance.lifecycle.states import ACTIONS, PROTECTED, SWEPT, TERMINAL, Status

Action = Literal["none", "warn", "flag", "quarantine", "purge"]

_RANK: dict[str, int] = {status: rank for rank, status in enumerate(SWEPT)}
#: The action that moves an asset to each status a sweep moves it to.
_ACTION_OF = {status: action for action, status in ACTIONS.items()}


@dataclass(frozen=True)
class Rule:
    """One retention policy, its durations parsed (see ``[[retention.policies]]``)."""

    name: str
    paths: tuple[str, ...] = ("**",)
    classes: tuple[str, ...] = ("ai", "partial")
    tools: tuple[str, ...] = ()
    expire_after: timedelta = timedelta(days=30)
    #: Count ``expire_after`` from this production milestone instead of from the asset.
    milestone: str | None = None
    count_from: Literal["first_seen", "created"] = "first_seen"
    warn_before: timedelta = timedelta(days=7)
    grace: timedelta = timedelta(days=7)
    quarantine_for: timedelta = timedelta(days=14)
    action: Literal["flag", "purge"] = "flag"


#: The policy with no config at all: 30 days from first seen, then flagged; never moves a byte.
DEFAULT_RULE = Rule(name="default")


@dataclass(frozen=True)
class AssetFacts:
    """What a decision needs to know about one asset (a value, never a catalog row)."""

    #: Path relative to its root, "/"-separated: what the rules' globs match.
    path: str
    ai_class: str
    status: str
    first_seen: datetime
    created_at: datetime | None = None
    generator: str | None = None
    family: str | None = None
    present: bool = True
    flagged_at: datetime | None = None
    quarantined_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """What to do with an asset now, the state it ends in, and why."""

    action: Action
    new_status: str
    deadline: datetime | None
    rule: str | None
    reason: str
    #: When this step became (or becomes) due; None when nothing is due.
    due: datetime | None = None


def rules_from_settings(settings: Settings) -> tuple[Rule, ...]:
    """Return the configured rules in order, or the built-in default when there are none."""
    rules = []
    for policy in settings.retention.policies:
        milestone, offset = parse_expiry(policy.expire_after)
        rules.append(
            Rule(
                name=policy.name,
                paths=tuple(policy.paths),
                classes=tuple(policy.classes),
                tools=tuple(tool.lower() for tool in policy.tools),
                expire_after=offset,
                milestone=milestone,
                count_from=policy.count_from,
                warn_before=parse_duration(policy.warn_before),
                grace=parse_duration(policy.grace),
                quarantine_for=parse_duration(policy.quarantine_for),
                action=policy.action,
            )
        )
    return tuple(rules) or (DEFAULT_RULE,)


def milestones_for(settings: Settings, root: RootSettings | None) -> Mapping[str, date]:
    """Return the milestones of ``root``'s production (empty when it names none)."""
    if root is None or not root.production:
        return {}
    return settings.milestones.get(root.production, {})


def fingerprint(rules: Sequence[Rule], milestones: Mapping[str, Mapping[str, date]]) -> str:
    """Return a short hash of the rules and milestones; deadlines are recomputed when it changes."""
    body = json.dumps([asdict(rule) for rule in rules] + [milestones], sort_keys=True, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """``**`` is any number of folders, ``*`` and ``?`` stay inside one name."""
    parts = pattern.strip("/").split("/")
    regex = ""
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            regex += ".*" if last else "(?:[^/]+/)*"
            continue
        for char in part:
            regex += "[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char)
        regex += "" if last else "/"
    return re.compile(regex + r"\Z")


def path_matches(path: str, pattern: str) -> bool:
    """Return whether a root-relative ``path`` matches a rule's glob."""
    return _glob_regex(pattern).match(path) is not None


def match_rule(facts: AssetFacts, rules: Sequence[Rule]) -> Rule | None:
    """Return the first rule whose paths, classes and tools all match, or None."""
    names = {name.lower() for name in (facts.generator, facts.family) if name}
    for rule in rules:
        if facts.ai_class not in rule.classes:
            continue
        if rule.tools and not names.intersection(rule.tools):
            continue
        if any(path_matches(facts.path, pattern) for pattern in rule.paths):
            return rule
    return None


def deadline_for(facts: AssetFacts, rule: Rule, milestones: Mapping[str, date]) -> datetime | None:
    """Return the asset's deadline under ``rule`` (None when its milestone is not set)."""
    if rule.milestone is not None:
        day = milestones.get(rule.milestone)
        if day is None:
            return None
        return datetime.combine(day, time(0), tzinfo=UTC) + rule.expire_after
    start = facts.first_seen
    if rule.count_from == "created" and facts.created_at is not None:
        start = min(start, facts.created_at)
    return start + rule.expire_after


def schedule(
    facts: AssetFacts, rules: Sequence[Rule], milestones: Mapping[str, date]
) -> tuple[datetime | None, str | None]:
    """Return (deadline, rule name) for a new AI asset; (None, None) when no rule applies."""
    rule = match_rule(facts, rules)
    if rule is None:
        return None, None
    return deadline_for(facts, rule, milestones), rule.name


def _keep(
    facts: AssetFacts, reason: str, rule: Rule | None = None, deadline: datetime | None = None
) -> Decision:
    return Decision("none", facts.status, deadline, rule.name if rule else None, reason)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def decide(
    facts: AssetFacts, rules: Sequence[Rule], milestones: Mapping[str, date], now: datetime
) -> Decision:
    """Return the one next step for an asset at ``now`` (``action`` "none" to leave it)."""
    if facts.ai_class == "none" or facts.status == Status.NOT_AI:
        return _keep(facts, "not AI: no lifecycle")
    if facts.status in PROTECTED:
        return _keep(facts, f"{facts.status}: never moved by a sweep")
    if facts.status not in _RANK or facts.status in TERMINAL:
        return _keep(facts, f"{facts.status}: nothing left to do")
    if not facts.present and facts.status != Status.QUARANTINED:
        return _keep(facts, "file is missing: nothing is done to a missing file")
    rule = match_rule(facts, rules)
    if rule is None:
        return _keep(facts, "no policy matches: kept")
    deadline = deadline_for(facts, rule, milestones)
    if deadline is None:
        reason = f"milestone {rule.milestone} is not set for this root's production: kept"
        return _keep(facts, reason, rule)
    if facts.status == Status.QUARANTINED:
        return _decide_quarantined(facts, rule, deadline, now)
    if facts.status == Status.FLAGGED:
        return _decide_flagged(facts, rule, deadline, now)
    target: Status
    if now >= deadline:
        target, due, why = Status.FLAGGED, deadline, f"deadline {_stamp(deadline)} has passed"
    elif now >= deadline - rule.warn_before:
        target, due = Status.EXPIRING, deadline - rule.warn_before
        why = f"deadline {_stamp(deadline)} is within {rule.warn_before.days}d"
    else:
        return _keep(facts, f"deadline {_stamp(deadline)}", rule, deadline)
    if _RANK[target] <= _RANK[facts.status]:
        return _keep(facts, f"deadline {_stamp(deadline)}", rule, deadline)
    return Decision(cast(Action, _ACTION_OF[target]), target, deadline, rule.name, why, due)


def _decide_flagged(facts: AssetFacts, rule: Rule, deadline: datetime, now: datetime) -> Decision:
    if rule.action != "purge":
        return _keep(facts, "flag only; a person decides", rule, deadline)
    due = max(deadline, facts.flagged_at or deadline) + rule.grace
    if now < due:
        return _keep(facts, f"quarantine due {_stamp(due)}", rule, deadline)
    reason = f"flagged and not cleared within {rule.grace.days}d grace"
    return Decision("quarantine", Status.QUARANTINED, deadline, rule.name, reason, due)


def _decide_quarantined(
    facts: AssetFacts, rule: Rule, deadline: datetime, now: datetime
) -> Decision:
    if rule.action != "purge":
        reason = "flag only now; kept in quarantine (provenance restore puts it back)"
        return _keep(facts, reason, rule, deadline)
    if facts.quarantined_at is None:
        return _keep(facts, "quarantine time unknown: kept", rule, deadline)
    due = facts.quarantined_at + rule.quarantine_for
    if now < due:
        return _keep(facts, f"purge due {_stamp(due)}", rule, deadline)
    reason = f"in quarantine {rule.quarantine_for.days}d and not restored"
    return Decision("purge", Status.PURGED, deadline, rule.name, reason, due)


def due_bounds(rules: Sequence[Rule], until: datetime) -> tuple[dict[str, datetime], datetime]:
    """Return how late a deadline may be for an asset of each status a sweep moves by
    deadline to be due for its next step by ``until`` (the rules unchanged, every deadline
    stored is the one they give), and how early a quarantine must have begun for a purge.

    A temporary asset is warned ``warn_before`` ahead, an expiring one flagged at its
    deadline, a flagged one quarantined after its grace: a sweep reads only the assets
    within these bounds (and those with no deadline yet).
    """
    due_by: dict[str, datetime] = {
        Status.TEMPORARY: until + max(rule.warn_before for rule in rules),
        Status.EXPIRING: until,
        Status.FLAGGED: until - min(rule.grace for rule in rules),
    }
    return due_by, until - min(rule.quarantine_for for rule in rules)


def forecast(
    facts: AssetFacts,
    rules: Sequence[Rule],
    milestones: Mapping[str, date],
    start: datetime,
    until: datetime,
) -> list[Decision]:
    """Return the steps an asset will take from ``start`` to ``until`` if sweeps run on time.

    Used by ``sweep --as-of``; each step's ``due`` says when it happens.
    """
    steps: list[Decision] = []
    current = facts
    for _ in range(len(SWEPT)):
        decision = decide(current, rules, milestones, until)
        if decision.action == "none":
            break
        when = max(start, decision.due or start)
        steps.append(replace(decision, due=when))
        current = replace(
            current,
            status=decision.new_status,
            flagged_at=when if decision.action == "flag" else current.flagged_at,
            quarantined_at=when if decision.action == "quarantine" else current.quarantined_at,
        )
    return steps


def is_destructive(action: str) -> bool:
    """Return whether ``action`` moves or deletes bytes."""
    return action in ("quarantine", "purge")


__all__ = [
    "DEFAULT_RULE",
    "AssetFacts",
    "Decision",
    "Rule",
    "deadline_for",
    "decide",
    "due_bounds",
    "fingerprint",
    "forecast",
    "is_destructive",
    "match_rule",
    "milestones_for",
    "path_matches",
    "rules_from_settings",
    "schedule",
]
