"""``report``: the expiry report once, rendered in one format; ``send_report``: what the weekly
job does (the configured formats written to ``report.out_dir``, and e-mailed)."""

from __future__ import annotations

from datetime import datetime

from provenance.catalog import utcnow
from provenance.errors import ConfigError
from provenance.report.build import build_report
from provenance.report.data import Period
from provenance.report.deliver import Delivery, deliver_weekly, render
from provenance.report.pictures import add_pictures
from provenance.service.context import App, Caller
from provenance.service.remote import served


@served("report")
def report(
    app: App,
    caller: Caller,
    fmt: str,
    *,
    as_of: datetime | None = None,
    days: int | None = None,
    root_name: str | None = None,
    bom: bool = False,
) -> str:
    """Return the report as of ``as_of`` (default: now), ``days`` before and after (default:
    ``report.days``), of one root (its name in the config) or all, rendered as ``fmt``.

    Served: the text comes back whole; the caller picks the format and writes ``--out``. The
    HTML report shows pictures of files (``[thumbnails]``), made in reader workers."""
    caller.require("report")
    settings = app.settings
    root = None
    if root_name is not None:
        root = next((r for r in settings.roots if r.label == root_name), None)
        if root is None:
            names = ", ".join(r.label for r in settings.roots) or "none configured"
            raise ConfigError(f"--root {root_name}: no such root (roots: {names})")
    now = utcnow()
    period = Period(as_of=as_of or now, days=days or settings.report.days)
    built = build_report(app.catalog, settings, period, now, root=root)
    if fmt == "html":
        built = add_pictures(built, settings, app.thumbnailer)
    return render(built, fmt, bom=bom)


def send_report(
    app: App, caller: Caller, *, as_of: datetime | None = None, days: int | None = None
) -> Delivery:
    """Write ``report.formats`` to ``report.out_dir`` and e-mail them as configured, as the
    weekly job does; ``days`` in place of ``report.days``."""
    caller.require("report")
    settings = app.settings
    if days is not None:
        settings = settings.model_copy(
            update={"report": settings.report.model_copy(update={"days": days})}
        )
    return deliver_weekly(settings, app.catalog, as_of or utcnow(), app.thumbnailer)
