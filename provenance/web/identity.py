"""Who a web request comes from: the user name a trusted reverse proxy vouches for, or an OS
account whose password PAM accepted; either way an OS user, whose groups give the same roles
as on the command line (``access.roles.grants_for``, from the daemon's own configuration).

Never anything else the request says: a header from an address that is not a configured
proxy is refused, not ignored.
"""

from __future__ import annotations

import ipaddress
import logging
import pwd
from collections.abc import Mapping
from pathlib import Path

from provenance.access.identity import Actor, user_groups
from provenance.access.roles import grants_for
from provenance.config.web import WebSettings
from provenance.errors import ProvenanceError
from provenance.service.context import Caller

log = logging.getLogger(__name__)


class SignInError(ProvenanceError):
    """A request whose identity is refused (a forged header, no such account)."""


def _address(host: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not host:
        return None
    try:
        found = ipaddress.ip_address(host)
    except ValueError:
        return None
    # an IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def is_among(host: str | None, addresses: list[str]) -> bool:
    """Whether the client address ``host`` is one of ``addresses``."""
    found = _address(host)
    return found is not None and any(found == _address(a) for a in addresses)


def proxied_user(web: WebSettings, host: str | None, headers: Mapping[str, str]) -> str | None:
    """Return the user name the trusted header carries (None: it carries none).

    Raises SignInError when the header comes from an address that is not a trusted proxy
    (whatever the mode: nobody else may speak for a user), or is not a plain name."""
    value = headers.get(web.trusted_header.lower())
    if value is None:
        return None
    if web.auth != "header" or not is_among(host, web.trusted_proxies):
        raise SignInError(
            f"the {web.trusted_header} header is accepted only from the configured proxies "
            "(web.trusted_proxies)"
        )
    name = value.strip()
    if not name or len(name) > 256 or not name.isprintable() or "/" in name:
        raise SignInError(f"the {web.trusted_header} header holds no user name")
    return name


def os_user(name: str) -> pwd.struct_passwd:
    """Return the OS account ``name``; SignInError when there is none."""
    try:
        return pwd.getpwnam(name)
    except (KeyError, ValueError):
        raise SignInError(f"{name!r} is not an account on this server") from None


def caller_of(name: str, config: Path | None, catalog_owner: int | None) -> Caller:
    """Return the OS user ``name`` as a caller, with the roles the daemon's configuration gives
    the user and their groups (the same as over the socket)."""
    entry = os_user(name)
    groups = user_groups(entry.pw_uid, entry.pw_gid)
    return Caller(Actor.of(entry.pw_uid), grants_for(entry.pw_uid, groups, config, catalog_owner))


def password_accepted(service: str, name: str, password: str) -> bool:
    """Whether PAM's ``service`` accepts ``password`` for the OS account ``name`` and lets it
    in (authentication and account checks: an expired or locked account is refused).

    Blocks (PAM may wait seconds after a failure): call it off the event loop."""
    import pamela

    if "\0" in name or "\0" in password:
        return False
    try:
        pamela.authenticate(name, password, service=service, resetcred=0)
    except pamela.PAMError as exc:
        log.warning("web: sign-in refused for %r by PAM (%s): %s", name, service, exc)
        return False
    return True
