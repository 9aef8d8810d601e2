"""The review queue's ASGI application (Starlette): its routes, who each request comes from,
and the answers: server-rendered pages, refusals, /metrics.

Every page and decision goes through the service layer as the signed-in OS user, with the
roles the daemon's configuration gives them (``web.identity``): the same functions and the
same refusals as the command line. Every form carries its session's token (CSRF), checked
before anything is read from it; a POST from another site's page is refused by its Origin
too. Pages allow no script, no frame and nothing from elsewhere (Content-Security-Policy),
and everything shown is escaped by the templates (``web.render``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provenance.access.roles import Role
from provenance.audit.refusals import RefusalLog
from provenance.catalog import Catalog, utcnow
from provenance.clearance.assess import Missing, needed_for
from provenance.clearance.explain import label_text
from provenance.config import Settings
from provenance.daemon.metrics import Snapshot, exposition
from provenance.errors import NotInCatalogError, PermissionDeniedError, ProvenanceError
from provenance.service import assets
from provenance.service.context import App, Caller, catalog_owner
from provenance.web.actions import ACTIONS, perform, record_refusal, refusal_writer
from provenance.web.identity import (
    SignInError,
    caller_of,
    is_among,
    password_accepted,
    proxied_user,
)
from provenance.web.render import STATIC, page
from provenance.web.sessions import Session, Sessions, token_matches

log = logging.getLogger(__name__)

#: The session cookie's name.
COOKIE = "provenance_session"
#: The largest request body read (a form): a bigger one is refused before it is parsed.
MAX_BODY = 256 * 1024
#: Sent with every answer.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class _SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, sending)


@dataclass(frozen=True)
class Can:
    """Which decisions the signed-in user's roles allow (the forms shown)."""

    clear: bool
    revoke: bool
    hold: bool
    release: bool
    tag: bool

    @property
    def any(self) -> bool:
        return self.clear or self.revoke or self.hold or self.release or self.tag

    @classmethod
    def of(cls, caller: Caller) -> Can:
        grants = caller.grants
        allowed = {a: grants is None or grants.allows(a) for a in ACTIONS.values()}
        return cls(**allowed)


@dataclass(frozen=True)
class Who:
    """The signed-in user as the page header shows them."""

    user: str
    roles: list[str]
    can_sign_out: bool


class _AnswerError(Exception):
    """A response decided while working out who asks (a sign-in page, a refusal)."""

    def __init__(self, response: Response) -> None:
        self.response = response


class Web:
    """The review queue over one daemon's settings and catalog."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        clock: Callable[[], datetime] = utcnow,
        snapshot: Callable[[], Snapshot] | None = None,
    ) -> None:
        self.settings = settings
        self.web = settings.web
        self.app = App.using(settings, catalog)
        self.clock = clock
        self.snapshot = snapshot
        self.sessions = Sessions(self.web.session_seconds)
        #: Refusals in the audit trail, counted past the first of a user and action an
        #: interval, as the socket's are.
        self.refusals = RefusalLog(refusal_writer(self.app))
        config = Path(settings.source)
        self._config = config if config.is_file() else None
        self._owner = catalog_owner(settings.catalog_url, self._config)

    def close(self) -> None:
        """End what the service started for itself (the thumbnails' reader workers); the
        catalog is the daemon's."""
        self.refusals.close()  # the counts of refusals not yet written
        self.app.thumbnailer.close()

    # --- the application ------------------------------------------------------------------

    def asgi(self) -> Starlette:
        """Return the ASGI application."""
        routes = [
            Route("/", self.queue, methods=["GET"]),
            Route("/asset/{uid}", self.asset, methods=["GET"]),
            Route("/picture/{uid}", self.picture, methods=["GET"]),
            Route("/act", self.act, methods=["POST"]),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/metrics", self.metrics, methods=["GET"]),
            Route("/static/{name}", self.static, methods=["GET"]),
        ]
        middleware = [
            Middleware(_SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=secrets.token_hex(32),
                session_cookie=COOKIE,
                max_age=self.web.session_seconds,
                same_site="strict",
                https_only=self.web.secure_cookie,
            ),
        ]
        return Starlette(routes=routes, middleware=middleware, max_body_size=MAX_BODY)

    # --- who asks -------------------------------------------------------------------------

    def _client(self, request: Request) -> str:
        return request.client.host if request.client is not None else ""

    def _session(self, request: Request) -> Session | None:
        return self.sessions.get(_cookie(request).get("sid"))

    def _start_session(self, request: Request, user: str | None) -> Session:
        self.sessions.end(_cookie(request).get("sid"))
        session = self.sessions.new(user)
        _cookie(request).clear()
        _cookie(request)["sid"] = session.id
        return session

    def _signed_in(self, request: Request) -> tuple[Session, Caller]:
        """Return the session and caller of the request; raise _AnswerError with the sign-in page
        or a refusal when there is none."""
        try:
            name = proxied_user(self.web, self._client(request), request.headers)
        except SignInError as exc:
            log.warning("web: %s (from %s)", exc, self._client(request))
            raise _AnswerError(self._refusal(request, None, str(exc), 403)) from None
        session = self._session(request)
        if self.web.auth == "header":
            if name is None:
                raise _AnswerError(
                    self._refusal(
                        request, None, "sign in through the studio's single sign-on proxy", 401
                    )
                )
            if session is None or session.user != name:
                session = self._start_session(request, name)
        elif session is None or session.user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise _AnswerError(RedirectResponse("/login?" + urlencode({"next": target}), 303))
        assert session.user is not None
        try:
            caller = caller_of(session.user, self._config, self._owner)
        except SignInError as exc:
            raise _AnswerError(self._refusal(request, session, str(exc), 403)) from None
        return session, caller

    def _who(self, caller: Caller) -> Who:
        grants = caller.grants
        roles = [r.value for r in Role if grants is None or r in grants.roles]
        return Who(caller.actor.user, roles, self.web.auth == "pam")

    def _hosts(self, request: Request) -> set[str]:
        """The names this site answers to for the request: its Host, and the host a trusted
        proxy says the browser asked for (X-Forwarded-Host: a proxy may rewrite Host)."""
        hosts = {request.headers.get("host", "")}
        forwarded = request.headers.get("x-forwarded-host")
        if forwarded and is_among(self._client(request), self.web.trusted_proxies):
            hosts.add(forwarded.split(",")[0].strip())
        return hosts

    async def _form(self, request: Request, session: Session | None) -> dict[str, list[str]]:
        """Return the form of a POST whose token is its session's; raise _AnswerError (403)
        for a form from another site, without its token or with another session's."""
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc not in self._hosts(request):
            raise _AnswerError(self._refusal(request, session, "a form from another site", 403))
        try:
            data = await request.form(max_files=0, max_fields=MAX_BODY // 16)
        except HTTPException as exc:  # a body the form parser refuses (400), or too big
            why = f"the form was not read: {exc.detail}"
            raise _AnswerError(self._refusal(request, session, why, exc.status_code)) from exc
        form: dict[str, list[str]] = {}
        for key, value in data.multi_items():
            if isinstance(value, str):
                form.setdefault(key, []).append(value)
        if not token_matches(session, (form.get("csrf") or [""])[0]):
            raise _AnswerError(
                self._refusal(
                    request,
                    session,
                    "the form's token is not this session's (reload the page and try again)",
                    403,
                )
            )
        return form

    # --- answers --------------------------------------------------------------------------

    def _refusal(
        self, request: Request, session: Session | None, why: str, status: int
    ) -> Response:
        kind = "refused" if status in (401, 403) else "failed"
        heading = {401: "Not signed in", 403: "Refused", 404: "Not found"}.get(status, "Failed")
        return page(
            "message.html",
            status,
            heading=heading,
            kind=kind,
            lines=why.splitlines() or [why],
            csrf=session.csrf if session else "",
        )

    # --- pages ----------------------------------------------------------------------------

    async def queue(self, request: Request) -> Response:
        try:
            session, caller = self._signed_in(request)
        except _AnswerError as answer:
            return answer.response
        after = request.query_params.get("after") or None
        under = request.query_params.get("under") or None
        try:
            found = await run_in_threadpool(
                assets.review_queue,
                self.app,
                caller,
                after=after,
                limit=self.web.page_size,
                under=under,
            )
        except PermissionDeniedError as exc:
            return self._refusal(request, session, str(exc), 403)
        except ProvenanceError as exc:
            return self._refusal(request, session, str(exc), 400)
        keep = {"under": under} if under else {}
        return page(
            "queue.html",
            200,
            page=found,
            after=after,
            under=under,
            can=Can.of(caller),
            who=self._who(caller),
            csrf=session.csrf,
            first_url="/?" + urlencode(keep),
            next_url="/?" + urlencode({**keep, "after": found.next_after or ""}),
        )

    async def asset(self, request: Request) -> Response:
        try:
            session, caller = self._signed_in(request)
        except _AnswerError as answer:
            return answer.response
        uid = request.path_params["uid"]
        if len(uid) != 36 or uid.count("-") != 4:
            return self._refusal(request, session, f"{uid}: no such asset", 404)
        try:
            record: dict[str, Any] = await run_in_threadpool(assets.show, self.app, caller, uid)
            holds = await run_in_threadpool(assets.holds_over, self.app, caller, uid)
            # made now (in a reader worker, within the file's budgets) and kept: the page's
            # <img> asks /picture for it again
            picture = await run_in_threadpool(self._picture, caller, uid)
        except PermissionDeniedError as exc:
            return self._refusal(request, session, str(exc), 403)
        except NotInCatalogError:
            return self._refusal(request, session, f"{uid}: no such asset", 404)
        except ProvenanceError as exc:
            return self._refusal(request, session, str(exc), 400)
        clearance = record.get("clearance")
        # what a clear of it must be given: the gaps its record names when none is given
        needed = (
            needed_for(
                Missing(gap["kind"], tuple(gap["rules"]), gap["text"], gap.get("wanted", 1))
                for gap in clearance["missing"]
            )
            if clearance and clearance["clearance"] is None
            else None
        )
        return page(
            "asset.html",
            200,
            record=record,
            clearance=clearance,
            label=label_text(clearance["label"]) if clearance else "",
            can=Can.of(caller),
            who=self._who(caller),
            csrf=session.csrf,
            holds=holds,
            picture=picture is not None,
            needed=needed,
        )

    async def act(self, request: Request) -> Response:
        try:
            session, caller = self._signed_in(request)
            form = await self._form(request, session)
        except _AnswerError as answer:
            return answer.response
        action = (form.get("action") or [""])[0]
        try:
            done = await run_in_threadpool(perform, self.app, caller, form)
        except PermissionDeniedError as exc:
            await run_in_threadpool(
                record_refusal,
                self.refusals,
                caller,
                action,
                str(exc),
                self._client(request),
                self.clock(),
            )
            return self._refusal(request, session, str(exc), 403)
        except ProvenanceError as exc:
            return self._refusal(request, session, str(exc), 400)
        return page(
            "message.html",
            200,
            heading=f"Done: {done.action}",
            kind="done",
            lines=list(done.lines) or ["nothing to do"],
            warnings=list(done.warnings),
            who=self._who(caller),
            csrf=session.csrf,
        )

    def _picture(self, caller: Caller, uid: str) -> bytes | None:
        return assets.thumbnail(self.app, caller, assets.asset_id_of(self.app, uid))

    async def picture(self, request: Request) -> Response:
        try:
            session, caller = self._signed_in(request)
        except _AnswerError as answer:
            return answer.response
        uid = request.path_params["uid"]
        data = None
        if len(uid) == 36 and uid.count("-") == 4:
            try:
                data = await run_in_threadpool(self._picture, caller, uid)
            except PermissionDeniedError as exc:
                return self._refusal(request, session, str(exc), 403)
            except ProvenanceError:
                data = None
        if data is None:
            return Response("no picture", 404, media_type="text/plain")
        return Response(data, media_type=assets.THUMBNAIL_TYPE)

    # --- signing in and out ---------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        if self.web.auth != "pam":
            return self._refusal(request, None, "sign in through the single sign-on proxy", 404)
        session = self._session(request)
        if session is None:
            session = self._start_session(request, None)
        return page("login.html", 200, csrf=session.csrf, next=_local(request))

    async def login(self, request: Request) -> Response:
        if self.web.auth != "pam":
            return self._refusal(request, None, "sign in through the single sign-on proxy", 404)
        session = self._session(request)
        try:
            form = await self._form(request, session)
        except _AnswerError as answer:
            return answer.response
        name = (form.get("username") or [""])[0].strip()
        password = (form.get("password") or [""])[0]
        accepted = bool(name) and await run_in_threadpool(
            password_accepted, self.web.pam_service, name, password
        )
        if accepted:
            try:
                caller_of(name, self._config, self._owner)
            except SignInError:
                accepted = False
        if not accepted:
            assert session is not None
            return page(
                "login.html",
                401,
                csrf=session.csrf,
                next=_local(request, (form.get("next") or ["/"])[0]),
                problem="That user name and password were not accepted.",
            )
        log.info("web: %s signed in (from %s)", name, self._client(request))
        self._start_session(request, name)  # a new id: the visitor's is never kept
        return RedirectResponse(_local(request, (form.get("next") or ["/"])[0]), 303)

    async def logout(self, request: Request) -> Response:
        session = self._session(request)
        try:
            await self._form(request, session)
        except _AnswerError as answer:
            return answer.response
        self.sessions.end(_cookie(request).get("sid"))
        _cookie(request).clear()
        return RedirectResponse("/login" if self.web.auth == "pam" else "/", 303)

    # --- the rest -------------------------------------------------------------------------

    async def metrics(self, request: Request) -> Response:
        if self.snapshot is None:
            return self._refusal(request, None, "no metrics here", 404)
        client = self._client(request)
        proxied = self.web.auth == "header" and is_among(client, self.web.trusted_proxies)
        if proxied or not is_among(client, self.web.metrics_scrapers):
            try:
                session, caller = self._signed_in(request)
            except _AnswerError as answer:
                return answer.response
            try:
                caller.require("status")
            except PermissionDeniedError as exc:
                return self._refusal(request, session, str(exc), 403)
        from prometheus_client import CONTENT_TYPE_LATEST

        data = await run_in_threadpool(lambda: exposition(self.snapshot()))  # type: ignore[misc]
        return Response(data, media_type=CONTENT_TYPE_LATEST)

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        found = STATIC.get(name)
        if found is None:
            return Response("not found", 404, media_type="text/plain")
        return Response(found[1], media_type=found[0])


def _cookie(request: Request) -> dict[str, Any]:
    """The signed cookie's content (what SessionMiddleware keeps in the request's scope)."""
    cookie: dict[str, Any] = request.scope["session"]
    return cookie


def _local(request: Request, target: str | None = None) -> str:
    """Return ``target`` (or the request's ``next``) when it is a path on this site, else
    "/": a sign-in never sends the browser elsewhere."""
    value = target if target is not None else request.query_params.get("next", "/")
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


__all__ = ["Web"]
