"""The exceptions provenance raises; the CLI turns each into one ``error: ...`` line."""

from __future__ import annotations

from pathlib import Path


class ProvenanceError(Exception):
    """Base of every error a user can cause or fix."""


class ConfigError(ProvenanceError):
    """The configuration file or a setting is invalid; the message lists every problem."""


class CatalogError(ProvenanceError):
    """The catalog cannot be opened, migrated or written."""


class RowRefusedError(CatalogError):
    """The catalog refused a value of a row (bad data, a constraint): the same write would
    fail again, while the catalog itself is fine; the rows of the batch are written apart."""


class MetadataError(ProvenanceError):
    """A file's metadata could not be read or written."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class ReadError(MetadataError):
    """A file could not be read or parsed (truncated, hostile, vanished)."""


class WriteError(MetadataError):
    """A tag or sidecar could not be written."""


class ScanError(ProvenanceError):
    """A scan cannot go on (for example, no room for the temporary file of a big walk)."""


class PurgeError(ProvenanceError):
    """A sweep, quarantine, purge or restore refused or failed."""


class TransitionError(ProvenanceError):
    """An asset was asked to go to a status the lifecycle does not allow from its own
    (``provenance.lifecycle.states``), or a status has a name the lifecycle lacks."""


class ConfinementError(ProvenanceError):
    """A path cannot be reached inside its root without following a link, or the file
    found is not the one checked: the step is skipped with ``reason``, never "fixed"."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class ClearanceError(ProvenanceError):
    """A clearance was refused: not an approver, or evidence missing."""


class ReportError(ProvenanceError):
    """The weekly report could not be written or e-mailed."""


class AuditError(ProvenanceError):
    """The audit trail cannot be written or does not verify (key, anchor, chain, state)."""


class PermissionDeniedError(ProvenanceError):
    """The caller's roles do not allow the action."""
