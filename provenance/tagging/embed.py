"""Embed the record as XMP inside JPEG and PNG files (opt-in), and read it back.

Embedding rewrites the original, so it is off by default (DESIGN rule 9) and refused for
any file that carries a C2PA manifest, embedded (JPEG APP11 JUMBF, PNG ``caBX``), remote
(``dcterms:provenance`` in its XMP) or beside it (``name.c2pa``): changing a byte would
break the manifest's hash binding. Only the XMP segment or chunk changes; every other byte,
pixel data included, is copied verbatim. The file is replaced atomically with its mode
(and, where allowed, owner) kept. Its modification time is *not* kept: the bytes changed,
and backup, sync and media-management tools rely on mtime to notice that. The content
hash changes too, which the caller must record.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import BinaryIO

from provenance.errors import ConfinementError, ReadError, Refusal, WriteError
from provenance.files.confined import OpenFile, open_root
from provenance.tagging import _jpeg, _png
from provenance.tagging._layout import FormatError, Layout
from provenance.tagging._xmp import PacketError, merge_packet, read_packet, refers_to_c2pa
from provenance.tagging.record import TagRecord

log = logging.getLogger(__name__)

_FORMATS = {"jpeg": _jpeg, "png": _png}
_COPY_BLOCK = 1024 * 1024


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(_png.SIGNATURE):
        return "png"
    return None


def _layout(handle: BinaryIO) -> tuple[str | None, Layout | None]:
    """Return the format name and layout; (None, None) for a format we cannot embed in."""
    kind = _sniff(handle.read(8))
    handle.seek(0)
    if kind is None:
        return None, None
    return kind, _FORMATS[kind].scan(handle)


def _refusal(path: Path, layout: Layout) -> str | None:
    """Return why this file must not be rewritten, or None."""
    if layout.c2pa:
        return "carries a C2PA manifest"
    if path.with_suffix(".c2pa").exists():
        return "has a C2PA manifest beside it (.c2pa)"
    try:
        if layout.xmp is not None and refers_to_c2pa(layout.xmp):
            return "refers to a remote C2PA manifest (dcterms:provenance)"
    except PacketError as exc:
        return f"has an XMP packet that cannot be merged: {exc}"
    return None


def can_embed(path: Path, data: bytes | None = None) -> tuple[bool, str]:
    """Return ``(True, "jpeg" | "png")`` if XMP may be embedded, else ``(False, reason)``.

    ``data`` is the whole file if the caller has already read it. Reasons include
    ``"carries a C2PA manifest"`` and ``"format not supported for embedding"``.
    """
    try:
        with io.BytesIO(data) if data is not None else path.open("rb") as handle:
            kind, layout = _layout(handle)
    except OSError as exc:
        return False, f"cannot read: {exc.strerror}"
    except FormatError as exc:
        return False, f"cannot parse: {exc}"
    if kind is None or layout is None:
        return False, "format not supported for embedding (JPEG and PNG are)"
    reason = _refusal(path, layout)
    return (False, reason) if reason else (True, kind)


def _copy(source: BinaryIO, start: int, end: int | None, out: BinaryIO, path: Path) -> None:
    source.seek(start)
    remaining = None if end is None else end - start
    while remaining is None or remaining > 0:
        block = source.read(_COPY_BLOCK if remaining is None else min(remaining, _COPY_BLOCK))
        if not block:
            if remaining:
                raise WriteError(path, "file shrank while it was being tagged")
            return
        out.write(block)
        if remaining is not None:
            remaining -= len(block)


def _open_to_rewrite(path: Path, root: Path | str | None) -> OpenFile:
    """Open the file at ``path`` from ``root`` (its own folder without one), no link followed."""
    try:
        with open_root(root if root is not None else path.parent) as top:
            if root is not None:
                return top.open_file(path)
            folder = top.folder([])
            try:
                return folder.open_file(path.name)
            except BaseException:
                folder.close()
                raise
    except ConfinementError as exc:
        if exc.kind in (Refusal.NOT_REGULAR, Refusal.SYMLINK):
            raise WriteError(
                path, f"not a regular file (symbolic links are not rewritten): {exc.reason}"
            ) from exc
        raise WriteError(path, f"not rewritten: {exc.reason}") from exc


def embed_xmp(
    path: Path, record: TagRecord, *, root: Path | str | None = None, dry_run: bool = False
) -> None:
    """Write ``record`` into the file's own XMP packet, merging with what is there.

    The file is reached from ``root`` following no link (its own folder when no root is
    given), read through that open file, and replaced in its folder only if its name still
    leads to it, unchanged, just before the replace (``provenance.files.confined``).
    Raises WriteError when the format is not supported, the file carries a C2PA manifest,
    it is a symbolic link, its structure or XMP is broken, or it changed during the write.
    """
    opened = _open_to_rewrite(path, root)
    with opened, opened.folder, opened.stream() as source:
        try:
            kind, layout = _layout(source)
        except FormatError as exc:
            raise WriteError(path, f"not rewritten: {exc}") from exc
        if kind is None or layout is None:
            raise WriteError(path, "format not supported for embedding (JPEG and PNG are)")
        reason = _refusal(path, layout)
        if reason:
            raise WriteError(path, f"not rewritten: {reason}")
        try:
            packet = merge_packet(layout.xmp, record)
            part = _FORMATS[kind].encode(packet)
        except (PacketError, FormatError) as exc:
            raise WriteError(path, f"not rewritten: {exc}") from exc
        if packet == layout.xmp:
            log.debug("%s: embedded XMP already up to date", path)
            return
        if dry_run:
            log.info("dry run: would embed XMP in %s", path)
            return
        like = os.fstat(opened.fd)
        with opened.folder.replacing(opened.name, like, expect=opened) as out:
            out.write(layout.head)
            for index, (start, end) in enumerate(layout.parts):
                if index == layout.insert_at and layout.xmp_index is None:
                    out.write(part)
                if index == layout.xmp_index:
                    out.write(part)
                else:
                    _copy(source, start, end, out, path)
            if layout.insert_at == len(layout.parts) and layout.xmp_index is None:
                out.write(part)
            _copy(source, layout.rest, None, out, path)
    log.info("tagged %s (embedded XMP)", path)


def read_embedded(path: Path) -> TagRecord | None:
    """Return the record in the file's embedded XMP; None if the format or packet has none.

    Only the header is read (JPEG segments up to the image data, PNG chunk headers).
    Raises ReadError for a broken file or packet.
    """
    try:
        with path.open("rb") as handle:
            _, layout = _layout(handle)
    except OSError as exc:
        raise ReadError(path, f"cannot read: {exc.strerror}") from exc
    except FormatError as exc:
        raise ReadError(path, str(exc)) from exc
    if layout is None or layout.xmp is None:
        return None
    try:
        return read_packet(layout.xmp)
    except PacketError as exc:
        raise ReadError(path, f"embedded XMP: {exc}") from exc
