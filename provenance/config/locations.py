"""Where the settings and the state live when no config file says: the environment, then the
system's and the user's directories. Light on purpose (no pydantic): a command asks where its
config file is before the settings load."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provenance.files.confined import Folder

#: The config file to read when ``--config`` is not given.
CONFIG_ENV = "PROVENANCE_CONFIG"
#: Where the catalog, locks and logs live when the config does not say.
STATE_DIR_ENV = "PROVENANCE_STATE_DIR"
#: Set by systemd to the unit's ``StateDirectory=`` (``/var/lib/provenance``).
SYSTEMD_STATE_ENV = "STATE_DIRECTORY"
#: The server's config file, read when neither ``--config`` nor ``$PROVENANCE_CONFIG`` names
#: one. A constant, not an environment variable: only root writes /etc, and nobody can point
#: the daemon or another user's command at a file of their own through the environment
#: (tests replace it with monkeypatch).
SYSTEM_CONFIG = Path("/etc/provenance/provenance.toml")
#: The file's name in the user's config directory (``~/.config/provenance/provenance.toml``).
CONFIG_NAME = "provenance.toml"


def config_file_named() -> bool:
    """Whether the environment names a config file (an empty value names none)."""
    return bool(os.environ.get(CONFIG_ENV))


def config_search_path() -> list[Path]:
    """The files looked for, in order, when no config file is named: the system's, then the
    user's (XDG on Linux)."""
    import platformdirs

    return [SYSTEM_CONFIG, Path(platformdirs.user_config_dir("provenance")) / CONFIG_NAME]


def default_config_file() -> Path | None:
    """Return the first file of :func:`config_search_path` that exists, or None.

    A folder that cannot be looked into (an account whose home is ``/nonexistent``) holds
    no config file.
    """
    return next((path for path in config_search_path() if os.path.isfile(path)), None)


def default_state_dir() -> Path:
    """``$PROVENANCE_STATE_DIR``, else systemd's ``$STATE_DIRECTORY``, else the user's state
    directory (XDG on Linux)."""
    env = os.environ.get(STATE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    # systemd lists one folder per StateDirectory= entry, separated by colons
    systemd = os.environ.get(SYSTEMD_STATE_ENV, "").split(":")[0]
    if systemd:
        return Path(systemd)
    import platformdirs

    return Path(platformdirs.user_state_dir("provenance"))


def sqlite_catalog_url(state_dir: Path) -> str:
    """The URL of the embedded catalog in ``state_dir``."""
    return f"sqlite:///{state_dir / 'catalog.sqlite'}"


#: The state directory and every file in it are the owner's alone, whatever the umask: the
#: catalog holds talent names, personal-data flags, prompts and the audit key.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def open_private_dir(path: Path) -> Folder:
    """Create ``path`` (and any missing parents, 0700), make it 0700 when this user owns it
    and return it open: the state files in it are made through its descriptor.

    An existing state directory left open by an older release is closed. Walked from ``/``
    without following a link another user could have planted
    (``files.confined.open_folder``); raises ConfinementError for one.
    """
    from provenance.files.confined import open_folder

    folder = open_folder(path, create=True, mode=PRIVATE_DIR_MODE)
    info = os.fstat(folder.fd)
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) != PRIVATE_DIR_MODE:
        os.fchmod(folder.fd, PRIVATE_DIR_MODE)
    return folder


def private_dir(path: Path) -> Path:
    """Create ``path`` as :func:`open_private_dir` does and return it."""
    open_private_dir(path).close()
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if it is missing (never following a link: ConfinementError) and
    make it 0600 when this user owns it; return it. Its folder must exist."""
    from provenance.files.confined import open_folder

    with open_folder(path.parent) as folder:
        os.close(folder.open_for_writing(path.name, mode=PRIVATE_FILE_MODE))
    return path
