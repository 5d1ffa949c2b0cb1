"""``JWTAuth``: the Quart extension (app-factory friendly, async helpers)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from quart import current_app, has_app_context, jsonify, request

from flask_jwtmiddleware._common import (
    CONFIG_KEY,
    ERROR_KEY,
    EXTENSION_KEY,
    RefusalRouter,
    settings_from_config,
)
from flask_jwtmiddleware._sessions import render_plan
from flask_jwtmiddleware._state import BaseAppState
from flask_jwtmiddleware._tokens import Hooks, TokenHelpers
from jwtmiddleware import Identity, JWTMiddleware, SessionManager
from jwtmiddleware.errors import StoreUnavailable, TokenMissing
from jwtmiddleware.integration import EXEMPT, ASGIRequestView, ResponsePlan

from ._asgi import RefusalRoutingMiddleware, mark_entered
from ._views import current_scope, get_identity, refuse

if TYPE_CHECKING:
    from quart import Quart, Response

    from jwtmiddleware import Settings
    from jwtmiddleware.stores import SessionInfo, Store

__all__ = ["AppState", "JWTAuth"]

logger = logging.getLogger("jwtmiddleware")


class AppState(BaseAppState):
    """What :class:`JWTAuth` keeps per application."""

    middleware: JWTMiddleware

    def render(self, plan: ResponsePlan) -> Response:
        """The Quart response for a session endpoint's plan (refusals are raised)."""
        return render_plan(plan, realm=self.settings.realm, jsonify=jsonify,
                           response_class=current_app.response_class)  # fmt: skip

    async def raise_deferred(self) -> None:
        """``before_request``/``before_websocket`` hook: raise the recorded refusal, if any."""
        error = current_scope().get(ERROR_KEY)
        if error is not None:
            refuse(self, error)

    def warn_if_exempt(self, path: str) -> None:
        """Log once per path when ``jwt_required`` refuses on an exempt path (never has a token)."""
        if path not in self._warned and self.middleware.authenticator.paths.rule(path) == EXEMPT:
            self._warned.add(path)
            logger.warning("jwt_required on %s, which EXEMPT_PATHS excludes from authentication: "
                           "it can never pass; use OPTIONAL_PATHS", path)  # fmt: skip


class JWTAuth(TokenHelpers):
    """JWT authentication for a Quart app: ``JWTAuth(app)`` or ``auth.init_app(app)``.

    Settings come from ``app.config["JWTMIDDLEWARE"]`` (an UPPER_CASE mapping) unless given
    here. ``init_app`` wraps ``app.asgi_app`` with :class:`~jwtmiddleware.JWTMiddleware`,
    whose refusals of requests and websocket handshakes are raised inside Quart as
    ``JWTHTTPException`` subclasses, so ``@app.errorhandler(401)`` sees them.

    :param app: the application; or call :meth:`init_app` later (app factories).
    :param settings: settings for every app this extension is set up on (instead of config).
    :param store: a store object overriding ``STORE``.
    :param clock: returns the current UNIX time (tests pass a frozen clock).
    """

    def __init__(
        self,
        app: Quart | None = None,
        *,
        settings: Settings | None = None,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._store = store
        self._clock = clock
        self._hooks = Hooks()
        self._states: WeakKeyDictionary[Quart, AppState] = WeakKeyDictionary()
        self._app = app
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Quart) -> None:
        """Validate the settings and install the middleware on ``app``.

        :raises ConfigurationError: naming ``app.config["JWTMIDDLEWARE"]["KEY"]``.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("jwtmiddleware is already set up on this app")
        where = f'app.config["{CONFIG_KEY}"]'
        settings = self._settings
        if settings is None:
            settings = settings_from_config(app.config.get(CONFIG_KEY), where)
        original = app.asgi_app
        middleware = JWTMiddleware(
            mark_entered(original),  # type: ignore[arg-type]
            settings=settings.replace(error_handler=RefusalRouter(settings.error_handler)),
            store=self._store, clock=self._clock,
        )  # fmt: skip
        state = AppState(settings, middleware, self._clock, self._hooks)
        app.asgi_app = RefusalRoutingMiddleware(middleware, original)  # type: ignore[assignment,arg-type]
        # First of all hooks: a refused request must not reach the app's own hooks' effects.
        app.before_request_funcs.setdefault(None, []).insert(0, state.raise_deferred)
        app.before_websocket_funcs.setdefault(None, []).insert(0, state.raise_deferred)
        app.extensions[EXTENSION_KEY] = self
        self._states[app] = state

    def state_for(self, app: Quart | None = None) -> AppState:
        """The per-app state (``app`` defaults to the current app, else the one given here)."""
        if app is None:
            if has_app_context():
                app = current_app._get_current_object()  # type: ignore[attr-defined]
            elif self._app is not None:
                app = self._app
            else:
                raise RuntimeError("no application context: use `async with app.app_context():`")
        assert app is not None
        try:
            return self._states[app]
        except KeyError:
            raise RuntimeError("JWTAuth.init_app(app) was not called for this app") from None

    @property
    def settings(self) -> Settings:
        """The current app's settings."""
        return self.state_for().settings

    @property
    def manager(self) -> SessionManager:
        """The current app's :class:`~jwtmiddleware.manager.SessionManager` (needs ``STORE``)."""
        return self.state_for().require_manager()

    @property
    def middleware(self) -> JWTMiddleware:
        """The core middleware installed on the current app."""
        return self.state_for().middleware

    # -- responses ---------------------------------------------------------------------------------

    async def login_response(
        self,
        subject: str,
        claims: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        *,
        tokens_in_body: bool = True,
    ) -> Response:
        """Start a device session for ``subject`` (after your password check) and answer with
        its tokens: a JSON body (``access_token``, ``refresh_token``, ``token_type``,
        ``expires_in``, ``csrf_token``, plus ``body``'s members), the access, refresh and CSRF
        cookies, and ``Cache-Control: no-store``.

        :param claims: application claims for the tokens (``scope``, roles, tenant, ...).
        :param tokens_in_body: ``False`` keeps the tokens in their ``HttpOnly`` cookies only
            (browser-only apps); the default serves API clients too.
        """
        state = self.state_for()
        plan = await state.require_endpoints().alogin(
            ASGIRequestView(request.scope), subject, claims=self.claims_for(subject, claims),
            extra=body,
            tokens_in_body=tokens_in_body,
        )  # fmt: skip
        return state.render(plan)

    async def refresh_response(
        self, body: Mapping[str, Any] | None = None, *, tokens_in_body: bool | None = None
    ) -> Response:
        """Rotate the refresh token of this request into a new pair of the same session.

        The token comes from the refresh cookie (then CSRF proof is required, as for cookie
        access tokens, whatever the method) or the body's ``refresh_token`` (JSON or form).
        A refused refresh from the cookie also deletes the cookies. Serve it on an exempt path
        (``REFRESH_COOKIE_PATH``): the access token may have expired by then.

        :param tokens_in_body: ``None`` (the default): a refresh made with the cookie answers
            with the new cookies only (the body keeps ``token_type``, ``expires_in`` and
            ``csrf_token``); one made with the token in the body gets the tokens in the body.
        """
        state = self.state_for()
        endpoints = state.require_endpoints()
        view = ASGIRequestView(request.scope)
        # Quart caps the body at MAX_CONTENT_LENGTH; the core refuses one over its own limit.
        data = b""
        if endpoints.wants_body(view):
            data = await request.get_data(True, False, False)  # (cache, as_text, parse_form)
        plan = await endpoints.arefresh(view, data, extra=body, tokens_in_body=tokens_in_body)
        return state.render(plan)

    async def logout_response(self) -> Response:
        """End the caller's session and revoke its token: 204, cookies deleted."""
        state = self.state_for()
        return state.render(await state.require_endpoints().alogout(get_identity()))

    async def logout_everywhere_response(self) -> Response:
        """Revoke every token and session of the caller's subject: 200
        ``{"sessions_ended": n}``, cookies deleted."""
        state = self.state_for()
        return state.render(await state.require_endpoints().alogout_everywhere(get_identity()))

    async def sessions(self) -> list[SessionInfo]:
        """The caller's live device sessions, oldest first."""
        state = self.state_for()
        manager = state.require_manager()
        identity = _authenticated(state)
        try:
            return await manager.asessions(identity.subject or "")
        except StoreUnavailable as exc:
            raise state.exception_for(exc) from exc

    async def sessions_response(self) -> Response:
        """200 ``{"sessions": [...]}``: each live session's id, times, user agent and IP, and
        whether it is the caller's own (``current``)."""
        state = self.state_for()
        return state.render(await state.require_endpoints().asessions(get_identity()))


def _authenticated(state: AppState) -> Identity:
    identity = get_identity()
    if not isinstance(identity, Identity) or identity.subject is None:
        refuse(state, TokenMissing("this endpoint needs a token with a subject"))
    return identity
