"""The report at any scale: a section's items grouped by root -> production -> folder, each
group with its counts, size, owner, nearest date and the one command that acts on it; and
the short ranked list of what needs a decision now (``Alert``).

Pure: Items in, Groups and Alerts out. A group's command is offered only when the lifecycle
lets it act on the group's files (``provenance.lifecycle.states``: ``CLEARABLE`` for
``clear``, ``HOLDABLE`` for ``hold``); both take a folder.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from provenance.clearance.assess import Needed
from provenance.lifecycle.states import CLEARABLE, HOLDABLE
from provenance.report.items import Item, clear_command, hold_command

#: Sections whose groups are offered a command (the others say what happened).
ACTIONABLE = ("expiring", "overdue", "quarantined", "voided", "attention")
#: How many days ahead a deadline or a purge needs a decision now.
SOON_DAYS = 3
#: At most this many alerts are listed; the rest are counted.
ALERTS_SHOWN = 12


@dataclass(frozen=True)
class Totals:
    """Every file of a section in one folder, counted by the catalog: a section that names
    only its first files still counts all of them in their folder's line."""

    count: int
    size: int
    statuses: Mapping[str, int]


@dataclass(frozen=True)
class Group:
    """The items of one section in one folder (the file's own folder, below its root)."""

    section: str
    root: str
    owner: str
    #: The first folder below the root ("" for files at the root itself).
    production: str
    #: The folder below the root ("" for the root itself) and its full path.
    folder: str
    path: str
    #: The files, soonest date first (an item without a date last); never empty. With
    #: ``totals``, the first of them: the section names only its soonest files.
    items: tuple[Item, ...]
    command: str = ""
    totals: Totals | None = None
    #: What clearing every AI file under the group's production needs (``productions``
    #: offers that `clear`), when the report knows it.
    production_needs: Needed | None = field(default=None, compare=False)

    @property
    def count(self) -> int:
        return len(self.items) if self.totals is None else self.totals.count

    @property
    def more(self) -> int:
        """How many files of the folder the group counts but does not name."""
        return self.count - len(self.items)

    @cached_property
    def size(self) -> int:
        if self.totals is not None:
            return self.totals.size
        return sum(item.size or 0 for item in self.items)

    @cached_property
    def statuses(self) -> dict[str, int]:
        if self.totals is not None:
            return dict(sorted(self.totals.statuses.items()))
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.status] = counts.get(item.status, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def nearest(self) -> Item:
        """The item whose date comes first (an item without a date last): the items are
        in that order."""
        return self.items[0]

    @property
    def when(self) -> datetime | None:
        return self.items[0].when

    @property
    def days_left(self) -> int | None:
        return self.items[0].days_left


@dataclass(frozen=True)
class Alert:
    """One thing that needs a decision now, with the folder and the command to act on it."""

    kind: str
    text: str
    count: int
    root: str = ""
    owner: str = ""
    path: str = ""
    when: datetime | None = None
    days_left: int | None = None
    command: str = ""


def _when_key(item: Item) -> tuple[bool, float, str]:
    # by the instant (aware and naive datetimes do not compare), then by path
    return (item.when is None, item.when.timestamp() if item.when else 0.0, item.path)


def place(item: Item) -> tuple[str, str, str]:
    """Return (production, folder below the root, folder path) of an item's file."""
    folder_path = posixpath.dirname(item.path) or "/"
    root_path = item.root_path.rstrip("/")
    if root_path and (folder_path == root_path or folder_path.startswith(root_path + "/")):
        relative = folder_path[len(root_path) :].lstrip("/")
    else:
        relative = folder_path.lstrip("/")
    return relative.split("/", 1)[0], relative, folder_path


#: What a section's date is, in its group lines.
DATE_LABELS = {
    "expiring": "due",
    "overdue": "deadline",
    "quarantined": "bytes deleted",
    "purged": "purged",
    "cleared": "cleared",
    "voided": "when",
    "attention": "deadline",
    "waiting": "since",
    "unreadable": "last tried",
}


def days_text(days_left: int) -> str:
    """Return "in 3 days", "today", "1 day late"."""
    if days_left == 0:
        return "today"
    count = abs(days_left)
    unit = "day" if count == 1 else "days"
    return f"{count} {unit} late" if days_left < 0 else f"in {count} {unit}"


def file_command(item: Item) -> str:
    """Return the file's own first command that decides (restore, clear, hold); not `tag`."""
    return next((c for c in item.commands if not c.startswith("provenance tag ")), "")


def group_command(
    section: str,
    path: str,
    items: Sequence[Item],
    *,
    at_root: bool = False,
    totals: Totals | None = None,
    needed: Needed | None = None,
) -> str:
    """Return the one command that would act on the group, or "" when none would.

    A group of one file acts on the file; a folder below its root on the folder (the
    command takes everything under it); several files at a root's own folder get none
    (a command on the root would take the whole root). ``totals``: every file of the
    folder, when ``items`` are only the first. ``needed``: what clearing every AI file
    under the folder needs (the `clear` names it; none is offered when no reference
    would do)."""
    if section not in ACTIONABLE:
        return ""
    count = len(items) if totals is None else totals.count
    if count == 1 and items:
        return next(
            iter(items[0].commands[1:] if section == "attention" else items[0].commands), ""
        )
    if at_root:
        return ""
    statuses = {item.status for item in items} if totals is None else set(totals.statuses)
    if section == "quarantined":
        return hold_command(path) if statuses & set(HOLDABLE) else ""
    needed = needed or Needed()
    if statuses & set(CLEARABLE) and needed.clearable:
        return clear_command(path, needed)
    if statuses & set(HOLDABLE):
        return hold_command(path)
    return ""


def _production_path(folder_path: str, folder: str, production: str) -> str:
    """Return the production folder's path from a folder's path below its root."""
    base = folder_path[: len(folder_path) - len(folder)].rstrip("/") or "/"
    return posixpath.join(base, production) if production else base


def group_items(
    section: str,
    items: Iterable[Item],
    totals: Mapping[tuple[str, str], Totals] | None = None,
    needs: Callable[[str], Needed] | None = None,
) -> tuple[Group, ...]:
    """Return ``items`` by root, then folder (production first), each group's files by date.

    ``totals`` (by root folder and folder path): every file of the section in a folder,
    when ``items`` are only the section's first. ``needs``: what clearing every AI file
    under a folder needs, by the folder's path (``ClearNeeds.folder``).
    """
    buckets: dict[tuple[str, str], list[Item]] = {}
    root_paths: dict[tuple[str, str], str] = {}
    places: dict[tuple[str, str], tuple[str, str, str]] = {}
    for item in items:
        production, relative, folder_path = place(item)
        key = (item.root, folder_path)
        buckets.setdefault(key, []).append(item)
        places[key] = (production, relative, folder_path)
        root_paths[key] = item.root_path
    groups = []
    for key in sorted(buckets, key=lambda k: (k[0], places[k][1])):
        production, relative, folder_path = places[key]
        members = tuple(sorted(buckets[key], key=_when_key))
        counted = None if totals is None else totals.get((root_paths[key], folder_path))
        if counted is not None and counted.count < len(members):
            counted = None  # a file added since the count: the named files are the truth
        production_path = _production_path(folder_path, relative, production)
        groups.append(
            Group(
                section=section,
                root=key[0],
                owner=members[0].owner,
                production=production,
                folder=relative,
                path=folder_path,
                items=members,
                command=group_command(
                    section,
                    folder_path,
                    members,
                    at_root=not relative,
                    totals=counted,
                    needed=needs(folder_path) if needs is not None else None,
                ),
                totals=counted,
                production_needs=needs(production_path) if needs is not None else None,
            )
        )
    return tuple(groups)


def summed(groups: Sequence[Group]) -> Totals | None:
    """Return the totals of ``groups`` together, or None when none of them has totals."""
    if all(group.totals is None for group in groups):
        return None
    statuses: dict[str, int] = {}
    for group in groups:
        for status, n in group.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    return Totals(
        sum(group.count for group in groups), sum(group.size for group in groups), statuses
    )


def productions(groups: Sequence[Group]) -> list[tuple[Group, list[Group]]]:
    """Return the folder groups under their production: a group of all of the production's
    files (its folder, counts and one command on it) with its folder groups, in order."""
    out: dict[tuple[str, str], list[Group]] = {}
    for group in groups:
        out.setdefault((group.root, group.production), []).append(group)
    result = []
    for (root, production), members in out.items():
        first = members[0]
        path = _production_path(first.path, first.folder, production)
        items = tuple(sorted((item for group in members for item in group.items), key=_when_key))
        totals = summed(members)
        needed = first.production_needs
        command = group_command(
            first.section, path, items, at_root=not production, totals=totals, needed=needed
        )
        whole = Group(
            first.section,
            root,
            first.owner,
            production,
            production,
            path,
            items,
            command,
            totals,
            production_needs=needed,
        )
        result.append((whole, members))
    return result


# --- what needs a decision now ------------------------------------------------------------


def _alert(
    kind: str, text: str, group: Group, items: Sequence[Item], command: str, count: int
) -> Alert:
    first = min(items, key=_when_key)
    return Alert(
        kind=kind,
        text=text,
        count=count,
        root=group.root,
        owner=group.owner,
        path=group.path,
        when=first.when,
        days_left=first.days_left,
        command=command,
    )


def _files(n: int) -> str:
    return "1 file" if n == 1 else f"{n} files"


def alerts(
    sections: Mapping[str, Sequence[Group]],
    *,
    unknown_tools: int = 0,
    tools_registered: bool = True,
) -> tuple[tuple[Alert, ...], int]:
    """Return the alerts ranked (soonest consequence first, then the most files) and how
    many more there are than ``ALERTS_SHOWN``.

    A missing tools registry is one alert, whatever the number of assets it concerns.
    """
    found: list[tuple[int, Alert]] = []  # (severity: lower first on the same day, alert)

    def soon(items: Sequence[Item]) -> list[Item]:
        return [i for i in items if i.days_left is not None and i.days_left <= SOON_DAYS]

    def every(items: Sequence[Item]) -> list[Item]:
        return list(items)

    kinds = (
        (
            "quarantined",
            0,
            "purge-soon",
            soon,
            f"quarantined, bytes deleted within {SOON_DAYS} days",
        ),
        ("overdue", 1, "overdue", every, "flagged or past the deadline: quarantined by a sweep"),
        ("expiring", 2, "due-soon", soon, f"due within {SOON_DAYS} days"),
        ("voided", 3, "voided", every, "lost a clearance this period"),
        ("attention", 4, "tool-or-risk", every, ""),
    )
    for key, severity, kind, pick, what in kinds:
        # one alert per production: a show's shots are its folders, a decision is per show
        for whole, folders in productions(sections.get(key, ())):
            items = pick(whole.items)
            if not items:
                continue
            where = {place(item)[2] for item in items}
            count = len(items)
            if pick is every:  # every file of the production, named or only counted
                where = {group.path for group in folders}
                count = whole.count
            spread = f" in {len(where)} folders" if len(where) > 1 else ""
            if what:
                text = f"{_files(count)}{spread} {what}"
            else:  # the tool or the risk, as the items say it
                reasons = list(dict.fromkeys(item.reason for item in items if item.reason))
                said = "; ".join(reasons[:3]) + ("; …" if len(reasons) > 3 else "")
                text = f"{_files(count)}{spread}: {said}"
            # the narrowest command: the file, the one folder, else the production
            if count == 1:
                command = file_command(items[0])
            elif len(where) == 1:
                command = next(g.command for g in folders if g.path in where)
            else:
                command = whole.command
            found.append((severity, _alert(kind, text, whole, items, command, count)))
    found.sort(
        key=lambda pair: (
            pair[1].days_left is None,
            pair[1].days_left if pair[1].days_left is not None else 0,
            pair[0],
            -pair[1].count,
            pair[1].path,
        )
    )
    ranked = [alert for _severity, alert in found]
    if not tools_registered and unknown_tools:
        ranked.insert(
            0,
            Alert(
                kind="no-tools-registry",
                text=(
                    "no tools registry configured ([[clearance.tools]]): every generator "
                    f"counts as unknown, so {unknown_tools} uncleared AI "
                    f"{'asset needs' if unknown_tools == 1 else 'assets need'} an escalation "
                    "(NFX-CONF3) before clearance"
                ),
                count=unknown_tools,
            ),
        )
    more = max(len(ranked) - ALERTS_SHOWN, 0)
    return tuple(ranked[:ALERTS_SHOWN]), more


__all__ = [
    "ACTIONABLE",
    "ALERTS_SHOWN",
    "DATE_LABELS",
    "SOON_DAYS",
    "Alert",
    "Group",
    "Totals",
    "alerts",
    "days_text",
    "group_command",
    "group_items",
    "place",
    "productions",
    "summed",
]
