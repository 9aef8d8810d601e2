"""Thumbnails and poster frames: a small picture of an asset's content, made in a reader's
worker within the file's budget and kept by content hash in the state directory.

A picture is made on demand (the HTML report, the review queue ask for it), never while a
scan reads: a scan decodes no pixel, and most assets are never looked at. What was made is
kept (``thumbnails/`` in the state directory, 0700, each file 0600) under the content hash
it shows, so it is made once per content whatever the file's name, and a file that changes
gets a new one; a file the budgets refuse (over its time or memory, a decompression bomb,
a format that cannot be decoded) is remembered as refused for that content and not tried
again. Pictures and refusals of content no asset holds any more are pruned
(``ThumbnailCache.prune``, asked by ``service.thumbnails``), through ``files.confined``.

In the worker (``make_thumbnail``): the file is opened from its root one folder at a time
(``files.confined``: no link followed, regular files only), its media type named by its
first bytes, its content checked against the content hash asked for (another content gets
no picture), then decoded:

- images (JPEG, PNG, WebP, GIF, TIFF) with Pillow, and only those of its decoders: JPEG
  in draft mode (decoded at 1/2 to 1/8 scale), any image over ``MAX_PIXELS`` refused as a
  decompression bomb before a pixel is decoded, the first frame of an animation;
- video (MP4, QuickTime, Matroska/WebM, AVI): a poster frame, the first frame, decoded by
  the ``ffmpeg`` program when it is installed (``[thumbnails] ffmpeg``), given the file's
  open descriptor (never its name), only that demuxer and only the file protocol, within
  what is left of the file's time budget and under the worker's memory limit; without
  ffmpeg a video gets no picture.

A picture is WebP, at most ``MAX_SIDE`` pixels on its longer side and ``MAX_BYTES`` bytes.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence, Set
from concurrent.futures import BrokenExecutor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from provenance.errors import ConfinementError, ProvenanceError, Refusal
from provenance.files.confined import Folder, open_folder, open_root, unlink
from provenance.files.hashing import PREFIX
from provenance.files.workers import arm_budget, disarm_budget

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

    from provenance.files.reader import FileReader, ReadOptions

log = logging.getLogger(__name__)

#: The longer side of a picture, in pixels.
MAX_SIDE = 128
#: The most bytes a picture holds: one over it is made again at a lower quality, or refused.
MAX_BYTES = 12 * 1024
#: WebP qualities tried in turn until the picture fits ``MAX_BYTES``.
QUALITIES = (60, 40, 20)
#: The media type of every picture.
MEDIA_TYPE = "image/webp"
#: The most pixels an image may have (its header says how many) before anything is decoded:
#: 64 million, an 8K frame twice over. More is refused as a decompression bomb.
MAX_PIXELS = 64_000_000
#: The largest file a picture is made of (it is read whole to check its content hash).
MAX_FILE_BYTES = 1024 * 1024 * 1024
#: The most bytes of a poster frame ffmpeg may hand back (a PNG of at most 320 x 320).
MAX_FRAME_BYTES = 4 * 1024 * 1024
#: The folder in the state directory that keeps the pictures.
CACHE_DIR = "thumbnails"
#: Seconds a worker that made pictures waits for more before it ends.
IDLE_AFTER = 60.0

#: Media type -> the Pillow decoders allowed for it (no other is ever tried).
IMAGE_FORMATS: dict[str, tuple[str, ...]] = {
    "image/jpeg": ("JPEG", "MPO"),
    "image/png": ("PNG",),
    "image/webp": ("WEBP",),
    "image/gif": ("GIF",),
    "image/tiff": ("TIFF",),
}
#: Media type -> the one ffmpeg demuxer allowed for it.
VIDEO_DEMUXERS: dict[str, str] = {
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/x-matroska": "matroska",
    "video/webm": "matroska",
    "video/x-msvideo": "avi",
}

_HASH = re.compile(r"blake3:[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-f]{64}")
_SHARD = re.compile(r"[0-9a-f]{2}")
#: The files the cache keeps, by suffix: a picture, or a refusal remembered (its reason inside).
KINDS = {"webp": "picture", "none": "refusal"}


class NoPictureError(Exception):
    """No picture for this content, and why; ``lasting``: the same bytes would be refused
    again (remembered), else it may work later (the file moved, ffmpeg was installed)."""

    def __init__(self, reason: str, *, lasting: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.lasting = lasting


@dataclass(frozen=True)
class Wanted:
    """A picture asked for: the file (its root and path) and the content it must hold."""

    root: str
    path: str
    content_hash: str


@dataclass(frozen=True)
class Made:
    """What a worker made of a file: the picture, or None and why."""

    content_hash: str
    data: bytes | None
    reason: str = ""
    #: For a refusal: the same content would be refused again (so it is remembered).
    lasting: bool = False


# --- in the worker --------------------------------------------------------------------------


def make_thumbnail(wanted: Wanted, options: ReadOptions, ffmpeg: str = "") -> Made:
    """Make the picture of ``wanted`` in a reader's worker, within the file's budget (the
    worker is ended past its time; an allocation past its memory fails)."""
    started = time.monotonic()
    arm_budget(options.budget(0))
    try:
        with open_root(wanted.root) as top, top.open_file(wanted.path) as file, file.folder:
            size = file.identity.size
            budget = options.budget(size)
            arm_budget(budget)
            if size > MAX_FILE_BYTES:
                raise NoPictureError(f"larger than {MAX_FILE_BYTES >> 20} MiB: no picture")
            kind = _sniff(os.pread(file.fd, 64, 0))
            program = ""
            if kind in VIDEO_DEMUXERS:
                program = (shutil.which(ffmpeg) if ffmpeg else None) or ""
                if not program:
                    raise NoPictureError("a video: no poster frame without ffmpeg", lasting=False)
            elif kind not in IMAGE_FORMATS:
                raise NoPictureError(f"no picture of {kind}")
            if file.content_hash() != wanted.content_hash:
                raise NoPictureError("its content changed since it was catalogued", lasting=False)
            if program:
                left = budget - (time.monotonic() - started) - 1.0
                frame = poster_frame(program, file.fd, VIDEO_DEMUXERS[kind], left)
                data = picture(io.BytesIO(frame), ("PNG",))
            else:
                with file.stream() as stream:
                    data = picture(stream, IMAGE_FORMATS[kind])
            if (os.fstat(file.fd).st_size, os.fstat(file.fd).st_mtime_ns) != (
                size,
                file.identity.mtime_ns,
            ):
                raise NoPictureError("changed while it was read", lasting=False)
        return Made(wanted.content_hash, data)
    except NoPictureError as exc:
        return Made(wanted.content_hash, None, exc.reason, exc.lasting)
    except ConfinementError as exc:
        return Made(wanted.content_hash, None, exc.reason, lasting=False)
    except MemoryError:
        return Made(
            wanted.content_hash,
            None,
            f"needs more than its memory budget ({options.memory_mb} MiB)",
            lasting=True,
        )
    except OSError as exc:
        return Made(wanted.content_hash, None, f"cannot read ({exc.strerror or exc})")
    finally:
        disarm_budget()


def _sniff(head: bytes) -> str:
    from provenance.detect.formats.sniff import sniff_media_type

    return sniff_media_type(head)


def picture(stream: IO[bytes], formats: Iterable[str]) -> bytes:
    """Return the WebP picture of the image in ``stream``, decoded only by Pillow's
    ``formats``; NoPictureError when it is a decompression bomb, cannot be decoded, or makes no
    picture within ``MAX_BYTES``."""
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            # over MAX_IMAGE_PIXELS Pillow warns (twice that, it raises): both refuse here
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream, formats=list(formats)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS or not width or not height:
                    raise NoPictureError(
                        f"{width} x {height} pixels: refused as a decompression bomb"
                    )
                if image.format in ("JPEG", "MPO"):
                    image.draft(None, (MAX_SIDE, MAX_SIDE))  # decoded at 1/2, 1/4 or 1/8 scale
                image.thumbnail((MAX_SIDE, MAX_SIDE))
                small = ImageOps.exif_transpose(image) or image
                small = _viewable(small)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise NoPictureError(f"refused as a decompression bomb ({exc})"[:300]) from None
    except NoPictureError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # a decoder's error on a hostile or broken file: no picture
        raise NoPictureError(f"cannot be decoded ({type(exc).__name__}: {exc})"[:300]) from None
    for quality in QUALITIES:
        out = io.BytesIO()
        small.save(out, "WEBP", quality=quality, method=4)
        if out.tell() <= MAX_BYTES:
            return out.getvalue()
    raise NoPictureError(f"no picture within {MAX_BYTES} bytes")


def _viewable(image: PILImage) -> PILImage:
    """Return ``image`` in a mode WebP keeps: RGB, or RGBA when it is transparent; 16-bit
    and float images scaled to 8 bits first."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    elif image.mode == "F":
        image = image.point(lambda value: value * 255).convert("L")
    transparent = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    return image.convert("RGBA" if transparent else "RGB")


def poster_frame(program: str, fd: int, demuxer: str, seconds: float) -> bytes:
    """Return the first video frame of the open file ``fd`` as a PNG (at most 320 pixels on a
    side), decoded by ffmpeg (``program``) with only ``demuxer`` and the file protocol, in
    ``seconds`` at most; NoPictureError when it cannot."""
    if seconds <= 0:
        raise NoPictureError("no time left in its budget for a poster frame")
    command = [
        program,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        "file",
        "-f",
        demuxer,
        "-threads",
        "1",
        "-i",
        f"/dev/fd/{fd}",  # the descriptor opened from the root: never the file's name
        "-map",
        "0:v:0",
        "-frames:v",
        "1",
        "-vf",
        "scale=w=320:h=320:force_original_aspect_ratio=decrease",
        "-f",
        "image2pipe",
        "-c:v",
        "png",
        "pipe:1",
    ]
    try:
        done = subprocess.run(
            command,
            pass_fds=(fd,),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=seconds,
            check=False,
            env={"PATH": os.defpath, "LC_ALL": "C"},
        )
    except subprocess.TimeoutExpired:
        raise NoPictureError(f"ffmpeg took longer than {seconds:.3g} s: no poster frame") from None
    except OSError as exc:
        raise NoPictureError(f"cannot run ffmpeg ({exc.strerror or exc})", lasting=False) from None
    if done.returncode != 0 or not done.stdout:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = said[-1][:200] if said else f"exit status {done.returncode}"
        raise NoPictureError(f"no poster frame: ffmpeg: {why}")
    if len(done.stdout) > MAX_FRAME_BYTES:
        raise NoPictureError("no poster frame: ffmpeg gave too much back")
    return done.stdout


# --- in the caller --------------------------------------------------------------------------


@dataclass(frozen=True)
class Discarded:
    """A file of the cache pruned (or, in a dry run, to be): the content it was of, whether
    it was a ``picture`` or a remembered ``refusal``, and its size in bytes."""

    content_hash: str
    kind: str
    size: int


@dataclass
class Pruned:
    """What a pruning of the cache did (``dry_run``: would do)."""

    dry_run: bool
    removed: list[Discarded] = field(default_factory=list)
    #: Files kept: their content is still held.
    kept: int = 0
    #: What was left alone, and why (changed as it was looked at, a link, unreadable).
    left: list[str] = field(default_factory=list)


class ThumbnailCache:
    """The pictures made, by content hash, in ``thumbnails/`` of the state directory: a
    picture as ``HEX.webp``, a lasting refusal as ``HEX.none`` (its reason inside); two
    levels of folders (``ab/``) keep each folder small."""

    def __init__(self, state_path: Path) -> None:
        self.folder = state_path / CACHE_DIR

    def _place(self, content_hash: str) -> tuple[Path, str]:
        if not _HASH.fullmatch(content_hash):
            raise ValueError(f"not a content hash: {content_hash!r}")
        hexdigest = content_hash.split(":", 1)[1]
        return self.folder / hexdigest[:2], hexdigest

    def get(self, content_hash: str) -> bytes | NoPictureError | None:
        """Return the picture kept for ``content_hash``, the refusal remembered, or None."""
        folder_path, name = self._place(content_hash)
        try:
            with open_folder(folder_path) as folder:
                for suffix in (".webp", ".none"):
                    try:
                        with folder.open_file(name + suffix) as opened:
                            data = opened.read(MAX_BYTES)
                    except ConfinementError as exc:
                        if exc.kind is Refusal.NOT_FOUND:
                            continue
                        raise
                    if suffix == ".none":
                        return NoPictureError(data.decode("utf-8", "replace"))
                    return data
        except ConfinementError as exc:
            if exc.kind is not Refusal.NOT_FOUND:
                log.warning("thumbnails: %s", exc)
        except OSError as exc:
            log.warning("thumbnails: cannot read %s: %s", folder_path, exc.strerror)
        return None

    def put(self, made: Made) -> None:
        """Keep a picture, or a lasting refusal; a passing refusal is not kept."""
        if made.data is None and not made.lasting:
            return
        folder_path, name = self._place(made.content_hash)
        try:
            with open_folder(folder_path, create=True, mode=0o700) as folder:
                if made.data is not None:
                    folder.write_bytes(name + ".webp", made.data, mode=0o600, durable=False)
                else:
                    reason = made.reason.encode("utf-8")[: MAX_BYTES // 2]
                    folder.write_bytes(name + ".none", reason, mode=0o600, durable=False)
        except (ProvenanceError, OSError) as exc:  # a picture not kept is made again next time
            log.warning("thumbnails: cannot keep a picture in %s: %s", folder_path, exc)

    def prune(self, held: Callable[[Sequence[str]], Set[str]], *, dry_run: bool = False) -> Pruned:
        """Delete the pictures and remembered refusals of content that ``held`` (asked with
        the content hashes of one folder of the cache at a time) no longer names; with
        ``dry_run``, only say which.

        Each file is opened from the state folder's descriptor, following no link (a link,
        or anything but a regular file, is left alone), and checked just before it goes
        (``files.confined.unlink``: the same file, unchanged, still at its name). A name
        that is not one of ours (``HEX.webp``, ``HEX.none``) is left alone."""
        pruned = Pruned(dry_run)
        try:
            cache = open_folder(self.folder)
        except ConfinementError as exc:
            if exc.kind is not Refusal.NOT_FOUND:
                pruned.left.append(f"{self.folder}: {exc.reason}")
            return pruned
        with cache:
            for shard in sorted(cache.names()):
                if not _SHARD.fullmatch(shard):
                    continue
                try:
                    with cache.subfolder(shard) as folder:
                        self._prune_shard(folder, shard, held, pruned)
                except (ConfinementError, OSError) as exc:
                    why = exc.reason if isinstance(exc, ConfinementError) else exc.strerror
                    pruned.left.append(f"{self.folder / shard}: {why}")
        return pruned

    def _prune_shard(
        self,
        folder: Folder,
        shard: str,
        held: Callable[[Sequence[str]], Set[str]],
        pruned: Pruned,
    ) -> None:
        kept: dict[str, list[str]] = {}
        for name in sorted(folder.names()):
            hexdigest, dot, suffix = name.partition(".")
            if dot and suffix in KINDS and _HEX.fullmatch(hexdigest) and name[:2] == shard:
                kept.setdefault(PREFIX + hexdigest, []).append(name)
        if not kept:
            return
        still = held(list(kept))
        for content_hash, names in kept.items():
            if content_hash in still:
                pruned.kept += len(names)
                continue
            for name in names:
                kind = KINDS[name.partition(".")[2]]
                try:
                    with folder.open_file(name) as opened:
                        size = opened.identity.size
                        if not pruned.dry_run:
                            unlink(opened)
                except ConfinementError as exc:
                    if exc.kind is not Refusal.NOT_FOUND:  # gone meanwhile: nothing to do
                        pruned.left.append(f"{folder.path / name}: {exc.reason}")
                    continue
                except OSError as exc:
                    pruned.left.append(f"{folder.path / name}: {exc.strerror or exc}")
                    continue
                pruned.removed.append(Discarded(content_hash, kind, size))


class Thumbnailer:
    """Pictures of assets' content: from the cache, else made in reader workers of its own
    (started on the first picture to make, ended after ``IDLE_AFTER`` seconds without one)."""

    def __init__(
        self, state_path: Path, options: ReadOptions, *, ffmpeg: str = "", workers: int = 0
    ) -> None:
        self.cache = ThumbnailCache(state_path)
        self.options = options
        self.ffmpeg = ffmpeg
        self._workers = workers
        self._reader: FileReader | None = None
        self._lock = threading.Lock()

    def _submit(self, wanted: Wanted) -> Future[Made]:
        from provenance.files.reader import FileReader

        with self._lock:
            if self._reader is None:
                self._reader = FileReader(self.options, self._workers, idle_after=IDLE_AFTER)
            return self._reader.submit(make_thumbnail, wanted, self.options, self.ffmpeg)

    def pictures(self, wanted: Iterable[Wanted]) -> dict[str, bytes]:
        """Return content hash -> picture for each of ``wanted`` that has one (kept, or made
        now in the workers, all at once); none for a refused one."""
        found: dict[str, bytes] = {}
        todo: dict[str, Wanted] = {}
        for asked in wanted:
            if asked.content_hash in found or asked.content_hash in todo:
                continue
            if not _HASH.fullmatch(asked.content_hash):
                continue
            kept = self.cache.get(asked.content_hash)
            if isinstance(kept, bytes):
                found[asked.content_hash] = kept
            elif kept is None:
                todo[asked.content_hash] = asked
        futures = [(asked, self._submit(asked)) for asked in todo.values()]
        for asked, future in futures:
            made = self._result(asked, future)
            if made.data is None:
                log.debug("thumbnails: none of %s: %s", asked.path, made.reason)
            else:
                found[asked.content_hash] = made.data
            self.cache.put(made)
        return found

    def picture(self, wanted: Wanted) -> bytes | None:
        """Return the picture of one file's content, or None (refused, or no such file)."""
        return self.pictures([wanted]).get(wanted.content_hash)

    def _result(self, wanted: Wanted, future: Future[Made]) -> Made:
        try:
            return future.result()
        except BrokenExecutor:  # past its time budget, or out of memory: the kernel ended it
            return Made(
                wanted.content_hash,
                None,
                "its reader process died (over its time or memory budget)",
                lasting=True,
            )

    def close(self) -> None:
        """End the workers (the next picture to make starts new ones)."""
        with self._lock:
            reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def __enter__(self) -> Thumbnailer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
