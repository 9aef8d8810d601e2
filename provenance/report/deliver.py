"""Deliver the weekly report: dated files in the report folder, an e-mail through SMTP, and
a short digest per owner for the webhooks that want one (spooled for the daemon to send).

``deliver_weekly`` is the work (``service.report.send_report`` calls it, for a command and for
the daemon's weekly job alike); it raises, and the job logs the failure.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from provenance.catalog import Catalog
from provenance.config import RootSettings, Settings, SmtpSettings, parse_duration
from provenance.config.values import read_secret
from provenance.errors import (
    CatalogError,
    ConfinementError,
    ProvenanceError,
    Refusal,
    ReportError,
)
from provenance.files.confined import open_folder, remove
from provenance.files.thumbnails import Thumbnailer
from provenance.report.build import build_report
from provenance.report.data import Period, Report
from provenance.report.formats import FORMATS, report_format
from provenance.report.pictures import add_pictures
from provenance.report.render_html import render_html
from provenance.report.render_text import render_markdown

log = logging.getLogger(__name__)

SMTP_TIMEOUT_S = 60


@dataclass(frozen=True)
class Delivery:
    """What one weekly run produced: the files written and who was e-mailed."""

    files: tuple[Path, ...]
    recipients: tuple[str, ...]


def render(report: Report, fmt: str, bom: bool = False) -> str:
    """Return ``report`` in the format named ``fmt`` (see ``report.formats``)."""
    return report_format(fmt).render(report, bom=bom)


def report_file_name(fmt: str, as_of: datetime) -> str:
    """Return the dated file name of a report, e.g. ``provenance-report-2026-11-30.html``."""
    return f"provenance-report-{as_of:%Y-%m-%d}{report_format(fmt).extension}"


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader sees the old file or the whole new one.

    Through the descriptor of its folder (``files.confined.open_folder``: made 0700 when
    missing, reached without following another user's link), 0600 whatever the umask; a
    link at ``path`` is replaced, never written through. Raises ProvenanceError.
    """
    with open_folder(path.parent, create=True, mode=0o700) as folder:
        folder.write_bytes(path.name, text.encode("utf-8"), mode=0o600)


_EXTENSIONS = "|".join(re.escape(entry.extension) for entry in FORMATS.values())
_REPORT_NAME = re.compile(rf"^provenance-report-(\d{{4}}-\d{{2}}-\d{{2}})(?:{_EXTENSIONS})$")


def prune_reports(folder: Path, keep: timedelta, now: datetime) -> list[Path]:
    """Delete the report files in ``folder`` dated more than ``keep`` before ``now`` (by the
    date in their names); return the paths deleted.

    Only regular files with a report's name are touched, through a descriptor of the folder
    (``files.confined``) and without following a link; a file that cannot be deleted is
    logged and left.
    """
    oldest = (now - keep).date()
    try:
        opened = open_folder(folder)
    except ConfinementError as exc:
        if exc.kind is not Refusal.NOT_FOUND:
            log.warning("cannot prune the reports in %s: %s", folder, exc.reason)
        return []
    deleted = []
    with opened:
        for name in sorted(os.listdir(opened.fd)):
            match = _REPORT_NAME.match(name)
            if match is None or date.fromisoformat(match.group(1)) >= oldest:
                continue
            try:
                if not remove(opened, name):
                    continue
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("cannot delete old report %s: %s", folder / name, exc.strerror)
                continue
            deleted.append(folder / name)
            log.info("deleted report %s (older than report.keep)", folder / name)
    return deleted


def write_report_files(report: Report, formats: Sequence[str], folder: Path) -> list[Path]:
    """Write ``report`` in each of ``formats`` into ``folder`` under dated names."""
    written = []
    for fmt in formats:
        path = folder / report_file_name(fmt, report.period.as_of)
        try:
            write_text_atomically(path, render(report, fmt))
        except (OSError, ProvenanceError) as exc:
            raise ReportError(f"cannot write report: {exc}") from exc
        written.append(path)
        log.info("wrote report %s", path)
    return written


def _password(smtp: SmtpSettings) -> str | None:
    try:
        return read_secret(smtp.password_env, smtp.password_file, "report.smtp.password")
    except ValueError as exc:
        raise ReportError(str(exc)) from exc


def report_message(report: Report, smtp: SmtpSettings, recipients: Sequence[str]) -> EmailMessage:
    """Return the e-mail: the Markdown text for plain readers, the HTML report as the body."""
    message = EmailMessage()
    message["Subject"] = f"AI asset expiry report — {report.scope} — {report.period.as_of:%Y-%m-%d}"
    message["From"] = smtp.from_address
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(report.generated_at)
    domain = smtp.from_address.rpartition("@")[2] or "provenance.invalid"
    message["Message-ID"] = make_msgid("provenance-report", domain=domain)
    message.set_content(render_markdown(report))
    message.add_alternative(render_html(report), subtype="html")
    return message


def send_message(smtp: SmtpSettings, message: EmailMessage) -> None:
    """Send ``message`` through the configured SMTP server; ReportError when it fails."""
    if not smtp.from_address:
        raise ReportError("report.smtp.from: set the From address to e-mail the report")
    password = _password(smtp)
    try:
        if smtp.port == 465:
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=SMTP_TIMEOUT_S, context=ssl.create_default_context()
            )
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT_S)
        with server:
            if smtp.starttls and smtp.port != 465:
                server.starttls(context=ssl.create_default_context())
            if smtp.username:
                server.login(smtp.username, password or "")
            server.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise ReportError(
            f"cannot e-mail the report through {smtp.host}:{smtp.port}: {exc}"
        ) from exc


def _root_named(settings: Settings, label: str) -> RootSettings | None:
    return next((root for root in settings.roots if root.label == label), None)


def deliver_weekly(
    settings: Settings, catalog: Catalog, now: datetime, thumbnailer: Thumbnailer | None = None
) -> Delivery:
    """Write this week's report files and e-mail them as configured; raise on failure. The
    HTML report shows pictures made by ``thumbnailer`` (one of its own when None)."""
    period = Period(as_of=now, days=settings.report.days)
    try:
        report = build_report(catalog, settings, period, now)
    except CatalogError as exc:
        raise ReportError(f"cannot read the catalog for the report: {exc}") from exc
    wants_pictures = "html" in settings.report.formats or settings.report.smtp.host
    if wants_pictures:
        report = add_pictures(report, settings, thumbnailer)
    files = write_report_files(report, settings.report.formats, settings.report_dir)
    if settings.report.keep:
        prune_reports(settings.report_dir, parse_duration(settings.report.keep), now)
    smtp = settings.report.smtp
    sent: list[str] = []
    if smtp.host and smtp.recipients:
        send_message(smtp, report_message(report, smtp, smtp.recipients))
        sent += smtp.recipients
    for label, recipients in smtp.root_recipients.items():
        root = _root_named(settings, label)
        if root is None:
            log.warning("report.smtp.root_recipients: no root named %r; not sent", label)
            continue
        if not smtp.host or not recipients:
            continue
        root_report = add_pictures(
            build_report(catalog, settings, period, now, root=root), settings, thumbnailer
        )
        send_message(smtp, report_message(root_report, smtp, recipients))
        sent += recipients
    if sent:
        log.info("e-mailed the report to %s", ", ".join(sent))
    if settings.notify.enabled:  # the daemon's notifications send them ([notify])
        from provenance.notify.outbox import report_digests, spool_digests

        spool_digests(settings, report_digests(report, files))
    return Delivery(tuple(files), tuple(sent))
