"""Root health: a root that is not mounted is offline, not empty (DESIGN rule 7)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from provenance.config import RootSettings


@dataclass(frozen=True)
class RootHealth:
    """Whether a root can be trusted to show what exists, and why not."""

    online: bool
    reason: str = ""


def check_root(root: RootSettings) -> RootHealth:
    """Return the health of ``root``: its folder must exist and its marker file, if any."""
    path = root.path
    if not path.exists():
        return RootHealth(False, f"{path} does not exist (not mounted?)")
    if not path.is_dir():
        return RootHealth(False, f"{path} is not a folder")
    if not os.access(path, os.R_OK | os.X_OK):
        return RootHealth(False, f"{path} cannot be read")
    if root.marker and not (path / root.marker).exists():
        return RootHealth(
            False, f"marker file {root.marker} is missing under {path} (not mounted?)"
        )
    return RootHealth(True)
