"""Settings of the scheduled work: retention policies, job schedules, the weekly report."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from provenance.config.values import OptionalPath
from provenance.report.formats import FORMATS


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """Return the timedelta of ``"30d"``, ``"12h"``, ``"2w"``, ``"90m"`` or ``"45s"``."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use a number and s, m, h, d or w, e.g. '30d')")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


_MILESTONE_EXPIRY = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:([+-])\s*(\S.*?))?\s*$")


def parse_expiry(text: str) -> tuple[str | None, timedelta]:
    """Return ``(milestone, offset)`` of ``"30d"`` (no milestone) or ``"picture_lock + 90d"``."""
    try:
        return None, parse_duration(text)
    except ValueError:
        pass
    match = _MILESTONE_EXPIRY.match(text)
    if not match:
        raise ValueError(
            f"not a duration or milestone expression: {text!r} (e.g. '30d' or 'picture_lock + 90d')"
        )
    offset = parse_duration(match.group(3)) if match.group(3) else timedelta()
    return match.group(1), -offset if match.group(2) == "-" else offset


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


def _both_classes() -> list[Literal["ai", "partial"]]:
    return ["ai", "partial"]


class PolicySettings(_Section):
    """One retention rule; the first whose paths, classes and tools match an asset applies."""

    name: str = Field(min_length=1, max_length=200)
    #: Globs relative to the root ("**" = any folders, "*" = part of one name).
    paths: list[str] = Field(default_factory=lambda: ["**"])
    #: AI classes the rule applies to: "ai", "partial".
    classes: list[Literal["ai", "partial"]] = Field(default_factory=_both_classes)
    #: Generator names or families (case-insensitive); empty means any tool.
    tools: list[str] = Field(default_factory=list)
    #: "30d", or a milestone of the root's production with an offset: "picture_lock + 90d".
    expire_after: str = "30d"
    #: Count from when the asset was first seen, or its recorded creation time if earlier.
    count_from: Literal["first_seen", "created"] = "first_seen"
    #: How long before the deadline an asset shows as expiring.
    warn_before: str = "7d"
    #: How long a flagged asset waits before it is quarantined (action = "purge" only).
    grace: str = "7d"
    #: How long a quarantined file is kept before its bytes are deleted.
    quarantine_for: str = "14d"
    #: "flag" never moves a byte; "purge" quarantines, then deletes.
    action: Literal["flag", "purge"] = "flag"

    @field_validator("expire_after")
    @classmethod
    def _expiry_parses(cls, value: str) -> str:
        parse_expiry(value)
        return value

    _durations = field_validator("warn_before", "grace", "quarantine_for")(_check_duration)


class RetentionSettings(_Section):
    #: A sweep that would quarantine or purge more files than this refuses (unless --force).
    max_actions_per_run: int = Field(default=500, ge=1)
    #: Allow a sweep to quarantine or purge every AI asset of a root at once.
    allow_purge_all: bool = False
    #: Folder at the top of each root that quarantined files move into (same filesystem).
    quarantine_dir: str = ".provenance-quarantine"
    #: Ordered rules, first match wins; none means the built-in default (30 days, flag only).
    policies: list[PolicySettings] = Field(default_factory=list)

    @field_validator("quarantine_dir")
    @classmethod
    def _plain_folder_name(cls, value: str) -> str:
        if not value or "/" in value or "\\" in value or value in (".", ".."):
            raise ValueError("must be a folder name at the top of the root, not a path")
        return value


def _check_cron(value: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"not a cron expression ({exc}); e.g. '0 * * * *'") from exc
    return value


class ScheduleSettings(_Section):
    #: When the daemon sweeps (cron: minute hour day month weekday).
    sweep: str = "0 * * * *"
    #: When the daemon reconciles the catalog with the disks (and prunes the pictures kept of
    #: content no asset holds: ``service.thumbnails``).
    reconcile: str = "0 2 * * *"
    #: When the daemon re-hashes cleared finals (fixity check; default Sunday 03:00).
    fixity: str = "0 3 * * sun"
    #: Time zone of the cron strings (an IANA name); "" means the machine's local zone.
    timezone: str = ""

    _crons = field_validator("sweep", "reconcile", "fixity")(_check_cron)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError("unknown time zone (use an IANA name: Europe/London)") from exc
        return value


class SmtpSettings(_Section):
    """Where the weekly report is e-mailed; no host means no e-mail."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    #: SMTP server; "" means the report is only written to files.
    host: str = ""
    port: int = Field(default=587, ge=1, le=65535)
    #: Upgrade the connection with STARTTLS before logging in.
    starttls: bool = True
    #: Log in as this user ("" = no login).
    username: str = ""
    #: Name of the environment variable that holds the password.
    password_env: str = ""
    #: File that holds the password (first line); used when password_env is empty.
    password_file: OptionalPath = None
    #: The From address ("from" in TOML).
    from_address: str = Field(default="", alias="from")
    #: Who gets the report of every root.
    recipients: list[str] = Field(default_factory=list)
    #: Who gets the report of one root only: {root name: [addresses]}.
    root_recipients: dict[str, list[str]] = Field(default_factory=dict)


def _check_report_format(name: str) -> str:
    if name not in FORMATS:
        raise ValueError(f"not a report format (use one of {', '.join(FORMATS)})")
    return name


#: A report format's name, one of the report's format table.
ReportFormat = Annotated[str, AfterValidator(_check_report_format)]


def _default_report_formats() -> list[str]:
    return ["html", "json"]


class ReportSettings(_Section):
    """The weekly expiry report the daemon writes (and e-mails)."""

    #: When the daemon writes it (cron: minute hour day month weekday; [schedule] timezone).
    schedule: str = "0 7 * * mon"
    #: Folder for the dated report files; "" means <state_dir>/reports.
    out_dir: OptionalPath = None
    #: Formats written on each run.
    formats: list[ReportFormat] = Field(default_factory=_default_report_formats, min_length=1)
    #: Days before and after the run the report covers.
    days: int = Field(default=7, ge=1, le=366)
    #: How long a report file is kept, by the date in its name (a duration; "" keeps every
    #: one). Older ones are deleted each time the reports are written.
    keep: str = "365d"
    smtp: SmtpSettings = SmtpSettings()

    _schedule = field_validator("schedule")(_check_cron)

    @field_validator("keep")
    @classmethod
    def _keep_is_a_duration(cls, value: str) -> str:
        return _check_duration(value) if value else value
