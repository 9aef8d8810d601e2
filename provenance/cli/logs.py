"""How log lines look on stderr: text or one JSON object per line (``--log-format json``), each
line led by its syslog priority when stderr is the systemd journal."""

from __future__ import annotations

import logging
import os
from typing import IO, Any

#: The text format: ``INFO provenance.ingest.ingest: indexed /mnt/show_a/x.png: ai (ComfyUI)``.
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
#: Set by systemd to ``DEVICE:INODE`` of the journal's stream when stdout/stderr go to it.
JOURNAL_STREAM_ENV = "JOURNAL_STREAM"


def _syslog_priority(level: int) -> int:
    """Return the syslog priority of a logging level (sd-daemon(3): ``<3>`` is an error)."""
    if level >= logging.CRITICAL:
        return 2
    if level >= logging.ERROR:
        return 3
    if level >= logging.WARNING:
        return 4
    if level >= logging.INFO:
        return 6
    return 7


class JournalFormatter(logging.Formatter):
    """Leads every line of what ``inner`` formats with ``<N>``, the syslog priority of the
    record, which journald reads as the line's priority (a traceback's lines keep theirs)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in self.inner.format(record).split("\n"))


def json_formatter() -> logging.Formatter:
    """Return the formatter of ``--log-format json``: one object per line, with ``at``,
    ``level``, ``logger``, ``message``, every field passed with ``extra=`` (``event``,
    ``asset``, ``path``, ``root``, ...) and ``traceback``."""
    from pythonjsonlogger.json import JsonFormatter  # only when asked for: not at start-up

    class Json(JsonFormatter):
        def add_fields(
            self,
            log_data: dict[str, Any],
            record: logging.LogRecord,
            message_dict: dict[str, Any],
        ) -> None:
            super().add_fields(log_data, record, message_dict)
            fields = dict(log_data)
            log_data.clear()
            log_data.update(at=fields.pop("at", None), level=record.levelname.lower())
            log_data.update(fields)

    return Json(
        "{name}{message}",
        style="{",
        rename_fields={"name": "logger", "exc_info": "traceback", "timestamp": "at"},
        timestamp=True,
        json_ensure_ascii=False,
    )


def writes_to_journal(stream: IO[str], environ: dict[str, str] | None = None) -> bool:
    """Whether ``stream`` is the journal's stream systemd named in ``$JOURNAL_STREAM`` (not
    merely inherited by a program that redirected it elsewhere)."""
    value = (os.environ if environ is None else environ).get(JOURNAL_STREAM_ENV, "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (info.st_dev, info.st_ino) == (int(device), int(inode))


def formatter_for(log_format: str, stream: IO[str]) -> logging.Formatter:
    """Return the formatter of ``log_format`` ("text" or "json") for a handler on ``stream``."""
    inner = json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    return JournalFormatter(inner) if writes_to_journal(stream) else inner
