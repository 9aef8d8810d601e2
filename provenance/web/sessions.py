"""Who is signed in: sessions kept by the daemon, named by a random id in a signed cookie
(Starlette's SessionMiddleware: HttpOnly, SameSite=Strict, an expiry), each with the token
every form must send back (CSRF).

The cookie holds the session's id only; the session itself (user, expiry, token) lives here,
so that signing out or its expiry ends it for good, and a daemon restart ends them all.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

#: Sessions kept at once; past it the soonest to end go (each login makes one).
MAX_SESSIONS = 10_000
#: Seconds a visitor's session (the login form's token, nobody signed in) lasts at most:
#: visitors' sessions go first when there are too many.
VISITOR_SECONDS = 600


@dataclass(frozen=True)
class Session:
    """A browser's session: the OS user it signed in as (None: not signed in yet, only the
    login form's token), when it ends, and the token its forms carry."""

    id: str
    user: str | None
    csrf: str
    expires: float


class Sessions:
    """The sessions of one running web service (thread-safe)."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def new(self, user: str | None) -> Session:
        """Start a session for ``user`` (None: a visitor about to sign in) with a new id and
        token: an id is never reused, so a login never keeps a session it did not make."""
        lasts = self.lifetime if user is not None else min(self.lifetime, VISITOR_SECONDS)
        session = Session(
            secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), time.monotonic() + lasts
        )
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                self._prune()
            self._sessions[session.id] = session
        return session

    def get(self, session_id: object) -> Session | None:
        """Return the session of that id while it lasts, else None."""
        if not isinstance(session_id, str):
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.expires <= time.monotonic():
                del self._sessions[session_id]
                return None
        return session

    def end(self, session_id: object) -> None:
        """End a session (sign out)."""
        if isinstance(session_id, str):
            with self._lock:
                self._sessions.pop(session_id, None)

    def _prune(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[key]
        while len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions.values(), key=lambda s: s.expires)
            del self._sessions[oldest.id]


def token_matches(session: Session | None, sent: object) -> bool:
    """Whether a form's token is its session's (compared in constant time)."""
    return (
        session is not None
        and isinstance(sent, str)
        and hmac.compare_digest(session.csrf.encode(), sent.encode())
    )
