"""Where the settings and the state live when no config file says: the environment, then the
user's state directory. Light on purpose (no pydantic): a scan of folders given on the command
line, with no config file, starts reading before the settings load (cli/scan.py)."""

from __future__ import annotations

import os
from pathlib import Path

#: The config file to read when ``--config`` is not given.
CONFIG_ENV = "PROVENANCE_CONFIG"
#: Where the catalog, locks and logs live when the config does not say.
STATE_DIR_ENV = "PROVENANCE_STATE_DIR"


def config_file_named() -> bool:
    """Whether the environment names a config file (an empty value names none)."""
    return bool(os.environ.get(CONFIG_ENV))


def default_state_dir() -> Path:
    """``$PROVENANCE_STATE_DIR``, else the user's state directory (XDG on Linux)."""
    env = os.environ.get(STATE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_state_dir("provenance"))


def sqlite_catalog_url(state_dir: Path) -> str:
    """The URL of the embedded catalog in ``state_dir``."""
    return f"sqlite:///{state_dir / 'catalog.sqlite'}"
