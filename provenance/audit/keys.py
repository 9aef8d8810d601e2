"""The audit key file: the secret that authenticates every audit event (HMAC-SHA256).

``<state_dir>/audit.key`` is the service's alone (0600 in a 0700 folder): someone who can
write the catalog but cannot read this file cannot edit, insert or forge an event that
``audit verify`` accepts. It is made on the first event written, and holds every key ever
used, oldest first, so that old events still verify after a rotation::

    # provenance audit keys: keep this file 0600; back it up where the catalog is not
    unauthenticated-events 0
    key k1f0e22c9 2026-12-04T20:00:00+00:00 5f1c...64 hex digits
    key k8a41d07e 2027-03-01T09:00:00+00:00 9a0e...

``unauthenticated-events N``: the first N events of the chain were written before this file
existed (by an older release, or before a lost key was replaced); they are checked by their
hash chain and the anchors only. A fleet shares one key file: copy it to every node.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from provenance.config.locations import PRIVATE_FILE_MODE, open_private_dir
from provenance.errors import AuditError, ConfinementError, Refusal
from provenance.files.confined import open_folder, read_file, remove

#: The key file's name in the state directory.
KEY_FILE = "audit.key"
#: The most of the key file read (a key's line is about 110 bytes).
KEYS_LIMIT = 1 << 20
_HEADER = "# provenance audit keys: keep this file 0600; back it up where the catalog is not\n"


@dataclass(frozen=True)
class AuditKey:
    key_id: str
    created_at: str
    secret: bytes

    def sign(self, seq: int, state: str | None, event_hash: str) -> str:
        """Return the HMAC of an event under this key (64 hex digits)."""
        return event_mac(self.secret, self.key_id, seq, state, event_hash)


def event_mac(secret: bytes, key_id: str, seq: int, state: str | None, event_hash: str) -> str:
    """Return HMAC-SHA256(secret, "key_id:seq:state:event_hash"). The chain hash binds the
    event's fields and the event before it; ``seq`` its place in the chain; ``state`` what
    it left its asset or hold like (see ``provenance.catalog.attest``)."""
    message = f"{key_id}:{seq}:{state or '-'}:{event_hash}".encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class KeyRing:
    """Every key of the key file, oldest first; the newest signs new events."""

    path: Path
    keys: tuple[AuditKey, ...]
    #: How many events at the start of the chain were written before the key file.
    unauthenticated: int

    @property
    def current(self) -> AuditKey:
        return self.keys[-1]

    def by_id(self, key_id: str) -> AuditKey | None:
        return next((key for key in self.keys if key.key_id == key_id), None)

    def order(self, key_id: str) -> int:
        """Return the key's place in the file (0 = oldest); -1 when unknown."""
        return next((i for i, key in enumerate(self.keys) if key.key_id == key_id), -1)


def key_path(state_dir: Path) -> Path:
    return state_dir / KEY_FILE


def read_keys(path: Path) -> KeyRing | None:
    """Return the key ring in ``path``, or None when there is no key file.

    Raises AuditError naming the file and line when it cannot be read or is malformed.
    """
    try:
        text = read_file(path, KEYS_LIMIT).decode("ascii")
    except ConfinementError as exc:
        if exc.kind is Refusal.NOT_FOUND:
            return None
        raise AuditError(f"{path}: cannot read the audit key file ({exc.reason})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditError(f"{path}: cannot read the audit key file ({exc})") from exc
    keys: list[AuditKey] = []
    unauthenticated = 0
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "unauthenticated-events" and len(words) == 2 and words[1].isdigit():
            unauthenticated = int(words[1])
        elif words[0] == "key" and len(words) == 4 and _is_secret(words[3]):
            keys.append(AuditKey(words[1], words[2], bytes.fromhex(words[3])))
        else:
            raise AuditError(f"{path}:{number}: not a line of an audit key file")
    if not keys:
        raise AuditError(f"{path}: the audit key file holds no key")
    return KeyRing(path, tuple(keys), unauthenticated)


def _is_secret(word: str) -> bool:
    return len(word) == 64 and all(c in "0123456789abcdef" for c in word)


def _new_key(now: datetime) -> AuditKey:
    """A fresh 256-bit key; its id is random, so a key made after a loss never reuses one."""
    return AuditKey(
        f"k{secrets.token_hex(4)}", now.isoformat(timespec="seconds"), secrets.token_bytes(32)
    )


def _line(key: AuditKey) -> str:
    return f"key {key.key_id} {key.created_at} {key.secret.hex()}\n"


def create_keys(path: Path, unauthenticated: int, now: datetime) -> KeyRing:
    """Write a new key file with one fresh key (0600; never over an existing file).

    ``unauthenticated``: the number of events already in the catalog, which no key signed.
    Raises AuditError when the file appeared meanwhile or cannot be written.
    """
    key = _new_key(now)
    try:
        with open_private_dir(path.parent) as folder:
            fd = folder.open_for_writing(path.name, os.O_WRONLY | os.O_EXCL, mode=PRIVATE_FILE_MODE)
    except FileExistsError:
        ring = read_keys(path)
        assert ring is not None
        return ring
    except (OSError, ConfinementError) as exc:
        raise AuditError(f"{path}: cannot create the audit key file ({exc})") from exc
    try:
        with os.fdopen(fd, "w", encoding="ascii") as stream:
            stream.write(_HEADER + f"unauthenticated-events {unauthenticated}\n" + _line(key))
            stream.flush()
            os.fsync(fd)
    except OSError as exc:
        # a full disk: the file made above is removed, not left empty or cut short (every
        # later event would be refused for its missing key); the next event makes it anew
        with contextlib.suppress(OSError, ConfinementError), open_folder(path.parent) as folder:
            remove(folder, path.name)
        raise AuditError(f"{path}: cannot write the audit key file ({exc})") from exc
    return KeyRing(path, (key,), unauthenticated)


def add_key(path: Path, now: datetime) -> KeyRing:
    """Append a new key to the key file (a rotation); return the ring, the new key last.

    Raises AuditError when there is no key file to rotate.
    """
    ring = read_keys(path)
    if ring is None:
        raise AuditError(f"{path}: no audit key file to rotate (one is made with the first event)")
    key = _new_key(now)
    try:
        with open_folder(path.parent) as folder:
            fd = folder.open_for_writing(path.name, os.O_WRONLY | os.O_APPEND)
    except (OSError, ConfinementError) as exc:
        raise AuditError(f"{path}: cannot add a key to the audit key file ({exc})") from exc
    with os.fdopen(fd, "a", encoding="ascii") as stream:
        stream.write(_line(key))
        stream.flush()
        os.fsync(stream.fileno())
    return KeyRing(path, (*ring.keys, key), ring.unauthenticated)
