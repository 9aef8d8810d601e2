"""systemd: readiness and watchdog pings over ``$NOTIFY_SOCKET``, and the unit file.

The notify protocol is one datagram of ``KEY=value`` lines to the AF_UNIX socket named in
``$NOTIFY_SOCKET`` (``@`` at the start means Linux's abstract namespace); without it every
call does nothing, so the daemon runs the same by hand.
"""

from __future__ import annotations

import logging
import os
import shlex
import socket
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

#: WatchdogSec= in the unit file; the daemon pings at half of what systemd passes it.
WATCHDOG_SECONDS = 60


class Notifier:
    """Sends sd_notify messages; a no-op when not started by systemd with Type=notify."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        for_us = not pid or pid == str(os.getpid())
        #: Seconds between two WATCHDOG=1 pings (half of systemd's timeout), or None.
        self.watchdog_interval = int(usec) / 2_000_000 if usec.isdigit() and for_us else None

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, *fields: str) -> bool:
        """Send ``fields`` (e.g. "READY=1", "STATUS=watching 3 roots"); return whether sent."""
        if not self.address:
            return False
        message = "\n".join(fields).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(message)
        except OSError as exc:
            log.debug("sd_notify to %r failed: %s", self.address, exc)
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.notify("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def status(self, status: str) -> bool:
        return self.notify(f"STATUS={status}")

    def ping(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1", "STATUS=stopping")


def unit_file(command: list[str], environment: Mapping[str, str] | None = None) -> str:
    """Return a systemd service unit that runs ``command`` (absolute paths) as a notify service."""
    env_lines = "".join(
        f"Environment={shlex.quote(f'{key}={value}')}\n"
        for key, value in (environment or {}).items()
    )
    return f"""\
[Unit]
Description=provenance daemon: track generative-AI assets on production storage
Wants=network-online.target
After=network-online.target remote-fs.target

[Service]
Type=notify
NotifyAccess=main
ExecStart={shlex.join(command)}
ExecReload=/bin/kill -HUP $MAINPID
{env_lines}Restart=on-failure
RestartSec=5
WatchdogSec={WATCHDOG_SECONDS}
TimeoutStopSec=10
KillMode=mixed

[Install]
WantedBy=multi-user.target
"""


def provenance_command(argv0: str, which: str | None, python: str) -> list[str]:
    """Return the absolute command that runs provenance: the running ``provenance`` script,
    else the one on PATH, else ``python -m provenance``."""
    script = Path(argv0)
    if script.name == "provenance" and script.exists():
        return [str(script.absolute())]
    if which:
        return [str(Path(which).absolute())]
    return [str(Path(python).absolute()), "-m", "provenance"]
