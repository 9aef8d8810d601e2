"""The exceptions provenance raises; the CLI turns each into one ``error: ...`` line."""

from __future__ import annotations

from enum import StrEnum
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


class Refusal(StrEnum):
    """What kind of thing a ``ConfinementError`` refused: callers branch on this, never on
    the wording of its reason."""

    #: A folder or file on the way does not exist.
    NOT_FOUND = "not found"
    #: A symbolic link stands where a folder or file was expected (never followed).
    SYMLINK = "symbolic link"
    #: Not a regular file (a FIFO, a device, a folder where a file was expected).
    NOT_REGULAR = "not a regular file"
    #: Not a folder where a folder was expected.
    NOT_FOLDER = "not a folder"
    #: The file changed, or its name leads to another file, since it was checked.
    CHANGED = "changed"
    #: Outside the root, not a plain name, or not where it belongs (the quarantine folder).
    OUTSIDE = "outside"
    #: Larger than the budget of the read.
    TOO_LARGE = "too large"
    #: The folder, file or root cannot be opened or read (no right, offline, an I/O error).
    UNREACHABLE = "unreachable"
    #: Owned by another user than the one expected.
    NOT_OURS = "not ours"


class ConfinementError(ProvenanceError):
    """A path cannot be reached inside its root without following a link, or the file
    found is not the one checked: the step is skipped with ``reason``, never "fixed".
    ``kind`` says which of these it is (a :class:`Refusal`)."""

    def __init__(self, path: Path | str, reason: str, kind: Refusal = Refusal.UNREACHABLE) -> None:
        self.path = Path(path)
        self.reason = reason
        self.kind = kind
        super().__init__(f"{path}: {reason}")


class ClearanceError(ProvenanceError):
    """A clearance was refused: not an approver, or evidence missing."""


class ReportError(ProvenanceError):
    """The weekly report could not be written or e-mailed."""


class NotifyError(ProvenanceError):
    """A webhook could not be sent a notification (tried again later, unless the receiver
    refused it for good: ``permanent``)."""

    def __init__(
        self, message: str, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        #: Seconds the receiver asked to wait (its Retry-After header), if it did.
        self.retry_after = retry_after
        #: The HTTP status the receiver answered, None when it gave no answer.
        self.http_status = status

    @property
    def permanent(self) -> bool:
        """Whether the receiver refused this notice for good: a 4xx other than 408 (timeout)
        and 429 (too many requests). Sending it again would be refused again."""
        return (
            self.http_status is not None
            and 400 <= self.http_status < 500
            and self.http_status not in (408, 429)
        )


class AuditError(ProvenanceError):
    """The audit trail cannot be written or does not verify (key, anchor, chain, state)."""


class PermissionDeniedError(ProvenanceError):
    """The caller's roles do not allow the action."""


class NotInCatalogError(ProvenanceError):
    """A path or asset id the catalog does not know."""
