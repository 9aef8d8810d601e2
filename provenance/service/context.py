"""What every action shares: the settings loaded once, the catalog opened on first use, and
who calls (``Caller``: the kernel's word on the user, and the roles it holds).

The settings (pydantic) and the catalog (SQLAlchemy) load on first use too, so that a command
that needs neither, or not yet (``--version``, ``--help``, a scan's head start), does not wait
for them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.access.identity import Actor
from provenance.errors import ConfigError
from provenance.files.roots import resolve_path as resolve_path  # callers take it from here

if TYPE_CHECKING:
    from provenance.access.roles import Grants
    from provenance.catalog import Catalog
    from provenance.config import Settings
    from provenance.files.thumbnails import Thumbnailer
    from provenance.service.remote import Remote


@dataclass(frozen=True)
class Caller:
    """Who asks for an action: the real OS user and host (the kernel's uid, or a socket
    peer's credentials; never the environment) and the roles they hold on the catalog.

    ``grants`` None: the service acting on its own (the daemon's jobs), which holds every role.
    """

    actor: Actor
    grants: Grants | None

    @classmethod
    def service(cls, actor: Actor) -> Caller:
        """The daemon itself, acting on its own schedule."""
        return cls(actor, None)

    def require(self, action: str, doing: str | None = None) -> None:
        """Raise PermissionDeniedError unless the caller's roles allow ``action``."""
        from provenance.access.roles import require

        require(self.grants, action, doing)


@dataclass
class App:
    """The state every action shares: which config, the settings, the open catalog."""

    config_path: Path | None
    debug: bool = False
    #: Whether the served actions go to the daemon's socket (``service.remote``): True
    #: always, None when this user cannot open the catalog and a daemon serves it, False never.
    via_daemon: bool | None = False
    _settings: Settings | None = field(default=None, repr=False)
    _catalog: Catalog | None = field(default=None, repr=False)
    _grants: Grants | None = field(default=None, repr=False)
    _remote: Remote | None = field(default=None, repr=False)
    _thumbnailer: Thumbnailer | None = field(default=None, repr=False)

    @classmethod
    def using(cls, settings: Settings, catalog: Catalog | None = None) -> App:
        """An App on settings already loaded and, if given, a catalog already open (the
        daemon's, a test's): its owner closes that catalog."""
        return cls(config_path=None, _settings=settings, _catalog=catalog)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from provenance.config import load_settings

            self._settings = load_settings(self.config_path)
        return self._settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = value

    @property
    def reads_no_config_file(self) -> bool:
        """Whether the settings, not loaded yet, will be the defaults: no ``--config``, no
        ``$PROVENANCE_CONFIG``, no file on the search path (a scan then uses the user's own
        catalog, never a daemon's)."""
        from provenance.config.locations import config_file_named, default_config_file

        return (
            self._settings is None
            and self.config_path is None
            and not config_file_named()
            and default_config_file() is None
        )

    @property
    def remote(self) -> Remote | None:
        """The daemon's socket, when the served actions go there (``via_daemon``)."""
        if self._remote is None and self.via_daemon is not False:
            from provenance.service.remote import daemon_for

            self._remote = daemon_for(self.settings, forced=bool(self.via_daemon))
            self.via_daemon = self._remote is not None
        return self._remote

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            from provenance.catalog import Catalog

            if self.remote is not None:
                from provenance.service.remote import DaemonError

                raise DaemonError(
                    f"the catalog is the daemon's (reached through {self.remote.path}), and the "
                    "daemon does not serve this command: run it as the service's account"
                )
            from provenance.config.locations import private_dir

            if not self.settings.catalog.url:  # the catalog in the state directory
                private_dir(self.settings.state_path)
            self._catalog = Catalog.open(self.settings.catalog_url, self.settings.state_path)
        return self._catalog

    @property
    def thumbnailer(self) -> Thumbnailer:
        """The pictures of assets (``files.thumbnails``): kept in the state folder, made in
        reader workers of their own, started on first use and ended when idle."""
        if self._thumbnailer is None:
            from provenance.report.pictures import thumbnailer_for

            self._thumbnailer = thumbnailer_for(self.settings)
        return self._thumbnailer

    def use_roots(self, paths: Sequence[Path], doing: str) -> Settings:
        """Make the folders given (if any) the roots, and return the settings; ConfigError
        when there are no roots at all (``doing``: "scan", "watch")."""
        settings = self.settings.with_roots(list(paths))
        if not settings.roots:
            raise ConfigError(
                f"nothing to {doing}: give folders on the command line or set [[roots]] in "
                "the config (--config FILE or PROVENANCE_CONFIG)"
            )
        self.settings = settings
        return settings

    def settings_with_roots(self) -> Settings:
        """Return the settings; with no configured roots, the roots the catalog knows.

        With no config file the roots are whatever folders were scanned, so later commands
        (sweep, restore, report) work on those without a config.
        """
        from provenance.config import RootSettings

        settings = self.settings
        if settings.roots:
            return settings
        with self.catalog.read() as tx:
            known = tx.known_roots()
        roots = [RootSettings(path=Path(root)) for root in known]
        self._settings = settings.model_copy(update={"roots": roots})
        return self._settings

    @property
    def actor(self) -> Actor:
        """The process's real user, as the kernel says."""
        return Actor.current()

    @property
    def grants(self) -> Grants:
        """The roles of the process's real user on this catalog (``access.roles``)."""
        if self._grants is None:
            from provenance.access.roles import caller_grants

            source = Path(self.settings.source)
            config = source if source.is_file() else None
            self._grants = caller_grants(config, catalog_owner(self.settings.catalog_url, config))
        return self._grants

    @property
    def caller(self) -> Caller:
        """This process's own user as the caller: the kernel's uid and its roles."""
        return Caller(self.actor, self.grants)

    def close(self) -> None:
        if self._thumbnailer is not None:
            self._thumbnailer.close()
            self._thumbnailer = None
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None


def catalog_owner(url: str, config: Path | None) -> int | None:
    """Return the uid owning the catalog: a SQLite file's owner (the caller's, for one not made
    yet); for a server catalog, the owner of the config file that names it (who holds its
    credentials), else None (shared)."""
    if not url.startswith("sqlite:///"):
        try:
            return config.stat().st_uid if config is not None else None
        except OSError:
            return None
    path = Path(url.split("///", 1)[1]).expanduser()
    for candidate in (path, *path.parents):
        try:
            return candidate.stat().st_uid if candidate == path else os.getuid()
        except FileNotFoundError:
            continue
        except OSError:
            return None
    return os.getuid()
