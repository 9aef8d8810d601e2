"""The only code that changes the tree: moves, deletes and creates confined to a root.

Every path below a root is reached one folder at a time from a descriptor of the root,
each folder opened with ``O_NOFOLLOW | O_DIRECTORY``; the act (rename, unlink, mkdir, a
new file) is relative to those descriptors (``dir_fd=``), so a folder swapped for a
symbolic link, even a moment before the act, cannot lead it out of the root: the walk
fails instead, and the step is refused with a reason (``ConfinementError``), never "fixed".
The file acted on is opened without following a link and checked with ``fstat`` (device,
inode, size, mtime) immediately before the act, and its name is checked to still be that
file. A path string is resolved once; what was found is held as descriptors until the act.
The refusal says its kind (``ConfinementError.kind``, a ``Refusal``) for callers to test.

The service's own files (state, locks, status, metrics, spool, audit key and anchors,
reports) go the same way from ``/`` (``open_folder``, which follows only links of root or
this user; see there), are replaced atomically in their folder (``Folder.write_bytes``: a
temporary file by descriptor, then renamed over the name, 0600 whatever the umask) or opened
without following a link (``Folder.open_for_writing``), and read back with ``read_file``.

What is left: someone with write access to a folder can rename another file of theirs to
the name we are about to act on in the instant between our last check and the act (no
system call renames or deletes "this open file"). That file is one they could delete
themselves, and it is inside the root; a move is checked afterwards and undone if it
moved the wrong file.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from provenance.errors import ConfinementError, Refusal, WriteError
from provenance.files.hashing import CHUNK_SIZE, PREFIX

log = logging.getLogger(__name__)

_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: A folder on the way is only passed through: O_PATH needs the right to search it (x), as
#: the kernel's own walk does, not to read it (r); the folder arrived at is opened to read.
_PASS_FLAGS = _FOLDER_FLAGS | getattr(os, "O_PATH", 0)
#: An entry about to be deleted is held as it is (a link as itself, a socket or FIFO without
#: opening it for I/O) to be judged by fstat; O_NONBLOCK where O_PATH is missing.
_HOLD_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_PATH", os.O_RDONLY | os.O_NONBLOCK)
#: A file is opened for reading without following a link and without blocking on a FIFO.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_RENAME_NOREPLACE = 1
_libc = ctypes.CDLL(None, use_errno=True)
_renameat2 = getattr(_libc, "renameat2", None)


@dataclass(frozen=True)
class Identity:
    """What says a file is still the one checked: device, inode, size and mtime."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, info: os.stat_result) -> Identity:
        return cls(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)

    def same_file(self, info: os.stat_result) -> bool:
        return (self.device, self.inode) == (info.st_dev, info.st_ino)


class Folder:
    """An open folder inside a root (its descriptor); ``path`` is for messages only."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def lstat(self, name: str) -> os.stat_result | None:
        """Return the entry ``name`` as it is (a link is not followed), None if absent."""
        return _lstat(self.fd, name)

    def names(self) -> list[str]:
        """Return the names of the entries here (listed through the descriptor)."""
        return os.listdir(self.fd)

    def subfolder(self, name: str) -> Folder:
        """Open the folder ``name`` here, no link followed (ConfinementError says why not)."""
        return _walk(os.dup(self.fd), self.path, [name], create=False, mode=None)

    def open_file(self, name: str) -> OpenFile:
        """Open the regular file ``name`` here for reading; never a link, FIFO or device.

        Raises ConfinementError with the reason (not found, a link, not a regular file).
        """
        fd, info = self._open_regular(name, _FILE_FLAGS)
        return OpenFile(fd, self, name, Identity.of(info), info.st_nlink)

    def _open_regular(self, name: str, flags: int, mode: int = 0o600) -> tuple[int, os.stat_result]:
        """Open ``name`` here with ``flags`` (``O_NOFOLLOW`` among them) if it is a regular
        file; ConfinementError says why not. FileExistsError passes (``O_EXCL``)."""
        _check_name(name)
        try:
            fd = os.open(name, flags, mode, dir_fd=self.fd)
        except FileNotFoundError:
            raise ConfinementError(self.path / name, "file not found", Refusal.NOT_FOUND) from None
        except FileExistsError:
            raise
        except OSError as exc:
            info = self.lstat(name)
            if info is not None and stat.S_ISLNK(info.st_mode):
                raise ConfinementError(
                    self.path / name, "is a symbolic link (never followed)", Refusal.SYMLINK
                ) from None
            raise ConfinementError(self.path / name, f"cannot open: {exc.strerror}") from exc
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise ConfinementError(self.path / name, "not a regular file", Refusal.NOT_REGULAR)
        return fd, info

    def check_still(self, name: str, file: OpenFile) -> None:
        """Raise ConfinementError unless ``name`` here is still ``file``, unchanged.

        This is the check made immediately before an act: the open file's size and mtime
        are what they were when it was checked, and the name still leads to it.
        """
        now = os.fstat(file.fd)
        if Identity.of(now) != file.identity:
            raise ConfinementError(
                self.path / name, "changed since checked; re-scan", Refusal.CHANGED
            )
        entry = self.lstat(name)
        if entry is None or not file.identity.same_file(entry):
            raise ConfinementError(
                self.path / name, "replaced by another file since checked", Refusal.CHANGED
            )

    @contextlib.contextmanager
    def replacing(
        self,
        name: str,
        like: os.stat_result | None = None,
        *,
        durable: bool = True,
        expect: OpenFile | None = None,
        mode: int | None = None,
    ) -> Iterator[BinaryIO]:
        """Yield a new file beside ``name``; on a clean exit it replaces ``name`` atomically.

        ``like`` is the stat of the file being replaced: its permission bits are kept and,
        when allowed, its owner. A new file gets ``mode`` when given, whatever the umask,
        else the usual mode (0o666 less the umask). ``expect`` is the file that ``name``
        must still be just before the replace (checked as ``check_still`` does); None
        means whatever is there.
        ``durable`` syncs the content and the rename to the disk. On any error the new
        file is removed, ``name`` is untouched and WriteError(path, reason) is raised.
        """
        _check_name(name)
        target = self.path / name
        temp = f".{name}.{secrets.token_hex(4)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(temp, flags, 0o666, dir_fd=self.fd)
        except OSError as exc:
            raise WriteError(
                target, f"cannot create a file in {self.path}: {exc.strerror}"
            ) from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle
                handle.flush()
                if like is not None:
                    _copy_owner(fd, like, target)
                elif mode is not None:
                    os.fchmod(fd, mode)
                if durable:
                    os.fsync(fd)
            if expect is not None:
                self.check_still(name, expect)
            os.replace(temp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except ConfinementError as exc:
            _remove_quietly(self, temp)
            raise WriteError(target, f"not replaced: {exc.reason}") from exc
        except OSError as exc:
            _remove_quietly(self, temp)
            raise WriteError(target, f"cannot write: {exc.strerror or exc}") from exc
        except BaseException:
            _remove_quietly(self, temp)
            raise
        if durable:
            try:
                os.fsync(self.fd)
            except OSError as exc:  # some filesystems cannot sync a folder, which is fine
                log.debug("%s: cannot fsync folder: %s", self.path, exc)

    def write_bytes(
        self, name: str, data: bytes, *, mode: int = 0o600, durable: bool = True
    ) -> None:
        """Replace ``name`` here with a new file holding ``data`` (``mode``, whatever the
        umask), atomically (``replacing``): a reader sees the old file or the whole new one.
        A link at ``name`` is replaced, never written through. Raises WriteError."""
        with self.replacing(name, mode=mode, durable=durable) as handle:
            handle.write(data)

    def open_for_writing(self, name: str, flags: int = os.O_WRONLY, *, mode: int = 0o600) -> int:
        """Open the regular file ``name`` here, made with ``mode`` when missing, and return
        its descriptor; ``flags`` adds to the create (``O_RDWR``, ``O_APPEND``, ``O_EXCL``).

        Never through a link, never a FIFO or device (ConfinementError says which); a file
        of this user gets ``mode`` whatever the umask, and an older one left open is closed.
        FileExistsError with ``O_EXCL`` when ``name`` exists.
        """
        create = os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd, info = self._open_regular(name, flags | create, mode)
        os.set_blocking(fd, True)
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) != mode:
            os.fchmod(fd, mode)
        return fd


@dataclass
class OpenFile:
    """A regular file opened (read-only, no link followed) in ``folder`` as ``name``."""

    fd: int
    folder: Folder
    name: str
    identity: Identity
    links: int

    @property
    def path(self) -> Path:
        return self.folder.path / self.name

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> OpenFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def content_hash(self) -> str:
        """Return the content hash of this open file (what it holds, not what a name does)."""
        from blake3 import blake3

        hasher = blake3()
        offset = 0
        while True:
            block = os.pread(self.fd, CHUNK_SIZE, offset)
            if not block:
                break
            hasher.update(block)
            offset += len(block)
        return PREFIX + hasher.hexdigest()

    def read(self, limit: int) -> bytes:
        """Return the whole file; raises ConfinementError when it holds more than ``limit``."""
        data = os.pread(self.fd, limit + 1, 0)
        if len(data) > limit:
            raise ConfinementError(self.path, f"larger than {limit} bytes", Refusal.TOO_LARGE)
        return data

    def stream(self) -> BinaryIO:
        """Return a binary stream over this file (closing it leaves the descriptor open)."""
        os.lseek(self.fd, 0, os.SEEK_SET)
        return open(self.fd, "rb", closefd=False)


class Root:
    """An open root folder: the descriptor every path below it is reached from."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise ConfinementError(self.path, f"root cannot be opened: {exc.strerror}") from exc
        self.device = os.fstat(self.fd).st_dev

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Root:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def parts(self, path: str | Path) -> list[str]:
        """Return the names from the root down to ``path`` (absolute, below the root).

        Raises ConfinementError for a path outside the root or one with ``.`` or ``..``.
        """
        text = os.fspath(path)
        prefix = str(self.path).rstrip("/") + "/"
        if not text.startswith(prefix):
            raise ConfinementError(path, f"not inside the root {self.path}", Refusal.OUTSIDE)
        names = text[len(prefix) :].split("/")
        for name in names:
            _check_name(name)
        return names

    def folder(self, names: list[str], *, create: bool = False, mode: int | None = None) -> Folder:
        """Open the folder ``names`` below the root, one folder at a time, no link followed.

        With ``create``, missing folders are made (``mkdirat``) and opened the same way, so
        a link put in place of a new folder is refused too; they get ``mode`` when given,
        whatever the umask (else 0o777 less the umask). Raises ConfinementError.
        """
        return _walk(os.dup(self.fd), self.path, names, create=create, mode=mode)

    def locate(self, path: str | Path, *, create: bool = False) -> tuple[Folder, str]:
        """Return the open folder holding ``path`` and the name of ``path`` in it."""
        names = self.parts(path)
        return self.folder(names[:-1], create=create), names[-1]

    def open_file(self, path: str | Path) -> OpenFile:
        """Open the regular file at ``path`` below the root (its folder stays open with it)."""
        folder, name = self.locate(path)
        try:
            return folder.open_file(name)
        except BaseException:
            folder.close()
            raise


def open_root(path: Path | str) -> Root:
    """Open the root folder ``path`` (the one path taken as configured, links and all)."""
    return Root(Path(path))


#: Symbolic links followed on the way to a state folder, at most (the kernel's limit too).
_MAX_LINKS = 40


def open_folder(path: Path | str, *, create: bool = False, mode: int = 0o700) -> Folder:
    """Open the folder ``path`` (the service's own: its state, its reports), walking from
    ``/`` one component at a time with ``O_NOFOLLOW``; with ``create``, the missing folders
    are made with ``mode`` whatever the umask, and each is opened without following a link
    and checked to be this user's (a folder swapped in between is refused).

    The trusted start is ``/``. A symbolic link on the way is followed only when root or this
    user owns it, as the kernel's ``protected_symlinks`` does in a sticky folder: only they
    can have put it there and nobody else can change where it leads (a link is never
    rewritten, only replaced, and the replacement would be its maker's). So ``/var/run`` and
    a state folder an administrator moved with a link of root's still work, while a link
    planted by another user is refused with ConfinementError (kind SYMLINK). Where a link
    leads is walked the same way (its own links checked alike), never handed to the kernel.
    The folders on the way are not checked: a folder writable by another user above the
    state folder lets them move it away, which only its owner or root should allow.
    """
    text = os.path.abspath(os.fspath(path))
    names = [name for name in text.split("/") if name]
    return _walk(
        os.open("/", _PASS_FLAGS),
        Path("/"),
        names,
        create=create,
        mode=mode,
        trusted=frozenset({0, os.geteuid()}),
    )


def read_file(path: Path | str, limit: int) -> bytes:
    """Return what the regular file ``path`` of the service's own holds (a state file),
    reached as ``open_folder`` reaches its folder and opened as ``Folder.open_file`` opens
    (no link, never a FIFO). Raises ConfinementError: NOT_FOUND when it or its folder is
    missing, TOO_LARGE beyond ``limit`` bytes."""
    path = Path(os.path.abspath(os.fspath(path)))
    with open_folder(path.parent) as folder, folder.open_file(path.name) as file:
        return file.read(limit)


def _walk(
    fd: int,
    here: Path,
    names: list[str],
    *,
    create: bool,
    mode: int | None,
    trusted: frozenset[int] | None = None,
) -> Folder:
    """Open ``names`` from the open folder ``fd`` (at ``here``; the descriptor is the walk's
    now), one folder at a time, ``O_NOFOLLOW``. A link is followed only when ``trusted``
    holds its owner (what it leads to is walked the same way); None follows none."""
    # each pending name says whether it came from where a trusted link leads, the only place
    # "..", "." and "" are allowed (as the kernel reads them)
    pending = [(name, False) for name in reversed(names)]
    links = 0
    try:
        while pending:
            name, linked = pending.pop()
            if linked and name in ("", "."):
                continue
            if linked and name == "..":
                child = os.open("..", _PASS_FLAGS, dir_fd=fd)
                os.close(fd)
                fd, here = child, here.parent
                continue
            _check_name(name)
            try:
                child = os.open(name, _PASS_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise ConfinementError(
                        here / name, "folder not found", Refusal.NOT_FOUND
                    ) from None
                child = _make_folder(fd, here, name, mode)
            except OSError as exc:
                target = _trusted_link(fd, here, name, trusted) if trusted is not None else None
                if target is None:
                    raise _folder_problem(fd, here, name, exc) from None
                links += 1
                if links > _MAX_LINKS:
                    raise ConfinementError(
                        here / name, "too many symbolic links on the way", Refusal.SYMLINK
                    ) from None
                if target.startswith("/"):
                    child = os.open("/", _PASS_FLAGS)
                    os.close(fd)
                    fd, here = child, Path("/")
                pending.extend((part, True) for part in reversed(target.split("/")))
                continue
            os.close(fd)
            fd, here = child, here / name
        arrived = _reopen(fd, here)
    finally:
        os.close(fd)
    return Folder(arrived, here)


def _reopen(fd: int, here: Path) -> int:
    """Open the folder ``fd`` passed through (O_PATH) again, to read and act in."""
    try:
        return os.open(".", _FOLDER_FLAGS, dir_fd=fd)
    except OSError as exc:
        raise ConfinementError(here, f"cannot open folder: {exc.strerror}") from exc


def _make_folder(fd: int, here: Path, name: str, mode: int | None) -> int:
    """Make the folder ``name`` in ``fd`` (unless it appeared meanwhile) and open it, no link
    followed; one this walk made gets ``mode`` and must be this user's."""
    try:
        os.mkdir(name, 0o777 if mode is None else mode, dir_fd=fd)
    except FileExistsError:
        made = False
    except OSError as exc:
        raise ConfinementError(here / name, f"cannot make folder: {exc.strerror}") from exc
    else:
        made = True
    try:  # a folder made here is this user's to read (and to chmod: not through O_PATH)
        child = os.open(name, _FOLDER_FLAGS if made else _PASS_FLAGS, dir_fd=fd)
    except OSError as exc:
        raise _folder_problem(fd, here, name, exc) from None
    if made and mode is not None:
        if os.fstat(child).st_uid != os.geteuid():  # swapped for another's between the two
            os.close(child)
            raise ConfinementError(
                here / name, "replaced by another user's folder as it was made", Refusal.NOT_OURS
            )
        os.fchmod(child, mode)
    return child


def _trusted_link(fd: int, here: Path, name: str, trusted: frozenset[int]) -> str | None:
    """Return where the link ``name`` in ``fd`` leads when ``trusted`` holds its owner; None
    when ``name`` is no link. Raises ConfinementError for another user's link."""
    info = _lstat(fd, name)
    if info is None or not stat.S_ISLNK(info.st_mode):
        return None
    if info.st_uid not in trusted:
        raise ConfinementError(
            here / name,
            f"is a symbolic link of uid {info.st_uid}, neither root's nor this user's "
            "(never followed)",
            Refusal.SYMLINK,
        )
    target = os.readlink(name, dir_fd=fd)
    again = _lstat(fd, name)
    if again is None or (again.st_ino, again.st_uid) != (info.st_ino, info.st_uid):
        raise ConfinementError(here / name, "replaced while it was read", Refusal.CHANGED)
    return target


def _lstat(fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def move(file: OpenFile, target: Folder, name: str) -> None:
    """Rename ``file`` (open in its folder) to ``name`` in ``target``; never replace a file.

    The file is checked just before (``check_still``) and the moved entry after: had
    another file taken its name in between, that one is put back and ConfinementError is
    raised. Raises FileExistsError when ``name`` exists in ``target``.
    """
    _check_name(name)
    source = file.folder
    source.check_still(file.name, file)
    _rename_noreplace(source.fd, file.name, target.fd, name)
    moved = target.lstat(name)
    if moved is None or not file.identity.same_file(moved):
        with contextlib.suppress(OSError):
            _rename_noreplace(target.fd, name, source.fd, file.name)
        raise ConfinementError(
            file.path, "replaced by another file during the move; put back", Refusal.CHANGED
        )
    file.folder, file.name = target, name


def unlink(file: OpenFile) -> int:
    """Delete the name of ``file``, checked just before; return the links left to its bytes.

    More than 0 means another hard link keeps the bytes on the disk.
    """
    file.folder.check_still(file.name, file)
    os.unlink(file.name, dir_fd=file.folder.fd)
    return os.fstat(file.fd).st_nlink


def remove(folder: Folder, name: str, *, links: bool = False) -> bool:
    """Delete the entry ``name`` of ``folder`` if it is a regular file; return whether it was.

    For what has no identity to check (a sidecar, a leftover temp file): a link or a
    folder is left alone; with ``links`` a link is deleted too (the link, not what it leads
    to: a name of the service's own that a link must not stand in for).
    """
    return _remove_if(
        folder,
        name,
        lambda info: stat.S_ISREG(info.st_mode) or (links and stat.S_ISLNK(info.st_mode)),
    )


def remove_socket(folder: Folder, name: str) -> bool:
    """Delete the entry ``name`` of ``folder`` if it is a socket of this user's (one a daemon
    of ours bound, left by one that died); return whether it was. Anything else is left."""
    return _remove_if(
        folder, name, lambda info: stat.S_ISSOCK(info.st_mode) and info.st_uid == os.geteuid()
    )


def _remove_if(folder: Folder, name: str, wanted: Callable[[os.stat_result], bool]) -> bool:
    """Delete ``name`` of ``folder`` (never what a link there leads to) when what is there
    is ``wanted``; return whether it was deleted.

    The entry is held open (O_PATH, no link followed: a link is held as itself), judged by
    ``fstat`` of what is held, and its name checked to lead to it still just before the
    unlink; an entry swapped in meanwhile is left alone.
    """
    _check_name(name)
    return _unlink_if(folder.fd, name, wanted)


def _unlink_if(folder_fd: int, name: str, wanted: Callable[[os.stat_result], bool]) -> bool:
    """``_remove_if`` in the folder open as ``folder_fd`` (``name`` already checked)."""
    try:
        fd = os.open(name, _HOLD_FLAGS, dir_fd=folder_fd)
    except FileNotFoundError:
        return False
    try:
        held = os.fstat(fd)
        if not wanted(held):
            return False
        now = _lstat(folder_fd, name)
        if now is None or (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
            return False
        os.unlink(name, dir_fd=folder_fd)
        return True
    finally:
        os.close(fd)


def _rename_noreplace(source_fd: int, source: str, target_fd: int, target: str) -> None:
    """Rename without ever replacing: ``renameat2(RENAME_NOREPLACE)``, else a hard link then
    unlink (both fail if the target exists). A filesystem with neither is refused (OSError):
    a check then a rename could replace a file made between the two."""
    if _renameat2 is not None:
        done = _renameat2(
            source_fd, os.fsencode(source), target_fd, os.fsencode(target), _RENAME_NOREPLACE
        )
        if done == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), target)
    try:
        os.link(source, target, src_dir_fd=source_fd, dst_dir_fd=target_fd, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        raise OSError(
            exc.errno,
            "no rename without replacing nor hard link on this filesystem: not moved",
            target,
        ) from exc
    # the old name is unlinked only while it still leads to the file just linked: one
    # swapped in between the link and the unlink is left, and the link taken back
    linked = _lstat(target_fd, target)
    if linked is None:  # the new name vanished at once: neither name is touched again
        raise OSError(errno.ESTALE, "replaced during the move: not moved", source)
    is_linked = Identity.of(linked).same_file
    if not _unlink_if(source_fd, source, is_linked):
        _unlink_if(target_fd, target, is_linked)
        raise OSError(errno.ESTALE, "replaced during the move: not moved", source)


def _check_name(name: str) -> None:
    if name in ("", ".", "..") or "/" in name or "\0" in name:
        raise ConfinementError(name, "not a plain name inside the root", Refusal.OUTSIDE)


def _folder_problem(fd: int, here: Path, name: str, exc: OSError) -> ConfinementError:
    try:
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except OSError:
        return ConfinementError(here / name, f"cannot open folder: {exc.strerror}")
    if stat.S_ISLNK(info.st_mode):
        return ConfinementError(
            here / name, "folder is a symbolic link (never followed)", Refusal.SYMLINK
        )
    if not stat.S_ISDIR(info.st_mode):
        return ConfinementError(here / name, "not a folder", Refusal.NOT_FOLDER)
    return ConfinementError(here / name, f"cannot open folder: {exc.strerror}")


def _copy_owner(fd: int, like: os.stat_result, path: Path) -> None:
    if (like.st_uid, like.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.fchown(fd, like.st_uid, like.st_gid)
        except PermissionError:
            log.debug("%s: cannot keep owner %d:%d (not permitted)", path, like.st_uid, like.st_gid)
    os.fchmod(fd, like.st_mode & 0o7777)


def _remove_quietly(folder: Folder, name: str) -> None:
    """Delete a temporary file of ours, if it is still a regular file there."""
    with contextlib.suppress(OSError):
        _remove_if(folder, name, lambda info: stat.S_ISREG(info.st_mode))
