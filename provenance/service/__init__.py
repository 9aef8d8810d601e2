"""The actions, one function each, that every caller shares: the command line, the daemon and
a socket API. Each takes the ``App`` (settings, catalog), the ``Caller`` (who, as the kernel
says, and their roles) and plain values; checks the caller's role; and returns plain values
(dataclasses, provenance records) for the caller to render. No click and no SQL here: the
catalog speaks SQL, the CLI speaks click.

- ``context``: ``App``, ``Caller``, ``resolve_path``
- ``assets``: list, show, log, uncleared (what the catalog knows)
- ``decisions``: hold, release, clear, revoke, tag (a person's decision about assets)
- ``retention``: sweep, restore
- ``status``: the daemon, the roots and the catalog at a glance
"""
