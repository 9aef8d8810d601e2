"""Root health: a root that is not mounted is offline, not empty (DESIGN rule 7); and the
path the catalog keys a file by (``resolve_path``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provenance.config import RootSettings


@dataclass(frozen=True)
class RootHealth:
    """Whether a root can be trusted to show what exists, and why not."""

    online: bool
    reason: str = ""


def check_root(root: RootSettings) -> RootHealth:
    """Return the health of ``root``: its folder must exist and its marker file, if any."""
    return check_folder(root.path, root.marker)


def check_folder(path: Path, marker: str = "") -> RootHealth:
    """Return the health of the root folder ``path`` whose marker file is ``marker``."""
    if not path.exists():
        return RootHealth(False, f"{path} does not exist (not mounted?)")
    if not path.is_dir():
        return RootHealth(False, f"{path} is not a folder")
    if not os.access(path, os.R_OK | os.X_OK):
        return RootHealth(False, f"{path} cannot be read")
    if marker and not (path / marker).exists():
        return RootHealth(False, f"marker file {marker} is missing under {path} (not mounted?)")
    return RootHealth(True)


def resolve_path(path: Path | str) -> str:
    """Return the absolute, normalised path string the catalog keys assets by (links not resolved
    in the file name, so a path names the link itself)."""
    absolute = Path(path).expanduser().absolute()
    return (
        str(absolute.parent.resolve() / absolute.name) if absolute.name else str(absolute.resolve())
    )
