"""The report formats, one table: each format's name, file extension, media type and renderer.

``provenance report --format`` offers its names (and reads the format from an ``--out``
file's suffix), the config check of ``report.formats`` accepts them, and the weekly job
names, writes and prunes its dated files by them. A new format is a renderer and one line
in ``FORMATS``. The renderers load on first use: the config reads this table, and must not
load the report's code (nor the catalog's) with it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from provenance.errors import ReportError

if TYPE_CHECKING:
    from provenance.report.data import Report


@dataclass(frozen=True)
class ReportFormat:
    """One report format.

    ``renderer`` is ``"module:function"`` in this package, a function of the report (and
    of ``bom`` when ``takes_bom``) that returns the text; ``suffixes`` are the other file
    suffixes that mean this format when ``--out`` names a file (``.htm``).
    """

    name: str
    extension: str
    media_type: str
    renderer: str
    suffixes: tuple[str, ...] = ()
    takes_bom: bool = False

    def render(self, report: Report, *, bom: bool = False) -> str:
        """Return ``report`` in this format (``bom``: a UTF-8 byte order mark, CSV only)."""
        module, _, function = self.renderer.partition(":")
        render = getattr(importlib.import_module(f".{module}", __package__), function)
        return cast(str, render(report, bom=bom) if self.takes_bom else render(report))


FORMATS: dict[str, ReportFormat] = {
    entry.name: entry
    for entry in (
        ReportFormat("html", ".html", "text/html", "render_html:render_html", (".htm",)),
        ReportFormat("json", ".json", "application/json", "render_text:render_json"),
        ReportFormat("csv", ".csv", "text/csv", "render_text:render_csv", takes_bom=True),
        ReportFormat("md", ".md", "text/markdown", "render_text:render_markdown"),
    )
}


def report_format(name: str) -> ReportFormat:
    """Return the format named ``name``; ReportError if there is none."""
    found = FORMATS.get(name)
    if found is None:
        raise ReportError(f"unknown report format {name!r} (use one of {', '.join(FORMATS)})")
    return found


def format_of_file(suffix: str) -> ReportFormat | None:
    """Return the format a file name's ``suffix`` (``".HTM"``, ``".csv"``) means, if any."""
    suffix = suffix.lower()
    return next(
        (entry for entry in FORMATS.values() if suffix in (entry.extension, *entry.suffixes)),
        None,
    )
