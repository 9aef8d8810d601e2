"""The catalog: SQLModel tables, migrations and the one place that speaks SQL."""

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
