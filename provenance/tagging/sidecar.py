"""Write and read the XMP sidecar beside an AI file (the default, non-invasive tag)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from provenance.errors import ConfigError, ConfinementError, ProvenanceError, ReadError, WriteError
from provenance.files.confined import Folder, open_root
from provenance.tagging._xmp import PacketError, merge_packet, read_packet
from provenance.tagging.record import NS_PROVENANCE, TagRecord

log = logging.getLogger(__name__)

#: Larger sidecars are refused rather than parsed (real ones are a few kilobytes).
MAX_SIDECAR_BYTES = 16 * 1024 * 1024

DEFAULT_PATTERN = "{name}.xmp"

#: One sidecar to write: (root, file path, record).
SidecarJob = tuple[str, str, TagRecord]


def sidecar_path(path: Path, pattern: str = DEFAULT_PATTERN) -> Path:
    """Return the sidecar of ``path``: ``shot.png`` -> ``shot.png.xmp`` by default.

    In ``pattern``, ``{name}`` is the file name with its extension and ``{stem}`` without
    (``"{stem}.xmp"`` is Lightroom's convention, but then ``a.png`` and ``a.jpg`` share one
    sidecar and the last tag written wins). The sidecar is always in the same folder.
    Raises ConfigError for a pattern that names no file, leaves the folder or is not ``.xmp``.
    """
    if "{name}" not in pattern and "{stem}" not in pattern:
        raise ConfigError(f"sidecar pattern {pattern!r} must contain {{name}} or {{stem}}")
    name = pattern.replace("{name}", path.name).replace("{stem}", path.stem)
    leftover = pattern.replace("{name}", "").replace("{stem}", "")
    problem = None
    if "{" in leftover or "}" in leftover:
        problem = "only {name} and {stem} may appear in braces"
    elif "/" in pattern or "\\" in pattern or name in (".", ".."):
        problem = "the sidecar must be in the file's own folder"
    elif not name.lower().endswith(".xmp"):
        problem = "it must end with .xmp"
    if problem:
        raise ConfigError(f"sidecar pattern {pattern!r}: {problem}")
    return path.with_name(name)


def sidecar_missing(path: Path, pattern: str = DEFAULT_PATTERN) -> bool:
    """Return whether the file at ``path`` has no sidecar, or an empty one (one stat)."""
    try:
        return sidecar_path(path, pattern).stat().st_size == 0
    except FileNotFoundError:
        return True
    except OSError as exc:
        log.debug("%s: cannot stat its sidecar: %s", path, exc)
        return False


def _read_existing(sidecar: Path, error: type[ReadError] | type[WriteError]) -> bytes | None:
    """Return the sidecar's bytes, None if there is none; refuse links, folders, huge files.

    An empty sidecar (nothing but white space) counts as none: it holds nothing to keep, and
    it is what a new sidecar can be after a power cut (see ``write_sidecar``), so writing the
    tag again replaces it.
    """
    try:
        info = sidecar.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise error(sidecar, f"cannot stat sidecar: {exc.strerror}") from exc
    if stat.S_ISLNK(info.st_mode):
        raise error(sidecar, "sidecar is a symbolic link; not following it")
    if not stat.S_ISREG(info.st_mode):
        raise error(sidecar, "sidecar path exists and is not a regular file")
    if info.st_size > MAX_SIDECAR_BYTES:
        raise error(sidecar, f"sidecar is {info.st_size} bytes (limit {MAX_SIDECAR_BYTES})")
    try:
        data = sidecar.read_bytes()
    except OSError as exc:
        raise error(sidecar, f"cannot read sidecar: {exc.strerror}") from exc
    return data if data.strip() else None


def _existing_in(folder: Folder, name: str) -> tuple[bytes | None, os.stat_result | None]:
    """Return the sidecar ``name`` of ``folder`` (bytes and stat) as ``_read_existing`` does,
    read through the open folder: never a link, a folder or a huge file."""
    info = folder.lstat(name)
    sidecar = folder.path / name
    if info is None:
        return None, None
    if stat.S_ISLNK(info.st_mode):
        raise WriteError(sidecar, "sidecar is a symbolic link; not following it")
    if not stat.S_ISREG(info.st_mode):
        raise WriteError(sidecar, "sidecar path exists and is not a regular file")
    try:
        with folder.open_file(name) as file:
            data = file.read(MAX_SIDECAR_BYTES)
    except ConfinementError as exc:
        raise WriteError(sidecar, exc.reason) from exc
    return (data if data.strip() else None), info


def write_sidecar(
    path: Path,
    record: TagRecord,
    pattern: str = DEFAULT_PATTERN,
    *,
    root: Path | str | None = None,
    dry_run: bool = False,
) -> Path:
    """Write ``record`` to the sidecar of ``path`` and return the sidecar's path.

    The sidecar's folder is reached from ``root`` one folder at a time, following no link
    (``provenance.files.confined``); every caller in the package passes the file's root.
    Without one, the file's own folder is the root (for tools and tests).

    An existing sidecar from another tool (darktable, Lightroom, Capture One) is merged,
    never clobbered: its elements, attributes and comments stay, only our properties
    (and DigitalSourceType, see ``merge_packet``) change, and its mode is kept. The write
    is atomic; only a sidecar that replaces another is synced to the disk. With
    ``dry_run`` nothing is written, but an existing sidecar is still
    checked. Raises WriteError for a malformed or hostile existing sidecar (left
    untouched), a missing file, a folder we cannot write or cannot reach without
    following a link.
    """
    sidecar = sidecar_path(path, pattern)
    try:
        with open_root(root if root is not None else path.parent) as top:
            folder = top.folder(top.parts(path)[:-1]) if root is not None else top.folder([])
    except ConfinementError as exc:
        raise WriteError(path, f"no sidecar written: {exc}") from exc
    with folder:
        info = folder.lstat(path.name)
        if info is None or not stat.S_ISREG(info.st_mode):
            raise WriteError(path, "file not found; no sidecar written")
        existing, existing_info = _existing_in(folder, sidecar.name)
        try:
            packet = merge_packet(existing, record)
        except PacketError as exc:
            raise WriteError(sidecar, f"existing sidecar left untouched: {exc}") from exc
        _warn_if_another_asset(sidecar, existing, record)
        if existing == packet:
            log.debug("%s: sidecar already up to date", sidecar)
            return sidecar
        if dry_run:
            log.info("dry run: would write sidecar %s", sidecar)
            return sidecar
        # a new sidecar is not synced to the disk: its record is in the catalog, and a
        # re-scan writes a sidecar that a power cut left missing or empty again; one that
        # replaces another is (the old content stays until the new one is on the disk)
        # Whoever may read the file may read its sidecar (the daemon's own umask is 0077).
        durable = existing is not None
        mode = info.st_mode & 0o666
        with folder.replacing(sidecar.name, existing_info, durable=durable, mode=mode) as handle:
            handle.write(packet)
    log.info("tagged %s (sidecar %s)", path, sidecar.name)
    return sidecar


def write_sidecars(jobs: list[SidecarJob], pattern: str = DEFAULT_PATTERN) -> int:
    """Write each (root, file path, record) sidecar; return how many were written.

    A scan runs this in its reader's worker processes, off the catalog writer's path. A
    sidecar that cannot be written is logged and skipped (the catalog is the source of truth).
    """
    written = 0
    for root, path, record in jobs:
        try:
            write_sidecar(Path(path), record, pattern, root=root)
        except (ProvenanceError, OSError) as exc:
            log.warning("cannot write tag for %s: %s", path, exc)
            continue
        written += 1
    return written


def _warn_if_another_asset(sidecar: Path, existing: bytes | None, record: TagRecord) -> None:
    """A ``{stem}`` pattern or a copied sidecar can hold another asset's tag; say so."""
    if existing is None:
        return
    try:
        earlier = read_packet(existing)
    except PacketError as exc:  # an incomplete record of ours is simply replaced
        log.debug("%s: earlier record unreadable: %s", sidecar, exc)
        return
    if earlier is not None and earlier.asset_uid != record.asset_uid:
        log.warning("%s: replacing the tag of asset %s", sidecar, earlier.asset_uid)


def read_sidecar(path: Path, pattern: str = DEFAULT_PATTERN) -> TagRecord | None:
    """Return the record in the sidecar of ``path``; None if no sidecar or none of our data.

    Raises ReadError for a sidecar that is malformed, hostile or holds an incomplete record.
    """
    sidecar = sidecar_path(path, pattern)
    data = _read_existing(sidecar, ReadError)
    if data is None:
        return None
    try:
        return read_packet(data)
    except PacketError as exc:
        raise ReadError(sidecar, str(exc)) from exc


def is_own_sidecar(path: Path) -> bool:
    """Return True if ``path`` is a ``.xmp`` file carrying our namespace (scanners skip it).

    Only the bytes are searched for the namespace URI; nothing is parsed, so a hostile
    file cannot hurt here.
    """
    if path.suffix.lower() != ".xmp":
        return False
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SIDECAR_BYTES:
            return False
        return NS_PROVENANCE.encode() in path.read_bytes()
    except OSError as exc:
        log.debug("%s: cannot read: %s", path, exc)
        return False
