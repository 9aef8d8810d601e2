"""One asset's line in the report (``Item``) and how each section makes one from the catalog.

Pure: catalog lines in, Items out. Commands quote paths for a POSIX shell.
"""

from __future__ import annotations

import bisect
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from provenance.catalog.models import Unreadable
from provenance.catalog.reports import AssetLine, EventLine
from provenance.clearance.assess import Needed
from provenance.lifecycle.states import CLEARABLE, HOLDABLE, Status

if TYPE_CHECKING:  # the journal brings the file operations in: only its type is needed
    from provenance.retention.journal import Waiting


@dataclass(frozen=True)
class RootInfo:
    """A production root as the report names it: folder, short name and who answers for it."""

    path: str
    label: str
    owner: str = ""


@dataclass(frozen=True)
class Item:
    """One asset in one section. ``when`` is the section's date (due, deletion, event)."""

    section: str
    path: str
    root: str
    owner: str
    status: str
    generator: str
    rule: str
    when: datetime | None
    days_left: int | None
    who: str = ""
    reason: str = ""
    content_hash: str = ""
    size: int | None = None
    #: Approval reference, quarantine location or purge receipt location, by section.
    reference: str = ""
    commands: tuple[str, ...] = ()
    #: The root's folder (the report groups an item by its folder below it).
    root_path: str = ""


# --- commands -------------------------------------------------------------------------


@dataclass(frozen=True)
class ClearNeeds:
    """What `provenance clear` must be given, from the clearance rules (``Needed``): for
    each asset the report names (by id), and for a folder, whose `clear` takes every AI
    file under it that waits for a clearance (``targets``: all of them need at least
    ``least``; those that need more, by path)."""

    by_asset: Mapping[int, Needed] = field(default_factory=dict)
    least: Needed = field(default_factory=Needed)
    targets: tuple[tuple[str, Needed], ...] = ()

    def asset(self, asset_id: int | None) -> Needed:
        """Return what clearing the asset needs (an asset not looked at: ``least``)."""
        found = self.by_asset.get(asset_id) if asset_id is not None else None
        return found if found is not None else self.least

    def folder(self, path: str) -> Needed:
        """Return what clearing every AI file at or under the folder ``path`` needs."""
        low = path.rstrip("/") + "/"
        start = bisect.bisect_left(self.targets, (low,))
        found = self.least
        for target, need in self.targets[start:]:
            if not target.startswith(low):
                break
            found = found | need
        return found


def clear_command(path: str, needed: Needed | None = None) -> str:
    """Return the `clear` of ``path`` with every reference the rules ask for (``needed``)."""
    options = " ".join((needed or Needed()).options())
    return f"provenance clear {shlex.quote(path)} {options}"


def hold_command(path: str) -> str:
    return f"provenance hold {shlex.quote(path)} --reason TEXT"


def restore_command(path: str) -> str:
    return f"provenance restore {shlex.quote(path)}"


def tag_command(path: str) -> str:
    return f"provenance tag {shlex.quote(path)} --tool TOOL"


def item_commands(status: str, path: str, needed: Needed | None = None) -> tuple[str, ...]:
    """Return the commands that would act on a file in ``status``: clear it (statuses the
    lifecycle lets go to cleared, with the references ``needed``; not when no reference
    would do), hold it (statuses a hold takes, not one already held), restore it
    (quarantined)."""
    commands = []
    needed = needed or Needed()
    if status in CLEARABLE and needed.clearable:
        commands.append(clear_command(path, needed))
    if status in HOLDABLE and status != Status.HELD:
        commands.append(hold_command(path))
    if status == Status.QUARANTINED:
        commands.insert(0, restore_command(path))
    return tuple(commands)


# --- items ---------------------------------------------------------------------------


def _days_between(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else (end.date() - start.date()).days


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


class Roots:
    """Root folder -> RootInfo; a root the settings do not name is shown by its folder."""

    def __init__(self, roots: Sequence[RootInfo]) -> None:
        self.by_path = {info.path: info for info in roots}

    def __call__(self, path: str | None) -> RootInfo:
        key = path or ""
        return self.by_path.get(key) or RootInfo(key, key or "(no root)", "")


def asset_item(
    section: str,
    line: AssetLine,
    roots: Roots,
    as_of: datetime,
    needs: ClearNeeds | None = None,
    **fields: Any,
) -> Item:
    """Return the item of an asset (``needs``: what clearing it needs; approval alone by
    default)."""
    root = roots(line.root)
    needed = needs.asset(line.id) if needs is not None else None
    values: dict[str, Any] = {
        "section": section,
        "path": line.path,
        "root": root.label,
        "root_path": root.path,
        "owner": root.owner,
        "status": line.status,
        "generator": _text(line.generator),
        "rule": _text(line.policy),
        "when": line.deadline,
        "days_left": _days_between(as_of, line.deadline),
        "content_hash": _text(line.content_hash),
        "size": line.size,
        "commands": item_commands(line.status, line.path, needed),
    }
    values.update(fields)
    return Item(**values)


def quarantine_item(
    line: AssetLine,
    roots: Roots,
    as_of: datetime,
    keep_for: Callable[[str | None], timedelta | None],
) -> Item:
    extra = line.extra
    since = _as_datetime(extra.get("quarantined_at")) or _as_datetime(extra.get("event_at"))
    delete_on = _as_datetime(extra.get("delete_after")) or _as_datetime(extra.get("purge_due"))
    reason = f"quarantined {since.date().isoformat()}" if since else "quarantined"
    if delete_on is None and since is not None:
        kept_for = keep_for(line.policy)
        if kept_for is None:
            reason += "; flag-only policy: kept until restored"
        else:
            delete_on = since + kept_for
    location = _text(extra.get("quarantine_path") or extra.get("path"))
    return asset_item(
        "quarantined",
        line,
        roots,
        as_of,
        when=delete_on,
        days_left=_days_between(as_of, delete_on),
        reason=reason,
        reference=location,
        commands=(restore_command(line.path),),
    )


def event_item(section: str, event: EventLine, roots: Roots, **fields: Any) -> Item:
    root = roots(event.root)
    before, after = event.before, event.after
    path = _text(event.path or after.get("path") or before.get("path"))
    values: dict[str, Any] = {
        "section": section,
        "path": path,
        "root": root.label,
        "root_path": root.path,
        "owner": root.owner,
        "status": _text(after.get("status")) or event.action,
        "generator": _text(event.generator),
        "rule": _text(after.get("rule") or event.policy),
        "when": event.at,
        "days_left": None,
        "who": f"{event.user}@{event.host}",
        "reason": event.reason,
        "content_hash": _text(after.get("content_hash") or after.get("hash")),
        "size": _int(after.get("size")),
    }
    values.update(fields)
    return Item(**values)


def purged_item(event: EventLine, roots: Roots) -> Item:
    # the lifecycle work writes its receipt under "receipt"; flat keys are read too
    nested = event.after.get("receipt")
    receipt: Mapping[str, Any] = nested if isinstance(nested, Mapping) else event.after
    return event_item(
        "purged",
        event,
        roots,
        path=_text(receipt.get("path") or event.path),
        status=Status.PURGED,
        rule=_text(receipt.get("rule") or event.policy),
        who=_text(receipt.get("by")) or f"{event.user}@{event.host}",
        content_hash=_text(receipt.get("content_hash") or receipt.get("hash")),
        size=_int(receipt.get("size")),
        reference=_text(receipt.get("quarantine_path")),
    )


def cleared_item(event: EventLine, roots: Roots) -> Item:
    after = event.after
    return event_item(
        "cleared",
        event,
        roots,
        status=Status.CLEARED,
        reference=_text(after.get("approval") or after.get("approval_ref")),
    )


def voided_item(event: EventLine, roots: Roots, needs: ClearNeeds | None = None) -> Item:
    path = _text(event.path)
    status = _text(event.after.get("status")) or Status.TEMPORARY
    needed = needs.asset(event.asset_id) if needs is not None else None
    return event_item(
        "voided",
        event,
        roots,
        status=status,
        reason=f"{event.action}: {event.reason}" if event.reason else event.action,
        commands=item_commands(status, path, needed) if path else (),
    )


def waiting_item(step: Waiting, roots: Roots) -> Item:
    """An interrupted quarantine, purge or restore that waits (its root offline, say)."""
    root = roots(step.root)
    return Item(
        section="waiting",
        path=step.path,
        root=root.label,
        root_path=root.path,
        owner=root.owner,
        status=step.operation,
        generator="",
        rule=step.rule,
        when=step.since,
        days_left=None,
        reason=step.reason,
        reference=_text(step.target),
    )


def unreadable_item(row: Unreadable, roots: Roots, retries: int) -> Item:
    """A file that could not be read: why, how many times, and whether scans try again."""
    root = roots(row.root)
    again = (
        "the next scan tries again"
        if row.attempts <= retries
        else "not tried again until it changes"
    )
    times = "once" if row.attempts == 1 else f"{row.attempts} times"
    return Item(
        section="unreadable",
        path=row.path,
        root=root.label,
        root_path=root.path,
        owner=root.owner,
        status="unreadable",
        generator="",
        rule="",
        when=row.last_failed,
        days_left=None,
        reason=f"{row.reason} (failed {times}; {again})",
        size=row.size,
    )
