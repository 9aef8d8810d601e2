"""Load settings from TOML into validated, frozen values; sensible defaults with no file at all."""

from __future__ import annotations

import difflib
import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from provenance.config.clearance import ClearanceSettings
from provenance.config.jobs import (
    PolicySettings,
    ReportSettings,
    RetentionSettings,
    ScheduleSettings,
    SmtpSettings,
    parse_duration,
    parse_expiry,
)
from provenance.config.locations import (
    CONFIG_ENV,
    STATE_DIR_ENV,
    default_config_file,
    default_state_dir,
    sqlite_catalog_url,
)
from provenance.config.notify import NotifySettings, WebhookSettings
from provenance.config.roles import RoleSettings
from provenance.config.values import OptionalPath
from provenance.config.web import WebSettings
from provenance.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "STATE_DIR_ENV",
    "CatalogSettings",
    "DaemonSettings",
    "NotifySettings",
    "PolicySettings",
    "ReportSettings",
    "RetentionSettings",
    "RootSettings",
    "ScheduleSettings",
    "Settings",
    "SmtpSettings",
    "WebSettings",
    "WebhookSettings",
    "check_config",
    "config_path",
    "load_settings",
    "parse_duration",
    "parse_expiry",
    "settings_from_mapping",
]


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
    #: Files recorded per catalog transaction (among the last ``batch_size`` files of an
    #: ingest, ``ingest.TAIL_BATCH`` are recorded at a time while the workers still read).
    batch_size: int = Field(default=2000, ge=1)
    #: Seconds of wall time a worker may spend on one file (plus one per 25 MiB of it);
    #: past that the worker is stopped and replaced, and the file skipped with the reason.
    read_seconds: float = Field(default=30.0, gt=0)
    #: MiB of memory a worker may take for one file besides what it starts with; past that
    #: the read fails and the file is skipped with the reason (0: no limit).
    read_memory_mb: int = Field(default=512, ge=0)
    #: Times later scans try again to read a file that could not be read (over its budget,
    #: refused, unreadable); after that it is read again only once its size or mtime changes.
    retry_unreadable: int = Field(default=3, ge=0)
    #: Which files get a content hash of every byte: "identity" (AI assets, files the size
    #: of an AI asset, files a user tags; the others by device, inode, size, mtime and a
    #: partial fingerprint), or "all" (every file: reads every byte of the storage).
    hash: Literal["identity", "all"] = "identity"


class PathRuleSettings(_Section):
    """Files matching ``glob`` are AI output of ``tool`` (for tools that leave no mark)."""

    glob: str
    tool: str
    model: str | None = None


class C2paSettings(_Section):
    """Whose C2PA signatures are trusted (recorded per signal apart from the AI verdict)."""

    #: PEM files of trust anchors (the C2PA trust list saved to a file, a studio's own CA),
    #: read offline when a scan or the daemon starts.
    trust_anchors: list[Path] = Field(default_factory=list)
    #: Signer names (the certificate's organization, as `show` lists it) trusted without an
    #: anchor when their signature is valid.
    allowed_signers: list[str] = Field(default_factory=list)
    #: Signer names never trusted, whatever anchors say.
    blocked_signers: list[str] = Field(default_factory=list)


class DetectSettings(_Section):
    #: Read third-party .xmp sidecars beside files as a signal.
    sidecars: bool = True
    path_rules: list[PathRuleSettings] = Field(default_factory=list)
    c2pa: C2paSettings = C2paSettings()


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
    #: A reader process with no file to read for this long ends (a duration, e.g. "60s";
    #: "" keeps them): an idle daemon is one process. The next file starts one again.
    idle_workers_after: str = "60s"
    #: Folder for ``metrics.prom`` (node-exporter's textfile collector folder); None: the
    #: state folder, where the file is the service account's alone (0600). Written 0644
    #: elsewhere: it holds counts and root paths, never a prompt, a name or a note.
    metrics_dir: OptionalPath = None
    #: The socket other local users reach the daemon's catalog through; "" is
    #: ``$RUNTIME_DIRECTORY/api.sock`` under systemd, else the state directory's ``api.sock``.
    socket: str = ""
    #: Only this group's members (and the service account) may connect: the socket is 0660 and
    #: this group's; "" lets every local user connect (0666), each with their roles.
    socket_group: str = ""
    #: Seconds a client has to send its request (and to take each part of the answer).
    socket_timeout: float = Field(default=10.0, gt=0, le=3600)
    #: The service's account: besides root and the owner of the state directory, the only
    #: user whose daemon the command line talks to over the socket. Believed only from a
    #: config file owned by root (or by the user running the command) that nobody else may
    #: write.
    user: str = ""

    @field_validator("idle_workers_after")
    @classmethod
    def _idle_is_a_duration(cls, value: str) -> str:
        if value:
            parse_duration(value)
        return value

    @property
    def idle_workers_seconds(self) -> float | None:
        """``idle_workers_after`` in seconds; None when the readers are kept."""
        if not self.idle_workers_after:
            return None
        return parse_duration(self.idle_workers_after).total_seconds()


class ThumbnailSettings(_Section):
    """Small pictures of AI assets (``files.thumbnails``) for the HTML report and the review
    queue: made on demand in the reader workers, kept by content hash in the state folder."""

    #: Make pictures at all (false: the report and the queue show none).
    enabled: bool = True
    #: The most pictures one HTML report embeds (a few kilobytes each); 0: none.
    report_max: int = Field(default=150, ge=0, le=2000)
    #: The ffmpeg program that makes video poster frames: a name on PATH or an absolute
    #: path; "" makes none (a video then gets no picture, as when ffmpeg is not installed).
    ffmpeg: str = "ffmpeg"


class Settings(_Section):
    """Every setting, with its default. Load with :func:`load_settings`."""

    roots: list[RootSettings] = Field(default_factory=list)
    #: Where the catalog, locks and logs live; "" means the user's state directory.
    state_dir: OptionalPath = None
    catalog: CatalogSettings = CatalogSettings()
    scan: ScanSettings = ScanSettings()
    detect: DetectSettings = DetectSettings()
    tagging: TaggingSettings = TaggingSettings()
    daemon: DaemonSettings = DaemonSettings()
    retention: RetentionSettings = RetentionSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    report: ReportSettings = ReportSettings()
    thumbnails: ThumbnailSettings = ThumbnailSettings()
    clearance: ClearanceSettings = ClearanceSettings()
    roles: RoleSettings = RoleSettings()
    notify: NotifySettings = NotifySettings()
    web: WebSettings = WebSettings()
    #: Production milestones: {production: {milestone: date}}, e.g. show_a.picture_lock.
    milestones: dict[str, dict[str, date]] = Field(default_factory=dict)

    #: Where this configuration came from (not a setting).
    source: str = Field(default="(defaults)", exclude=True)

    @property
    def state_path(self) -> Path:
        if self.state_dir is not None:
            return self.state_dir.expanduser()
        return default_state_dir()

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
        return sqlite_catalog_url(self.state_path)

    def with_roots(self, paths: list[Path]) -> Settings:
        """Return settings whose roots are ``paths`` when any are given (command-line roots win
        over the file's; a path that is a configured root keeps its settings), else these."""
        if not paths:
            return self
        known = {root.path.resolve(): root for root in self.roots}
        roots = [known.get(p.resolve(), RootSettings(path=p.resolve())) for p in paths]
        return self.model_copy(update={"roots": roots})

    def root_for(self, path: Path) -> RootSettings | None:
        """Return the configured root that contains ``path``, the deepest one first."""
        candidates = [r for r in self.roots if path.is_relative_to(r.path)]
        return max(candidates, key=lambda r: len(r.path.parts), default=None)


def _section_at(location: tuple[str | int, ...]) -> type[BaseModel] | None:
    """Return the settings model that holds the keys at ``location`` (e.g. ("roots", 0))."""
    model: type[BaseModel] = Settings
    for part in location:
        if isinstance(part, int):
            continue  # an item of a list of sections
        field = next((f for name, f in model.model_fields.items() if part in (name, f.alias)), None)
        if field is None:
            return None
        inner = getattr(field.annotation, "__args__", (field.annotation,))
        nested = [t for t in inner if isinstance(t, type) and issubclass(t, BaseModel)]
        if not nested:
            return None
        model = nested[0]
    return model


def _did_you_mean(location: tuple[str | int, ...]) -> str:
    """Return `` (did you mean "x"?)`` for an unknown key close to a known one, else ""."""
    section = _section_at(location[:-1])
    if section is None or not isinstance(location[-1], str):
        return ""
    known = [
        field.alias or name for name, field in section.model_fields.items() if not field.exclude
    ]
    close = difflib.get_close_matches(location[-1], known, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _describe(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown setting" + _did_you_mean(tuple(error["loc"]))
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
    problems += [f"{source}: {problem}" for problem in _webhook_problems(settings)]
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


def _webhook_problems(settings: Settings) -> list[str]:
    """A webhook's roots filter must name configured roots."""
    names = {root.label for root in settings.roots}
    problems = []
    for index, hook in enumerate(settings.notify.webhooks):
        for name in hook.roots:
            if name not in names:
                problems.append(
                    f"notify.webhooks.{index}.roots: no root named {name!r} "
                    f"(roots: {', '.join(sorted(names)) or 'none configured'})"
                )
    return problems


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such config file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def config_path() -> Path | None:
    """Return the file the settings come from when no ``--config`` is given:
    ``$PROVENANCE_CONFIG``, else the first file of the search path, else None."""
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else default_config_file()


def load_settings(path: Path | None = None) -> Settings:
    """Return settings from ``path``, else from ``$PROVENANCE_CONFIG``, else from the first
    file of the search path that exists (``/etc/provenance/provenance.toml``, then the user's
    config directory), else the defaults.

    Raises ConfigError naming the file (and key) for a missing file, bad TOML or bad values.
    """
    if path is None:
        path = config_path()
        if path is None:
            return Settings()
    return settings_from_mapping(_read_toml(path), str(path))


def check_config(path: Path) -> tuple[Settings | None, list[str]]:
    """Return the settings of ``path`` (None if they do not load) and every problem found, as
    ``file: key: problem`` lines: what loading reports, and roots that do not exist on this
    machine (a root is looked for even when other settings are wrong)."""
    try:
        data = _read_toml(path)
    except ConfigError as exc:
        return None, [str(exc)]
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = settings_from_mapping(data, str(path))
    except ConfigError as exc:
        problems += str(exc).splitlines()
    roots = data.get("roots")
    for index, root in enumerate(roots if isinstance(roots, list) else []):
        folder = root.get("path") if isinstance(root, dict) else None
        if not isinstance(folder, str) or not Path(folder).expanduser().is_absolute():
            continue  # reported by the loading above
        if not os.path.isdir(Path(folder).expanduser()):
            what = "not a folder" if os.path.lexists(folder) else "no such folder"
            problems.append(f"{path}: roots.{index}.path: {what} (got {folder!r})")
    if settings is not None:
        for index, hook in enumerate(settings.notify.webhooks):
            secret = hook.secret_file
            if secret is not None and not secret.expanduser().is_file():
                problems.append(
                    f"{path}: notify.webhooks.{index}.secret_file: no such file "
                    f"(got {str(secret)!r})"
                )
    return settings, problems
