"""Whom a C2PA signature is trusted from: the anchors and signer lists of ``[detect.c2pa]``,
and the one word each C2PA signal records apart from its AI verdict."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

Trust = Literal["trusted", "untrusted", "invalid"]


@dataclass(frozen=True)
class C2paTrust:
    """Trust settings as plain values (they travel to the reader workers).

    ``anchors`` is the PEM text of the trust anchors (the C2PA trust list, a studio's own
    CA), read offline from the configured files; ``allowed`` and ``blocked`` are signer
    names as the manifest's signature reports them (the certificate's organization).
    """

    anchors: str = ""
    allowed: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()

    def digest(self) -> str:
        """Return a short digest of these settings (part of the detection fingerprint)."""
        text = "\n".join([self.anchors, *sorted(self.allowed), "--", *sorted(self.blocked)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


NO_TRUST = C2paTrust()


def judge_trust(validation_state: str | None, signer: str | None, trust: C2paTrust) -> Trust:
    """Return ``trusted``, ``untrusted`` or ``invalid`` for one manifest's signature.

    ``validation_state`` is the C2PA library's: ``Trusted`` (valid, and the signer chains
    to an anchor), ``Valid`` (valid, anchor unknown) or ``Invalid``. A blocked signer is
    never trusted; an allowed one is trusted when the signature is valid.
    Example: ("Valid", "Studio CA", allowed=("Studio CA",)) -> "trusted".
    """
    if validation_state not in ("Trusted", "Valid"):
        return "invalid"
    name = (signer or "").strip().casefold()
    if name and name in {blocked.strip().casefold() for blocked in trust.blocked}:
        return "untrusted"
    if validation_state == "Trusted":
        return "trusted"
    if name and name in {allowed.strip().casefold() for allowed in trust.allowed}:
        return "trusted"
    return "untrusted"
