"""``prune_thumbnails``: the pictures kept in the state folder (``files.thumbnails``) of
content no asset holds any more, deleted (``provenance thumbnails prune``, and the daemon's
nightly job)."""

from __future__ import annotations

from collections.abc import Sequence

from provenance.files.thumbnails import Pruned, ThumbnailCache
from provenance.service.context import App, Caller


def prune_thumbnails(app: App, caller: Caller, *, dry_run: bool = False) -> Pruned:
    """Delete the pictures, and the refusals remembered, of content that no asset holds any
    more (every file of it missing or purged); with ``dry_run``, only say which. Returns
    what went (or would go), how many were kept, and what was left alone and why."""
    caller.require("prune thumbnails")
    catalog = app.catalog

    def held(hashes: Sequence[str]) -> set[str]:
        with catalog.read() as tx:
            return tx.held_hashes(hashes)

    return ThumbnailCache(app.settings.state_path).prune(held, dry_run=dry_run)


__all__ = ["prune_thumbnails"]
