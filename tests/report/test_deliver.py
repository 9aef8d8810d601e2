"""Delivery: dated files, e-mail through a real local SMTP server, a job that never raises."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtpd.controller as aiosmtpd_controller
import aiosmtpd.smtp as aiosmtpd_smtp
import pytest

from provenance.catalog import Catalog
from provenance.config import Settings
from provenance.daemon.scheduler import send_weekly_report
from provenance.errors import ReportError
from provenance.report.deliver import deliver_weekly, report_file_name
from tests.planted import link_of_another_user, mode, plant_link
from tests.report.sample import AS_OF, populate, sample_settings


@dataclass
class Inbox:
    """What the local SMTP server received."""

    port: int
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 at a random port, accepting one login."""
    box = Inbox(port=_free_port())

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = data.login == b"reporter" and data.password == b"s3cret"
        if ok:
            box.logins.append(data.login.decode())
        return aiosmtpd_smtp.AuthResult(success=ok)

    controller = aiosmtpd_controller.Controller(
        box,
        hostname="127.0.0.1",
        port=box.port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def _settings(tmp_path: Path, **smtp: Any) -> Settings:
    base = sample_settings(tmp_path / "state")
    report = base.report.model_copy(
        update={
            "formats": ["html", "json", "csv", "md"],
            "smtp": base.report.smtp.model_copy(update=smtp),
        }
    )
    return base.model_copy(update={"report": report})


def _smtp(inbox: Inbox, **more: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": inbox.port,
        "starttls": False,
        "from_address": "provenance@studio.example",
        **more,
    }


def test_weekly_run_writes_dated_files_in_every_format(
    sqlite_catalog: Catalog, tmp_path: Path
) -> None:
    populate(sqlite_catalog)
    settings = _settings(tmp_path)
    delivery = deliver_weekly(settings, sqlite_catalog, AS_OF)
    folder = tmp_path / "state" / "reports"
    assert [p.name for p in delivery.files] == [
        "provenance-report-2026-11-30.html",
        "provenance-report-2026-11-30.json",
        "provenance-report-2026-11-30.csv",
        "provenance-report-2026-11-30.md",
    ]
    assert all(p.parent == folder and p.stat().st_size > 0 for p in delivery.files)
    assert delivery.recipients == ()
    assert not list(folder.glob(".*.tmp"))


def test_report_file_name_is_dated() -> None:
    assert report_file_name("csv", AS_OF) == "provenance-report-2026-11-30.csv"


def test_weekly_run_emails_the_html_report(
    sqlite_catalog: Catalog, tmp_path: Path, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(sqlite_catalog)
    monkeypatch.setenv("REPORT_SMTP_PASSWORD", "s3cret")
    settings = _settings(
        tmp_path,
        **_smtp(
            inbox,
            username="reporter",
            password_env="REPORT_SMTP_PASSWORD",
            recipients=["legal@studio.example"],
        ),
    )
    delivery = deliver_weekly(settings, sqlite_catalog, AS_OF)
    assert delivery.recipients == ("legal@studio.example",)
    assert inbox.logins == ["reporter"]
    ((to, message),) = inbox.messages
    assert to == ["legal@studio.example"]
    assert message["Subject"] == "AI asset expiry report — all roots — 2026-11-30"
    assert message["From"] == "provenance@studio.example"
    html = message.get_body(preferencelist=("html",))
    text = message.get_body(preferencelist=("plain",))
    assert html is not None and text is not None
    body = html.get_content()
    assert '<div class="groups" id="groups-expiring">' in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "# AI asset expiry report" in text.get_content()


def test_per_root_recipients_get_only_their_root(
    sqlite_catalog: Catalog, tmp_path: Path, inbox: Inbox
) -> None:
    populate(sqlite_catalog)
    settings = _settings(
        tmp_path,
        **_smtp(
            inbox, root_recipients={"Show B": ["b@studio.example"], "nope": ["x@studio.example"]}
        ),
    )
    delivery = deliver_weekly(settings, sqlite_catalog, AS_OF)
    assert delivery.recipients == ("b@studio.example",)
    ((to, message),) = inbox.messages
    assert to == ["b@studio.example"]
    assert "Show B" in message["Subject"]
    body = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "/prod/show_b/late.png" in body
    assert "/prod/show_a/" not in body


def test_a_missing_password_variable_is_a_report_error(
    sqlite_catalog: Catalog, tmp_path: Path, inbox: Inbox
) -> None:
    settings = _settings(
        tmp_path,
        **_smtp(
            inbox,
            username="reporter",
            password_env="NOT_SET_ANYWHERE",
            recipients=["legal@studio.example"],
        ),
    )
    with pytest.raises(ReportError, match=r"password_env: \$NOT_SET_ANYWHERE is not set"):
        deliver_weekly(settings, sqlite_catalog, AS_OF)
    assert inbox.messages == []


def test_password_file_is_read(sqlite_catalog: Catalog, tmp_path: Path, inbox: Inbox) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    settings = _settings(
        tmp_path,
        **_smtp(
            inbox, username="reporter", password_file=secret, recipients=["legal@studio.example"]
        ),
    )
    deliver_weekly(settings, sqlite_catalog, AS_OF)
    assert inbox.logins == ["reporter"] and len(inbox.messages) == 1


def test_job_logs_a_failure_and_never_raises(
    sqlite_catalog: Catalog, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    closed_port = _free_port()  # nothing listens there
    settings = _settings(
        tmp_path,
        host="127.0.0.1",
        port=closed_port,
        starttls=False,
        from_address="p@studio.example",
        recipients=["legal@studio.example"],
    )
    with caplog.at_level(logging.ERROR, logger="provenance.daemon.scheduler"):
        assert send_weekly_report(settings, sqlite_catalog) is None
    assert "weekly report failed (next run retries)" in caplog.text
    assert f"127.0.0.1:{closed_port}" in caplog.text


def test_job_survives_an_unwritable_report_folder(
    sqlite_catalog: Catalog, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("")
    base = _settings(tmp_path)
    settings = base.model_copy(
        update={"report": base.report.model_copy(update={"out_dir": blocker / "reports"})}
    )
    with caplog.at_level(logging.ERROR):
        assert send_weekly_report(settings, sqlite_catalog) is None
    assert "cannot write report" in caplog.text


def test_job_succeeds_again_at_the_next_run(
    sqlite_catalog: Catalog, tmp_path: Path, inbox: Inbox
) -> None:
    good = _settings(tmp_path, **_smtp(inbox, recipients=["legal@studio.example"]))
    broken = good.model_copy(
        update={
            "report": good.report.model_copy(
                update={"smtp": good.report.smtp.model_copy(update={"port": _free_port()})}
            )
        }
    )
    assert send_weekly_report(broken, sqlite_catalog) is None
    assert send_weekly_report(good, sqlite_catalog) is not None
    assert len(inbox.messages) == 1


def test_weekly_run_deletes_reports_older_than_report_keep(
    sqlite_catalog: Catalog, tmp_path: Path
) -> None:
    populate(sqlite_catalog)
    settings = _settings(tmp_path)
    settings = settings.model_copy(
        update={"report": settings.report.model_copy(update={"keep": "28d", "formats": ["md"]})}
    )
    folder = tmp_path / "state" / "reports"
    folder.mkdir(parents=True)
    kept = ["provenance-report-2026-11-02.md", "provenance-report-2026-11-23.csv"]
    old = ["provenance-report-2026-11-01.html", "provenance-report-2025-06-02.json"]
    others = ["notes-2020-01-01.md", "provenance-report-2020-01-01.md.bak"]
    for name in [*kept, *old, *others]:
        (folder / name).write_text("x")
    (tmp_path / "outside.md").write_text("x")
    (folder / "provenance-report-2020-01-06.md").symlink_to(tmp_path / "outside.md")
    (folder / "provenance-report-2020-01-13.md").mkdir()
    delivery = deliver_weekly(settings, sqlite_catalog, AS_OF)
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted(
        [
            *kept,
            *others,
            *(p.name for p in delivery.files),
            "provenance-report-2020-01-06.md",  # a link: not a report this job wrote
            "provenance-report-2020-01-13.md",
        ]
    )
    assert (tmp_path / "outside.md").exists()


def test_report_keep_empty_keeps_every_report(sqlite_catalog: Catalog, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings = settings.model_copy(
        update={"report": settings.report.model_copy(update={"keep": "", "formats": ["md"]})}
    )
    folder = tmp_path / "state" / "reports"
    folder.mkdir(parents=True)
    (folder / "provenance-report-2000-01-03.md").write_text("x")
    deliver_weekly(settings, sqlite_catalog, AS_OF)
    assert (folder / "provenance-report-2000-01-03.md").exists()


def test_report_keep_must_be_a_duration(tmp_path: Path) -> None:
    from provenance.config import settings_from_mapping
    from provenance.errors import ConfigError

    with pytest.raises(ConfigError, match=r"report\.keep: not a duration"):
        settings_from_mapping({"report": {"keep": "forever"}}, "x.toml")


def test_report_files_replace_a_planted_link_and_stay_private(
    sqlite_catalog: Catalog, tmp_path: Path, no_umask: None
) -> None:
    settings = _settings(tmp_path)
    settings = settings.model_copy(
        update={"report": settings.report.model_copy(update={"formats": ["md"]})}
    )
    folder = tmp_path / "state" / "reports"
    (written,) = deliver_weekly(settings, sqlite_catalog, AS_OF).files  # the folder made
    written.unlink()
    target = plant_link(written, tmp_path)
    assert deliver_weekly(settings, sqlite_catalog, AS_OF).files == (written,)
    assert target.read_bytes() == b"keep me"
    assert not written.is_symlink() and written.read_text().startswith("#")
    assert (mode(folder), mode(written)) == (0o700, 0o600)


def test_a_report_folder_behind_another_users_link_is_refused(
    sqlite_catalog: Catalog, tmp_path: Path
) -> None:
    (tmp_path / "theirs").mkdir()
    link_of_another_user(tmp_path / "via", tmp_path / "theirs")
    base = _settings(tmp_path)
    settings = base.model_copy(
        update={"report": base.report.model_copy(update={"out_dir": tmp_path / "via" / "r"})}
    )
    with pytest.raises(ReportError, match="symbolic link"):
        deliver_weekly(settings, sqlite_catalog, AS_OF)
    assert list((tmp_path / "theirs").iterdir()) == []
