"""The weekly expiry report: catalog answers -> Report values -> HTML, JSON, CSV, Markdown
(one table of them: ``formats``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance import lazy_exports

if TYPE_CHECKING:
    from provenance.report.build import build_report
    from provenance.report.data import Period, Report, Section
    from provenance.report.deliver import Delivery, deliver_weekly, render
    from provenance.report.items import Item, RootInfo

# The config reads the format table (``report.formats``): importing one module of this
# package must not load the catalog and the renderers.
__getattr__ = lazy_exports(
    __name__,
    {
        "build_report": "provenance.report.build",
        "Period": "provenance.report.data",
        "Report": "provenance.report.data",
        "Section": "provenance.report.data",
        "Delivery": "provenance.report.deliver",
        "deliver_weekly": "provenance.report.deliver",
        "render": "provenance.report.deliver",
        "Item": "provenance.report.items",
        "RootInfo": "provenance.report.items",
    },
)

__all__ = [
    "Delivery",
    "Item",
    "Period",
    "Report",
    "RootInfo",
    "Section",
    "build_report",
    "deliver_weekly",
    "render",
]
