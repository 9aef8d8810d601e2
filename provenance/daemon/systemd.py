"""systemd: readiness and watchdog pings over ``$NOTIFY_SOCKET``, and the unit file.

The notify protocol is one datagram of ``KEY=value`` lines to the AF_UNIX socket named in
``$NOTIFY_SOCKET`` (``@`` at the start means Linux's abstract namespace); without it every
call does nothing, so the daemon runs the same by hand.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
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

    def reloading(self) -> bool:
        """Tell systemd a reload began (it waits for READY=1); systemd 253 and later want the
        CLOCK_MONOTONIC time of the start with it."""
        now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={now_usec}", "STATUS=reloading")

    def reloaded(self, status: str) -> bool:
        """Tell systemd the reload is over (whether the new config was taken or not)."""
        return self.notify("READY=1", f"STATUS={status}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1", "STATUS=stopping")


#: The account the printed unit runs the daemon as, unless told otherwise.
SERVICE_ACCOUNT = "provenance"
#: Where a home directory that protects nothing lives; a path under one of these is not
#: hidden from the service (``ProtectHome=read-only`` instead of ``yes``).
HOME_FOLDERS = (Path("/home"), Path("/root"), Path("/run/user"))
#: The host's temporary folders, which ``PrivateTmp=yes`` replaces with empty ones.
TEMPORARY_FOLDERS = (Path("/tmp"), Path("/var/tmp"))
#: This package's folder: an editable install runs it from its checkout, wherever that is.
PACKAGE = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Unit:
    """What the printed unit says: the command, the account, the folders it writes."""

    #: The command that runs the daemon (absolute paths).
    command: list[str]
    user: str = SERVICE_ACCOUNT
    group: str = SERVICE_ACCOUNT
    #: Folders the daemon writes besides its StateDirectory (the roots: sidecars and
    #: quarantine; a state or report folder set in the config).
    writes: tuple[Path, ...] = ()
    #: Other folders it reads (the program itself, the config file).
    reads: tuple[Path, ...] = ()
    #: Whether it checks passwords with PAM (the review queue's ``[web] auth = "pam"``).
    pam: bool = False

    @property
    def supplementary_groups(self) -> str:
        """The lines giving the account the groups it needs besides its own: ``shadow`` to
        check passwords with PAM (pam_unix reads /etc/shadow; its setgid helper,
        unix_chkpwd, cannot gain the group under NoNewPrivileges=)."""
        if not self.pam:
            return ""
        return (
            '# The review queue signs users in with PAM ([web] auth = "pam"): pam_unix reads\n'
            "# /etc/shadow, which only group shadow may (NoNewPrivileges= keeps its helper out)\n"
            "SupplementaryGroups=shadow\n"
        )

    @property
    def protect_home(self) -> str:
        """``yes`` (home folders hidden) unless a folder it needs is under one."""
        needed = [*self.writes, *self.reads]
        under_home = any(path.is_relative_to(home) for path in needed for home in HOME_FOLDERS)
        return "read-only" if under_home else "yes"

    @property
    def private_tmp(self) -> str:
        """``yes`` (a /tmp of its own) unless a folder it writes is in the host's /tmp."""
        in_tmp = any(path.is_relative_to(tmp) for path in self.writes for tmp in TEMPORARY_FOLDERS)
        return "no" if in_tmp else "yes"

    @property
    def kept_from_tmp(self) -> list[Path]:
        """What it reads in the host's /tmp (a program installed there), with a private /tmp:
        bound into it read-only, else the start fails (status=203/EXEC)."""
        if self.private_tmp == "no":
            return []
        needed = [
            path
            for path in dict.fromkeys([*self.reads, PACKAGE])
            if any(path.is_relative_to(tmp) for tmp in TEMPORARY_FOLDERS)
        ]
        # a file or folder inside another one bound comes with it
        return [p for p in needed if not any(p != o and p.is_relative_to(o) for o in needed)]


def unit_file(unit: Unit) -> str:
    """Return a systemd service unit that runs the daemon as a hardened notify service.

    The account needs no home: the state goes to ``StateDirectory=`` (systemd creates
    ``/var/lib/provenance`` for it and passes ``$STATE_DIRECTORY``), the config is read from
    ``ConfigurationDirectory=`` (``/etc/provenance``). The whole file system is read-only
    (``ProtectSystem=strict``) but for the state and the roots (``ReadWritePaths=``, each
    with ``-`` so that a root whose share is not mounted yet does not stop the start).
    """
    # Without a /tmp of its own the daemon's temporary files (a big walk's spill file) go to
    # the host's, which ProtectSystem=strict leaves read-only unless named.
    shared_tmp = (Path("/tmp"),) if unit.private_tmp == "no" else ()
    writes = "".join(
        f"ReadWritePaths={_word('-' + str(path), specifiers=True)}\n"
        for path in dict.fromkeys([*unit.writes, *shared_tmp])
    )
    binds = "".join(
        f"BindReadOnlyPaths={_word('-' + str(path), specifiers=True)}\n"
        for path in unit.kept_from_tmp
    )
    return f"""\
[Unit]
Description=provenance daemon: track generative-AI assets on production storage
Wants=network-online.target
After=network-online.target remote-fs.target

[Service]
Type=notify
NotifyAccess=main
ExecStart={" ".join(_word(word, specifiers=True, variables=True) for word in unit.command)}
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=5
WatchdogSec={WATCHDOG_SECONDS}
TimeoutStopSec=10
KillMode=mixed

# A service account with no home: the state in /var/lib/provenance ($STATE_DIRECTORY),
# the config in /etc/provenance, every file the daemon creates there readable by it alone.
User={_word(unit.user, specifiers=True)}
Group={_word(unit.group, specifiers=True)}
{unit.supplementary_groups}StateDirectory=provenance
StateDirectoryMode=0700
ConfigurationDirectory=provenance
# The socket other local users reach the catalog through, as themselves (/run/provenance)
RuntimeDirectory=provenance
RuntimeDirectoryMode=0755
UMask=0077

# Hardening: the daemon reads the roots, writes sidecars and quarantines there and keeps
# its state; it needs nothing else of the system.
ProtectSystem=strict
{writes}ProtectHome={unit.protect_home}
PrivateTmp={unit.private_tmp}
{binds}PrivateDevices=yes
PrivateMounts=yes
NoNewPrivileges=yes
CapabilityBoundingSet=
RestrictSUIDSGID=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
LockPersonality=yes
ProtectProc=invisible
RemoveIPC=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
# PostgreSQL and SMTP are reached over the network. No MemoryDenyWriteExecute=: libraries
# loaded through ctypes/cffi (c2pa) may need writable code pages.
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6

[Install]
WantedBy=multi-user.target
"""


def _word(text: str, *, specifiers: bool = False, variables: bool = False) -> str:
    """Return ``text`` as one word of a unit file setting: ``%`` (a specifier) and ``$`` (a
    variable, in ExecStart=) doubled, quoted with C escapes when it holds a space or a quote."""
    if specifiers:
        text = text.replace("%", "%%")
    if variables:
        text = text.replace("$", "$$")
    if not text or any(c.isspace() or c in "\"'\\;" for c in text):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        escaped = escaped.replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    return text


def provenance_command(argv0: str, which: str | None, python: str) -> list[str]:
    """Return the absolute command that runs provenance: the running ``provenance`` script,
    else the one on PATH, else ``python -m provenance``."""
    script = Path(argv0)
    if script.name == "provenance" and script.exists():
        return [str(script.absolute())]
    if which:
        return [str(Path(which).absolute())]
    return [str(Path(python).absolute()), "-m", "provenance"]
