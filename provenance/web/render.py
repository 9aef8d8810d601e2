"""The review queue's pages: Jinja2 templates with autoescaping on for every template (a file
name, a prompt, a note is text, never markup), and the two static files they use."""

from __future__ import annotations

import posixpath
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader
from starlette.responses import HTMLResponse

from provenance.catalog import utcnow
from provenance.clearance.assess import FLAG_FACTS
from provenance.clearance.rules import INTENDED_USES
from provenance.lifecycle.states import CLEARABLE, HOLDABLE
from provenance.report.groups import days_text
from provenance.report.render_text import iso

#: name -> (media type, bytes) of the files under /static/.
STATIC: dict[str, tuple[str, bytes]] = {
    name: (media, resources.files("provenance.web").joinpath("static", name).read_bytes())
    for name, media in (("app.css", "text/css; charset=utf-8"),)
}


def _day(value: datetime | None) -> str:
    return value.astimezone(UTC).date().isoformat() if value is not None else ""


def _days_left(value: datetime | None) -> str:
    if value is None:
        return ""
    return days_text((value.astimezone(UTC).date() - utcnow().date()).days)


@cache
def environment() -> Environment:
    """The templates, every one autoescaped (a value is markup only if a template says so)."""
    env = Environment(
        loader=PackageLoader("provenance.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["basename"] = lambda path: posixpath.basename(path) or path
    env.filters["day"] = _day
    env.filters["days_left"] = _days_left
    env.filters["stamp"] = lambda value: iso(value) or ""  # as the report prints a time
    env.globals["clearable"] = [str(status) for status in CLEARABLE]
    env.globals["holdable"] = [str(status) for status in HOLDABLE]
    env.globals["uses"] = list(INTENDED_USES)
    env.globals["flags"] = list(FLAG_FACTS)
    return env


def page(template: str, status: int, **context: Any) -> HTMLResponse:
    """Return ``template`` rendered with ``context`` as an HTML answer."""
    context.setdefault("who", None)
    context.setdefault("back", "/")
    context.setdefault("warnings", [])
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status)
