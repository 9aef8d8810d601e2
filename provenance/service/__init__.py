"""The actions, one function each, that every front end shares (the command line, the
daemon's jobs and its socket). Each takes the ``App`` (settings, catalog), the ``Caller``
(who, as the kernel says, and their roles) and plain values; checks the caller's role; and
returns plain values (dataclasses, provenance records) for the caller to render. No click and
no SQL here: the catalog speaks SQL, the CLI speaks click.

- ``context``: ``App``, ``Caller``, ``resolve_path``
- ``scan``: ``prepare`` (the roots, the readers, the head start) and ``scan``
- ``assets``: list, show, log, uncleared (what the catalog knows)
- ``decisions``: hold, release, clear, revoke, tag (a person's decision about assets)
- ``integrity``: audit verify, the audit key, anchor, fixity
- ``report``: the expiry report once, or sent as the weekly job does
- ``retention``: sweep, restore, settle (the steps a crash interrupted)
- ``status``: the daemon, the roots and the catalog at a glance
- ``metrics``: the catalog's counts that status and the daemon's metrics read
- ``daemon``: run the daemon, its systemd unit
- ``config``: check a config file, show the settings in effect
- ``thumbnails``: the pictures kept of content no asset holds, pruned

The modules load on use (none is imported here), so a command loads only its own.
"""
