"""Load settings from TOML into validated, frozen values; sensible defaults with no file at all."""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from provenance.clearance_settings import ClearanceSettings
from provenance.errors import ConfigError

CONFIG_ENV = "PROVENANCE_CONFIG"
STATE_DIR_ENV = "PROVENANCE_STATE_DIR"

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """Return the timedelta of ``"30d"``, ``"12h"``, ``"2w"``, ``"90m"`` or ``"45s"``."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use a number and s, m, h, d or w, e.g. '30d')")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RootSettings(_Section):
    """One production folder to scan and watch."""

    path: Path
    #: Short name used in reports; defaults to the folder's name.
    name: str = ""
    #: "auto" picks polling for NFS/SMB/CIFS mounts and inotify otherwise.
    watch: Literal["auto", "native", "polling"] = "auto"
    #: A file that must exist under the root for it to count as online ("" = no marker).
    marker: str = ""
    #: Who answers for this root (shown in reports).
    owner: str = ""
    #: The production whose milestones apply to this root (see [milestones]).
    production: str = ""

    @property
    def label(self) -> str:
        return self.name or self.path.name or str(self.path)


class CatalogSettings(_Section):
    #: SQLAlchemy URL; "" means SQLite in the state directory.
    url: str = ""


class ScanSettings(_Section):
    #: Extra file or folder name globs to skip (besides temp/partial files and our sidecars).
    ignore: list[str] = Field(default_factory=list)
    #: Decode pixels to look for data hidden in the alpha channel (slow; off the hot path).
    deep: bool = False
    #: Worker processes for hashing and detection; 0 means one per core.
    workers: int = Field(default=0, ge=0)
    #: Catalog writes per transaction.
    batch_size: int = Field(default=500, ge=1)


class PathRuleSettings(_Section):
    """Files matching ``glob`` are AI output of ``tool`` (for tools that leave no mark)."""

    glob: str
    tool: str
    model: str | None = None


class DetectSettings(_Section):
    #: Read third-party .xmp sidecars beside files as a signal.
    sidecars: bool = True
    path_rules: list[PathRuleSettings] = Field(default_factory=list)


class TaggingSettings(_Section):
    #: Write an XMP sidecar beside every AI asset.
    sidecar: bool = True
    #: Sidecar name: {name} is the file's name with extension, {stem} without.
    sidecar_pattern: str = "{name}.xmp"
    #: Formats opted in to embedded XMP ("jpeg", "png"); never a C2PA-signed file.
    embed: list[Literal["jpeg", "png"]] = Field(default_factory=list)

    @field_validator("sidecar_pattern")
    @classmethod
    def _pattern_names_the_file(cls, value: str) -> str:
        if "{name}" not in value and "{stem}" not in value:
            raise ValueError("must contain {name} or {stem}")
        if "/" in value or "\\" in value:
            raise ValueError("must be a file name, not a path")
        if not value.endswith(".xmp"):
            raise ValueError("must end in .xmp (exiftool and editors look for that)")
        return value


class DaemonSettings(_Section):
    #: Seconds a file's size and modification time must hold still before the daemon reads it
    #: (a file closed after writing on a local disk is read at once).
    quiet_period: float = Field(default=2.0, gt=0)
    #: Seconds between two looks at a root watched by polling (network shares).
    poll_interval: float = Field(default=10.0, gt=0)


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
    #: When the daemon reconciles the catalog with the disks.
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
    password_file: Path | None = None
    #: The From address ("from" in TOML).
    from_address: str = Field(default="", alias="from")
    #: Who gets the report of every root.
    recipients: list[str] = Field(default_factory=list)
    #: Who gets the report of one root only: {root name: [addresses]}.
    root_recipients: dict[str, list[str]] = Field(default_factory=dict)


ReportFormat = Literal["html", "json", "csv", "md"]


def _default_report_formats() -> list[ReportFormat]:
    return ["html", "json"]


class ReportSettings(_Section):
    """The weekly expiry report the daemon writes (and e-mails)."""

    #: When the daemon writes it (cron: minute hour day month weekday; [schedule] timezone).
    schedule: str = "0 7 * * mon"
    #: Folder for the dated report files; "" means <state_dir>/reports.
    out_dir: Path | None = None
    #: Formats written on each run.
    formats: list[ReportFormat] = Field(default_factory=_default_report_formats, min_length=1)
    #: Days before and after the run the report covers.
    days: int = Field(default=7, ge=1, le=366)
    smtp: SmtpSettings = SmtpSettings()

    _schedule = field_validator("schedule")(_check_cron)


class Settings(_Section):
    """Every setting, with its default. Load with :func:`load_settings`."""

    roots: list[RootSettings] = Field(default_factory=list)
    #: Where the catalog, locks and logs live; "" means the user's state directory.
    state_dir: Path | None = None
    catalog: CatalogSettings = CatalogSettings()
    scan: ScanSettings = ScanSettings()
    detect: DetectSettings = DetectSettings()
    tagging: TaggingSettings = TaggingSettings()
    daemon: DaemonSettings = DaemonSettings()
    retention: RetentionSettings = RetentionSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    report: ReportSettings = ReportSettings()
    clearance: ClearanceSettings = ClearanceSettings()
    #: Production milestones: {production: {milestone: date}}, e.g. show_a.picture_lock.
    milestones: dict[str, dict[str, date]] = Field(default_factory=dict)

    #: Where this configuration came from (not a setting).
    source: str = Field(default="(defaults)", exclude=True)

    @property
    def state_path(self) -> Path:
        if self.state_dir is not None:
            return self.state_dir.expanduser()
        env = os.environ.get(STATE_DIR_ENV)
        if env:
            return Path(env).expanduser()
        return Path(platformdirs.user_state_dir("provenance"))

    @property
    def report_dir(self) -> Path:
        """Return where the weekly report files go."""
        if self.report.out_dir is not None:
            return self.report.out_dir.expanduser()
        return self.state_path / "reports"

    @property
    def catalog_url(self) -> str:
        if self.catalog.url:
            return self.catalog.url
        return f"sqlite:///{self.state_path / 'catalog.sqlite'}"

    def with_roots(self, paths: list[Path]) -> Settings:
        """Return settings whose roots are ``paths`` (command-line roots win over the file's)."""
        known = {root.path.resolve(): root for root in self.roots}
        roots = [known.get(p.resolve(), RootSettings(path=p.resolve())) for p in paths]
        return self.model_copy(update={"roots": roots})

    def root_for(self, path: Path) -> RootSettings | None:
        """Return the configured root that contains ``path``, the deepest one first."""
        candidates = [r for r in self.roots if path.is_relative_to(r.path)]
        return max(candidates, key=lambda r: len(r.path.parts), default=None)


def _describe(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown setting"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    got = error.get("input")
    suffix = (
        f" (got {got!r})"
        if error["type"] != "extra_forbidden" and not isinstance(got, dict | list)
        else ""
    )
    return f"{location}: {message}{suffix}"


def settings_from_mapping(data: dict[str, Any], source: str = "(defaults)") -> Settings:
    """Validate ``data`` and return Settings; every problem is reported at once as file:key."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = [f"{source}: {_describe(e)}" for e in exc.errors()]  # type: ignore[arg-type]
        raise ConfigError("\n".join(problems)) from exc
    problems = [
        f"{source}: roots.{i}.path: must be an absolute path (got {str(r.path)!r})"
        for i, r in enumerate(settings.roots)
        if not r.path.expanduser().is_absolute()
    ]
    problems += [f"{source}: {problem}" for problem in _milestone_problems(settings)]
    if problems:
        raise ConfigError("\n".join(problems))
    roots = [r.model_copy(update={"path": r.path.expanduser()}) for r in settings.roots]
    return settings.model_copy(update={"source": source, "roots": roots})


def _milestone_problems(settings: Settings) -> list[str]:
    """Every policy milestone must be set for each production whose root it can apply to."""
    problems = []
    for index, policy in enumerate(settings.retention.policies):
        milestone, _offset = parse_expiry(policy.expire_after)
        if milestone is None:
            continue
        key = f"retention.policies.{index}.expire_after"
        productions = {root.production for root in settings.roots}
        if not any(milestone in dates for dates in settings.milestones.values()):
            problems.append(f"{key}: milestone {milestone!r} is not set in [milestones]")
            continue
        for production in sorted(productions):
            if not production:
                continue
            if milestone not in settings.milestones.get(production, {}):
                problems.append(
                    f"{key}: milestone {milestone!r} is not set for production {production!r} "
                    f"(add it under [milestones] {production} = {{ {milestone} = YYYY-MM-DD }})"
                )
    return problems


def load_settings(path: Path | None = None) -> Settings:
    """Return settings from ``path``, else from ``$PROVENANCE_CONFIG``, else the defaults.

    Raises ConfigError naming the file (and key) for a missing file, bad TOML or bad values.
    """
    if path is None:
        env = os.environ.get(CONFIG_ENV)
        if not env:
            return Settings()
        path = Path(env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such config file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    return settings_from_mapping(data, str(path))
