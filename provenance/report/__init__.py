"""The weekly expiry report: catalog answers -> Report values -> HTML, JSON, CSV, Markdown."""

from provenance.report.build import build_report
from provenance.report.data import Period, Report, Section
from provenance.report.deliver import Delivery, deliver_weekly, render, run_weekly_report
from provenance.report.items import Item, RootInfo

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
    "run_weekly_report",
]
