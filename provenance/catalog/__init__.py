"""The catalog: SQLModel tables, migrations and the one place that speaks SQL."""

from provenance.catalog.models import (
    STATUSES,
    Asset,
    Event,
    Hold,
    JournalEntry,
    ScanRun,
    SignalRow,
    utcnow,
)
from provenance.catalog.store import Catalog, KnownFile, Tx, redact_url

__all__ = [
    "STATUSES",
    "Asset",
    "Catalog",
    "Event",
    "Hold",
    "JournalEntry",
    "KnownFile",
    "ScanRun",
    "SignalRow",
    "Tx",
    "redact_url",
    "utcnow",
]
