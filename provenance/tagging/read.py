"""Find the tag of a file wherever it is: the sidecar first, then embedded XMP."""

from __future__ import annotations

import logging
from pathlib import Path

from provenance.errors import ReadError
from provenance.tagging.record import TagRecord
from provenance.tagging.sidecar import DEFAULT_PATTERN, read_sidecar

log = logging.getLogger(__name__)


def read_tag(path: Path, pattern: str = DEFAULT_PATTERN) -> TagRecord | None:
    """Return the file's record from its sidecar, else from its embedded XMP, else None.

    A broken sidecar does not hide a good embedded record (logged as a warning); when
    there is none, the sidecar's ReadError is raised.
    """
    from provenance.tagging.embed import read_embedded  # image formats load only if needed

    try:
        record = read_sidecar(path, pattern)
    except ReadError as sidecar_error:
        embedded = read_embedded(path)
        if embedded is None:
            raise
        log.warning("%s; using the embedded record", sidecar_error)
        return embedded
    return record if record is not None else read_embedded(path)
