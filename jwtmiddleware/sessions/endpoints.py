"""The session endpoints every adapter serves, decided once: login, refresh, logout, sessions.

:class:`SessionEndpoints` answers each endpoint with a :class:`~jwtmiddleware.plans.ResponsePlan`
(status, headers, ``Set-Cookie`` values, JSON body, or the refusal to render), so the Flask,
Quart, Starlette and Django adapters only read the request and render the plan: same requests,
same answers. The pure rules it applies are in :mod:`jwtmiddleware.plans`. Login and refresh,
which take credentials, are here; the endpoints acting for an authenticated caller (logout,
logout everywhere, sessions) are in ``_endpoints_caller``.

**Where the refresh token comes from.** The refresh cookie (``HttpOnly``, sent only to
``REFRESH_COOKIE_PATH``) or a ``refresh_token`` member of a JSON object body or field of a form
body; both at once, twice, empty or not a string is a 400. A cookie refresh needs the CSRF proof
of any cookie-authenticated request, whatever its method (a refresh changes state): no
cross-site ``Origin``/``Sec-Fetch-Site``, and ``X-CSRF-Token`` (or the ``csrf_token`` form field)
equal to the verified token's ``csrf`` claim. A refused cookie refresh with a dead token also
deletes the cookies.

**Tokens in the body.** Login answers with the tokens in the JSON body (API clients need them)
and in cookies, unless told ``tokens_in_body=False``. A refresh made with the cookie answers
with cookies only: the body keeps ``token_type``, ``expires_in`` and ``csrf_token`` but not the
tokens, so a script on the page never sees an ``HttpOnly`` token; a refresh made with the token
in the body (non-browser clients) answers with the tokens in the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..core.errors import AuthenticationError, InvalidRequest, StoreUnavailable, TokenInvalid
from ..core.reasons import reason_of
from ..http.csrf import CSRFGuard, form_value
from ..http.drive import run_async, run_sync
from ..http.sources import parse_cookie
from ..telemetry import RefusalLog, mark_reported
from ._endpoints_caller import Caller as Caller  # re-exported
from ._endpoints_caller import CallerEndpoints
from ._endpoints_caller import Flow as Flow  # re-exported
from .plans import (
    FORM,
    MAX_REFRESH_BODY,
    ResponsePlan,
    is_json,
    media_type,
    pick_refresh_token,
    refresh_token_in_body,
    request_info,
    token_body,
)

if TYPE_CHECKING:
    from ..http.sources import RequestView
    from .manager import SessionManager

__all__ = ["SessionEndpoints"]


class SessionEndpoints(CallerEndpoints):
    """Login, refresh, logout, logout everywhere and the sessions list, as response plans.

    Each endpoint has a sync method and an async twin (``a`` prefix), both driving one
    decision over the manager's store. Refusals never raise: they come back as plans with
    :attr:`ResponsePlan.error` set.

    :param manager: the session manager (its settings, store and clock).
    """

    def __init__(self, manager: SessionManager) -> None:
        #: The session manager the endpoints drive.
        self.manager = manager
        self._flows = manager.flows
        self._cookies = manager.flows.cookies
        self._csrf = CSRFGuard(manager.settings)
        self._log = RefusalLog(manager.settings.log_refusals)

    def _refused(
        self, error: AuthenticationError | StoreUnavailable, view: RequestView,
        set_cookies: tuple[str, ...] = (),
    ) -> ResponsePlan:  # fmt: skip
        """The plan refusing a login or refresh, reported once: its log line and count (an
        adapter rendering it through a :class:`~jwtmiddleware.integration.Responder` does
        not report it again)."""
        reason = reason_of(error)
        self._log(error, reason, view)
        telemetry = self.manager.telemetry
        if telemetry is not None:
            telemetry.refused(reason)
        mark_reported(error)
        return ResponsePlan.refusal(error, set_cookies)

    # -- login ------------------------------------------------------------------------------------

    def _login(
        self, view: RequestView, subject: str, claims: Mapping[str, Any] | None,
        extra: Mapping[str, Any] | None, tokens_in_body: bool,
    ) -> Flow:  # fmt: skip
        now = self.manager.clock()
        try:
            pair = yield from self._flows.login(subject, now=now, claims=claims,
                                                info=request_info(view))  # fmt: skip
        except (AuthenticationError, StoreUnavailable) as exc:
            return self._refused(exc, view)
        body = token_body(pair, now, tokens_in_body=tokens_in_body, extra=extra)
        return ResponsePlan(200, body, set_cookies=pair.set_cookies)

    def login(
        self,
        view: RequestView,
        subject: str,
        *,
        claims: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        tokens_in_body: bool = True,
    ) -> ResponsePlan:
        """Start a device session for ``subject`` (the app checked the password): 200 with the
        token body and the access, refresh and CSRF cookies.

        :param view: the login request (its ``User-Agent`` and client address are recorded).
        :param claims: application claims for the tokens (``scope``, roles, tenant, ...).
        :param extra: members added to the JSON body.
        :param tokens_in_body: ``False`` keeps the tokens in their ``HttpOnly`` cookies only
            (browser-only apps); API clients need them in the body.
        """
        flow = self._login(view, subject, claims, extra, tokens_in_body)
        return run_sync(flow, self.manager.store, telemetry=self.manager.telemetry)

    async def alogin(
        self,
        view: RequestView,
        subject: str,
        *,
        claims: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        tokens_in_body: bool = True,
    ) -> ResponsePlan:
        """Async :meth:`login`."""
        flow = self._login(view, subject, claims, extra, tokens_in_body)
        return await run_async(flow, self.manager.store, telemetry=self.manager.telemetry)

    def login_failed(self, view: RequestView, subject: str | None = None) -> None:
        """Report a login the app refused (wrong credentials): the ``authn_login_fail`` event,
        with the request's user agent and client address.

        :param subject: the user name that was tried, if it should be recorded.
        """
        self.manager.login_failed(subject, info=request_info(view))

    async def alogin_failed(self, view: RequestView, subject: str | None = None) -> None:
        """Async :meth:`login_failed` (an async ``EVENT_HOOK`` is awaited)."""
        await self.manager.alogin_failed(subject, info=request_info(view))

    # -- refresh ----------------------------------------------------------------------------------

    def wants_body(self, view: RequestView) -> bool:
        """Whether to read the body of a refresh request: JSON or form, and no larger than
        :data:`MAX_REFRESH_BODY` (adapters read at most ``MAX_REFRESH_BODY + 1`` bytes)."""
        media = media_type(view.get("content-type"))
        if media != FORM and not is_json(media):
            return False
        return not self._declared_too_large(view)

    @staticmethod
    def _declared_too_large(view: RequestView) -> bool:
        length = (view.get("content-length") or "").strip()
        return length.isdigit() and int(length) > MAX_REFRESH_BODY

    def _refresh(
        self, view: RequestView, body: bytes, extra: Mapping[str, Any] | None,
        tokens_in_body: bool | None,
    ) -> Flow:  # fmt: skip
        now = self.manager.clock()
        from_cookie = False
        try:
            content_type = view.get("content-type")
            if self._declared_too_large(view):
                raise InvalidRequest("refresh request body too large")
            in_body = refresh_token_in_body(content_type, body)
            jar = parse_cookie("; ".join(view.get_all("cookie")))
            token, from_cookie = pick_refresh_token(jar.get(self._cookies.refresh_name, ()),
                                                    in_body)  # fmt: skip
            presented = None
            if from_cookie and self._csrf.enabled:
                self._csrf.check_origin(view)
                presented = view.get(self._csrf.header)
                if presented is None and media_type(content_type) == FORM:
                    presented = form_value(body, self._csrf.field)
            pair = yield from self._flows.refresh(token, now=now, from_cookie=from_cookie,
                                                  csrf=presented)  # fmt: skip
        except TokenInvalid as exc:
            # A dead refresh cookie is deleted, so the browser stops sending it.
            return self._refused(exc, view, self._cookies.clear() if from_cookie else ())
        except (AuthenticationError, StoreUnavailable) as exc:
            return self._refused(exc, view)
        if tokens_in_body is None:
            tokens_in_body = not from_cookie
        body_out = token_body(pair, now, tokens_in_body=tokens_in_body, extra=extra)
        return ResponsePlan(200, body_out, set_cookies=pair.set_cookies)

    def refresh(
        self,
        view: RequestView,
        body: bytes = b"",
        *,
        extra: Mapping[str, Any] | None = None,
        tokens_in_body: bool | None = None,
    ) -> ResponsePlan:
        """Rotate the request's refresh token into a new pair of the same session: 200 with
        the new cookies, or the refusal (a dead cookie is deleted).

        Serve it on ``REFRESH_COOKIE_PATH``, exempt from the middleware (the access token may
        have expired by then).

        :param view: the refresh request (its cookies, headers and method).
        :param body: the request body when :meth:`wants_body` says so (at most
            ``MAX_REFRESH_BODY + 1`` bytes), else ``b""``.
        :param extra: members added to the JSON body.
        :param tokens_in_body: ``None`` (the default): the tokens go in the body only when the
            refresh token came in the body; a cookie refresh answers with cookies only.
        """
        return run_sync(
            self._refresh(view, body, extra, tokens_in_body),
            self.manager.store,
            telemetry=self.manager.telemetry,
        )

    async def arefresh(
        self,
        view: RequestView,
        body: bytes = b"",
        *,
        extra: Mapping[str, Any] | None = None,
        tokens_in_body: bool | None = None,
    ) -> ResponsePlan:
        """Async :meth:`refresh`."""
        flow = self._refresh(view, body, extra, tokens_in_body)
        return await run_async(flow, self.manager.store, telemetry=self.manager.telemetry)
