"""The catalog: SQLModel tables, migrations and the one place that speaks SQL.

Its names load on first use: ``peek`` (whether a SQLite catalog knows a root, asked with the
standard library) can run before SQLAlchemy and the models are loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance import lazy_exports

if TYPE_CHECKING:
    from provenance.catalog.engine import Catalog, redact_url, url_problem
    from provenance.catalog.known import KnownFile
    from provenance.catalog.models import (
        Asset,
        Clearance,
        Event,
        Hold,
        JournalEntry,
        ScanRun,
        SignalRow,
        Unreadable,
        utcnow,
    )
    from provenance.catalog.store import EventSpec, Tx

#: Where each name lives.
_EXPORTS = {
    "Catalog": "provenance.catalog.engine",
    "redact_url": "provenance.catalog.engine",
    "url_problem": "provenance.catalog.engine",
    "KnownFile": "provenance.catalog.known",
    "Asset": "provenance.catalog.models",
    "Clearance": "provenance.catalog.models",
    "Event": "provenance.catalog.models",
    "Hold": "provenance.catalog.models",
    "JournalEntry": "provenance.catalog.models",
    "ScanRun": "provenance.catalog.models",
    "SignalRow": "provenance.catalog.models",
    "Unreadable": "provenance.catalog.models",
    "utcnow": "provenance.catalog.models",
    "EventSpec": "provenance.catalog.store",
    "Tx": "provenance.catalog.store",
}

__all__ = [
    "Asset",
    "Catalog",
    "Clearance",
    "Event",
    "EventSpec",
    "Hold",
    "JournalEntry",
    "KnownFile",
    "ScanRun",
    "SignalRow",
    "Tx",
    "Unreadable",
    "redact_url",
    "url_problem",
    "utcnow",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
