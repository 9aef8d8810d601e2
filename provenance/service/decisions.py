"""A person's decisions about assets: ``hold`` and ``release`` (a custodian's), ``clear`` and
``revoke`` (an approver's), ``tag`` (a tagger's declaration of a tool and facts).

Paths are files or folders (a folder: everything at or under it), made absolute and normal as
the catalog keys them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from provenance.catalog import Asset, utcnow
from provenance.clearance import clear as clearing
from provenance.clearance.clear import ClearOutcome, ClearRequest, Revoked
from provenance.errors import PurgeError
from provenance.ingest.manual import ManualTag, tag_files
from provenance.retention import hold as holding
from provenance.retention.hold import HoldOutcome
from provenance.service.context import App, Caller, resolve_path
from provenance.service.remote import served


@served("hold", paths=("paths", "unseen"))
def hold(
    app: App,
    caller: Caller,
    paths: Sequence[str],
    reason: str,
    *,
    dry_run: bool = False,
    unseen: Sequence[str] = (),
) -> list[HoldOutcome]:
    """Place a legal hold on files or folders: what they hold is never moved, and files that
    arrive under a held folder later are held too. One outcome per path.

    ``unseen``: the paths the caller does not see (``unseen``, asked where the caller is):
    held only if the catalog knows them. With configured roots, a path outside every root
    is refused (PurgeError): nothing there is ever swept, and it is most likely a typo.
    """
    caller.require("hold")
    resolved = _resolved(paths)
    roots = [root.path for root in app.settings.roots]
    for path in resolved:
        if roots and not any(Path(path).is_relative_to(root) for root in roots):
            known = ", ".join(str(root) for root in roots)
            raise PurgeError(f"{path}: outside every root ({known}): nothing there is swept")
    return holding.hold(
        app.catalog,
        resolved,
        reason,
        caller.actor,
        utcnow(),
        dry_run=dry_run,
        unseen=set(_resolved(unseen)),
    )


def unseen(paths: Sequence[str]) -> list[str]:
    """Return the paths (absolute and normal, as the catalog keys them, links on the way
    resolved as this process sees them) that this process does not see: not there, or on a
    way that is not a folder. A path behind a folder it may not enter is seen (it may exist).
    Asked by the command line, where the user is, before a hold goes to the daemon."""
    missing = []
    for path in _resolved(paths):
        try:
            os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            missing.append(path)
        except OSError:
            continue
    return missing


@served("release", paths=("paths",))
def release(
    app: App, caller: Caller, paths: Sequence[str], *, dry_run: bool = False
) -> list[HoldOutcome]:
    """Release the holds placed on exactly these paths; one outcome per path."""
    caller.require("release")
    return holding.release(app.catalog, _resolved(paths), caller.actor, utcnow(), dry_run=dry_run)


@served("clear", paths=("paths",))
def clear(
    app: App,
    caller: Caller,
    paths: Sequence[str],
    request: ClearRequest,
    *,
    dry_run: bool = False,
) -> list[ClearOutcome]:
    """Clear AI files (or every AI file under folders) as final deliverables, with the
    evidence in ``request``; one outcome per asset."""
    caller.require("clear")
    return clearing.clear(
        app.settings,
        app.catalog,
        caller.actor,
        utcnow(),
        _resolved(paths),
        request,
        dry_run=dry_run,
    )


@served("revoke", paths=("paths",))
def revoke(
    app: App, caller: Caller, paths: Sequence[str], reason: str, *, dry_run: bool = False
) -> list[Revoked]:
    """Withdraw the clearance of files (or of every cleared file under folders): each goes
    back to temporary with a deadline from its retention policy. One outcome per asset."""
    caller.require("revoke")
    return clearing.revoke(
        app.settings_with_roots(),
        app.catalog,
        caller.actor,
        utcnow(),
        _resolved(paths),
        reason,
        dry_run=dry_run,
    )


@served("tag", paths=("paths",))
def tag(
    app: App, caller: Caller, paths: Sequence[str], manual: ManualTag, *, dry_run: bool = False
) -> list[Asset]:
    """Declare files AI output of a tool that left no mark, and the facts the clearance rules
    read; return the assets as tagged (none on a dry run). Facts that lower what a clearance
    needs are an approver's to declare."""
    caller.require("tag")
    return tag_files(
        app.settings,
        app.catalog,
        caller.actor,
        utcnow(),
        _resolved(paths),
        manual,
        dry_run=dry_run,
        grants=caller.grants,
    )


def _resolved(paths: Sequence[str]) -> list[str]:
    return [resolve_path(path) for path in paths]
