"""The review queue's HTTP server: uvicorn on a thread of the daemon, on the socket it bound
at start (so that an address in use is a start-up error, said in one line).

uvicorn trusts no forwarding header here (``proxy_headers`` off): the client address a
request is judged by is the TCP peer's; the trusted proxies are ``web.identity``'s business.
"""

from __future__ import annotations

import logging
import os
import pwd
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from provenance.errors import ConfigError

if TYPE_CHECKING:
    from provenance.catalog import Catalog
    from provenance.config import Settings
    from provenance.daemon.metrics import Snapshot

log = logging.getLogger(__name__)

#: What ``pip`` installs for the web service.
INSTALL = 'pip install "provenance-tracker[web]"'
#: The modules the web service needs, and the package each comes from.
NEEDED = {
    "starlette": "starlette",
    "uvicorn": "uvicorn",
    "jinja2": "jinja2",
    "multipart": "python-multipart",
    "itsdangerous": "itsdangerous",
}
#: Where pam_unix checks passwords (readable by root and group shadow).
SHADOW = "/etc/shadow"
#: Seconds the server may take to start, and to stop.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def check_installed(auth: str) -> None:
    """Raise ConfigError (one line: what to install) unless the web libraries are there."""
    import importlib.util

    needed = dict(NEEDED)
    if auth == "pam":
        needed["pamela"] = "pamela"
    missing = [
        package for module, package in needed.items() if not importlib.util.find_spec(module)
    ]
    if missing:
        raise ConfigError(
            f"web.enabled: the web review queue needs {', '.join(missing)}: {INSTALL}"
        )


class WebServer:
    """The review queue served on one address and port, on a thread of its own."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        clock: Callable[[], datetime],
        snapshot: Callable[[], Snapshot] | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.clock = clock
        self.snapshot = snapshot
        self._socket: socket.socket | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._web: Any = None

    @property
    def port(self) -> int:
        """The port it listens on (the one the kernel chose for port 0)."""
        assert self._socket is not None
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        host = self.settings.web.bind
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def start(self) -> None:
        """Bind, then serve on a thread; ConfigError when the address cannot be bound or the
        server does not start."""
        web = self.settings.web
        check_installed(web.auth)
        import uvicorn

        from provenance.web.app import Web

        family = socket.AF_INET6 if ":" in web.bind else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((web.bind, web.port))
            listener.listen(128)
        except OSError as exc:
            listener.close()
            raise ConfigError(
                f"web: cannot listen on {web.bind}:{web.port}: {exc.strerror or exc}"
            ) from exc
        self._socket = listener
        self._web = Web(self.settings, self.catalog, self.clock, self.snapshot)
        config = uvicorn.Config(
            self._web.asgi(),
            log_config=None,
            log_level="warning",  # the server's own start and stop lines: ours say it
            access_log=False,
            proxy_headers=False,
            server_header=False,
            date_header=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
            ws="none",
            timeout_keep_alive=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [listener]}, name="provenance-web"
        )
        self._thread.daemon = True
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"web: the server on {web.bind}:{web.port} did not start")
            time.sleep(0.02)
        log.info(
            "serving the review queue on %s (sign-in: %s)",
            self.url,
            "PAM" if web.auth == "pam" else f"the {web.trusted_header} header of the proxies",
        )
        if web.auth == "pam":
            cannot = shadow_unreadable()
            if cannot is not None:
                log.error(
                    "web: PAM sign-in will refuse every password: this account (%s) may not "
                    "read %s, where pam_unix checks them; put it in group shadow "
                    "(SupplementaryGroups=shadow, as `provenance daemon --print-unit` prints)",
                    cannot,
                    SHADOW,
                )

    def stop(self) -> None:
        """Stop serving: requests in hand finish (up to a few seconds), the socket closes."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(1.0)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._web is not None:
            self._web.close()
            self._web = None


def start_web(
    settings: Settings,
    catalog: Catalog,
    clock: Callable[[], datetime],
    snapshot: Callable[[], Snapshot] | None = None,
) -> WebServer:
    """Start the review queue as ``[web]`` says; ConfigError (one line) when it cannot."""
    server = WebServer(settings, catalog, clock, snapshot)
    server.start()
    return server


def shadow_unreadable() -> str | None:
    """Return this process's account name when it may not read ``SHADOW`` (which exists),
    else None: pam_unix could check no password kept there (its setgid helper is no way
    around under NoNewPrivileges=, and is not asked for here)."""
    if (
        os.geteuid() == 0
        or not os.path.exists(SHADOW)
        or os.access(SHADOW, os.R_OK, effective_ids=True)
    ):
        return None
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())
