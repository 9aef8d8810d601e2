"""The settings as an action: ``check`` (every problem of a config file at once) and ``shown``
(the settings in effect, the catalog's password hidden)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance.catalog import redact_url, url_problem
from provenance.config import check_config, config_path
from provenance.service.context import App


@dataclass(frozen=True)
class Checked:
    """A config file checked: where the settings came from (``(defaults)``: no file), how
    many roots it names, its catalog URL (no password), and every problem as a
    ``file: key: problem`` line (none: it is good)."""

    source: str
    roots: int
    catalog: str
    problems: tuple[str, ...]
    has_file: bool = True


def check(app: App, file: Path | None = None) -> Checked:
    """Check ``file`` (default: ``--config``, else the file the search path finds): bad values,
    unknown keys, roots that do not exist, a catalog URL whose driver is not installed."""
    path = file or app.config_path or config_path()
    if path is None:
        return Checked("(defaults)", len(app.settings.roots), "", (), has_file=False)
    settings, problems = check_config(path)
    url = settings.catalog.url if settings is not None else _raw_catalog_url(path)
    if url:
        problem = url_problem(url)
        if problem is not None:
            problems.append(f"{path}: catalog.url: {problem} (got {redact_url(url)!r})")
    if settings is None:
        return Checked(str(path), 0, "", tuple(problems or [f"{path}: the settings do not load"]))
    return Checked(
        settings.source, len(settings.roots), redact_url(settings.catalog_url), tuple(problems)
    )


def _raw_catalog_url(path: Path) -> str:
    """The catalog URL written in a file whose other settings do not load."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ""
    catalog = data.get("catalog")
    url = catalog.get("url") if isinstance(catalog, dict) else None
    return url if isinstance(url, str) else ""


def shown(app: App) -> dict[str, Any]:
    """Return the settings in effect, defaults included, as JSON values; the catalog URL
    without its password."""
    data = app.settings.model_dump(mode="json", by_alias=True)
    data["catalog"]["url"] = redact_url(app.settings.catalog_url)
    return data
