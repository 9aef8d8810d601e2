"""The web review queue the daemon serves when ``[web] enabled`` (Starlette on uvicorn):
``server`` (the thread and its socket), ``app`` (routes, who asks, answers), ``identity``
(the proxy's header, PAM), ``sessions`` (sessions and their CSRF tokens), ``actions`` (a
form -> a service decision), ``render`` (the autoescaped templates).

Nothing here is imported unless the web service is enabled: the idle daemon never loads the
web libraries.
"""

from __future__ import annotations

from provenance.web.server import WebServer, check_installed, start_web

__all__ = ["WebServer", "check_installed", "start_web"]
