"""The chain head (how many events, the newest one's hash) kept outside the catalog.

Someone who can write the catalog could delete the newest events, or all of them, and the
chain that is left would still hold. So the head is written where they cannot reach: an
append-only file in the service's state directory (``audit-anchors``, one line per anchor),
the system log (syslog, hence the journal), and the weekly report. ``audit verify`` checks
the chain against every line of the file.

A line: ``2026-12-04T20:00:00+00:00 events=1234 head=<64 hex digits> why=sweep``
"""

from __future__ import annotations

import logging
import os
import syslog
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from provenance.config.locations import PRIVATE_FILE_MODE, open_private_dir
from provenance.errors import AuditError, ConfinementError, Refusal
from provenance.files.confined import read_file

log = logging.getLogger(__name__)

#: The anchor file's name in the state directory.
ANCHOR_FILE = "audit-anchors"
#: The most of the anchor file read (a line is about 120 bytes: half a million anchors).
ANCHORS_LIMIT = 64 << 20


@dataclass(frozen=True)
class Anchor:
    """The chain's head at one moment: ``count`` events, the last with hash ``head``."""

    at: str
    count: int
    head: str
    why: str = ""

    def line(self) -> str:
        why = self.why.replace(" ", "-") or "-"
        return f"{self.at} events={self.count} head={self.head} why={why}\n"


def anchor_path(state_dir: Path) -> Path:
    return state_dir / ANCHOR_FILE


def write_anchor(state_dir: Path, anchor: Anchor) -> None:
    """Append ``anchor`` to the anchor file (created 0600) and send it to syslog.

    Raises AuditError when the file cannot be written.
    """
    path = anchor_path(state_dir)
    try:
        with open_private_dir(state_dir) as folder:
            fd = folder.open_for_writing(
                ANCHOR_FILE, os.O_WRONLY | os.O_APPEND, mode=PRIVATE_FILE_MODE
            )
        try:
            os.write(fd, anchor.line().encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except (OSError, ConfinementError) as exc:
        raise AuditError(f"{path}: cannot write the audit anchor ({exc})") from exc
    message = f"provenance audit head: events={anchor.count} head={anchor.head} ({anchor.why})"
    syslog.openlog("provenance", 0, syslog.LOG_AUTH)
    syslog.syslog(syslog.LOG_INFO, message)
    log.info("audit head anchored: %d events, head %s (%s)", anchor.count, anchor.head, anchor.why)


def read_anchors(state_dir: Path) -> list[Anchor]:
    """Return the anchors in the file, oldest first (none when there is no file).

    Raises AuditError naming the line of a malformed anchor.
    """
    path = anchor_path(state_dir)
    try:
        text = read_file(path, ANCHORS_LIMIT).decode("ascii")
    except ConfinementError as exc:
        if exc.kind is Refusal.NOT_FOUND:
            return []
        raise AuditError(f"{path}: cannot read the audit anchors ({exc.reason})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditError(f"{path}: cannot read the audit anchors ({exc})") from exc
    anchors = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        fields = dict(word.split("=", 1) for word in words[1:] if "=" in word)
        try:
            anchors.append(
                Anchor(words[0], int(fields["events"]), fields["head"], fields.get("why", ""))
            )
        except (IndexError, KeyError, ValueError) as exc:
            raise AuditError(f"{path}:{number}: not an audit anchor line") from exc
    return anchors


def now_text(now: datetime) -> str:
    return now.isoformat(timespec="seconds")
