"""``JWTAuth``: one object holding a Starlette or FastAPI app's JWT configuration.

It validates the settings when built (so mistakes stop the app at start-up), opens the store
once and shares it between the middleware and the :class:`~jwtmiddleware.manager.SessionManager`,
gives Starlette its middleware entry (:meth:`JWTAuth.middleware`) or installs itself on an app
(:meth:`JWTAuth.install`), and answers login, refresh and logout with ready responses.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware

from jwtmiddleware import (
    AuthenticationError,
    ConfigurationError,
    JWTMiddleware,
    SessionManager,
    StoreUnavailable,
)
from jwtmiddleware.integration import (
    EXEMPT,
    REQUIRED,
    ASGIRequestView,
    PathRules,
    Responder,
    SessionEndpoints,
    TokenSources,
    resolve_store,
)

from . import _sessions
from ._middleware import JWTAuthMiddleware
from ._refusals import JWTHTTPException, starlette_response
from ._requires import requires
from ._settings import SettingsSource, load_settings

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import HTTPConnection, Request
    from starlette.responses import Response

    from jwtmiddleware import Settings
    from jwtmiddleware.integration import ErrorResponse
    from jwtmiddleware.stores import SessionInfo, Store

__all__ = ["JWTAuth"]

logger = logging.getLogger("starlette_jwtmiddleware")
_MAX_WARNED = 1000


class JWTAuth:
    """JWT authentication for a Starlette or FastAPI application.

    ``Starlette(middleware=[auth.middleware()])`` or ``auth.install(app)``; then
    ``@auth.requires("read")`` on Starlette endpoints or ``Depends(auth.requires("read"))`` in
    FastAPI, and the ``*_response`` helpers in login, refresh and logout endpoints.

    :param settings: ``None`` to read ``JWTMIDDLEWARE_*`` environment variables, a
        :class:`~jwtmiddleware.Settings`, or an UPPER_CASE mapping (``{"SECRET": ...}``).
    :param store: a store object overriding the ``STORE`` URL.
    :param clock: returns the current UNIX time (tests pass a
        :class:`~jwtmiddleware.testing.FrozenClock`).
    :raises ConfigurationError: for any invalid setting, naming it and where to fix it.
    """

    #: Route requirements; the same as :func:`starlette_jwtmiddleware.requires`.
    requires = staticmethod(requires)

    def __init__(
        self,
        settings: SettingsSource = None,
        *,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        #: The validated settings.
        self.settings: Settings = load_settings(settings)
        #: The clock shared by the middleware and the session manager.
        self.clock = clock
        #: The revocation and session store (``None`` without ``STORE``).
        self.store: Store | None = resolve_store(self.settings, store)
        self._manager = (
            SessionManager(self.settings, self.store, clock=clock) if self.store else None
        )
        self._endpoints = SessionEndpoints(self._manager) if self._manager else None
        self._responder = Responder(self.settings, TokenSources(self.settings))
        self._rules = PathRules(self.settings)
        self._warned: set[str] = set()

    def __repr__(self) -> str:
        return f"<JWTAuth store={type(self.store).__name__ if self.store else None}>"

    @property
    def manager(self) -> SessionManager:
        """The session manager (sessions, rotation, revocation) over :attr:`store`.

        :raises ConfigurationError: when no ``STORE`` is configured.
        """
        if self._manager is None:
            raise _no_store()
        return self._manager

    @property
    def endpoints(self) -> SessionEndpoints:
        """The decisions behind the ``*_response`` helpers, as plain data
        (:class:`~jwtmiddleware.integration.ResponsePlan`).

        :raises ConfigurationError: when no ``STORE`` is configured.
        """
        if self._endpoints is None:
            raise _no_store()
        return self._endpoints

    # -- wiring ----------------------------------------------------------------------------------

    def middleware(self) -> Middleware:
        """The entry for ``Starlette(middleware=[...])`` / ``FastAPI(middleware=[...])``."""
        return Middleware(JWTAuthMiddleware, auth=self)

    def install(self, app: Starlette, *, openapi: bool = True, exempt_docs: bool = True) -> None:
        """Add the middleware to ``app`` and the handler rendering :class:`JWTHTTPException`
        as RFC 6750 JSON; on FastAPI, also document the bearer scheme in OpenAPI and let the
        documentation pages load without a token.

        Middleware added after this call runs before it (add ``CORSMiddleware`` last, so that
        refusals carry CORS headers).

        :param openapi: mark the operations the path rules protect in ``/openapi.json``.
        :param exempt_docs: on FastAPI, exempt the app's ``docs_url``, ``redoc_url``,
            ``openapi_url`` and Swagger UI's OAuth2 redirect page from authentication where the
            path rules would require a token (an optional, exempt or one-time rule for them is
            kept), so ``/docs`` works; ``False`` keeps them behind the path rules.
        :raises ConfigurationError: when the app already has a JWT or an authentication
            middleware (either would overwrite ``request.user``).
        """
        for entry in getattr(app, "user_middleware", ()):
            cls: Any = entry.cls
            if isinstance(cls, type) and issubclass(cls, JWTMiddleware):
                raise ConfigurationError("MIDDLEWARE", "the JWT middleware is already installed")
            if isinstance(cls, type) and issubclass(cls, AuthenticationMiddleware):
                raise ConfigurationError(
                    "MIDDLEWARE",
                    "remove Starlette's AuthenticationMiddleware: the JWT middleware sets "
                    "request.user and request.auth itself",
                )
        docs: tuple[str, ...] = ()
        if "fastapi" in sys.modules:
            from fastapi import FastAPI

            if isinstance(app, FastAPI):
                from ._fastapi import docs_paths, document_openapi

                if exempt_docs:
                    docs = tuple(p for p in docs_paths(app) if self._rules.rule(p) == REQUIRED)
                if openapi:
                    document_openapi(app, self.settings)
        app.add_middleware(JWTAuthMiddleware, auth=self, exempt_paths=docs)
        app.add_exception_handler(JWTHTTPException, self._handle_exception)

    async def _handle_exception(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, JWTHTTPException)
        return starlette_response(exc.response)

    def error_response(
        self, error: AuthenticationError | StoreUnavailable, connection: HTTPConnection
    ) -> ErrorResponse:
        """The refusal for ``error``: RFC 6750 JSON, or what ``ERROR_HANDLER`` returns."""
        return self._responder.response_for(error, ASGIRequestView(connection.scope))

    def warn_if_exempt(self, path: str) -> None:
        """Log once per path when a route requirement sits on an exempt path: the middleware
        never reads tokens there, so every caller looks anonymous."""
        if path in self._warned or len(self._warned) >= _MAX_WARNED:
            return
        if self._rules.rule(path) == EXEMPT:
            self._warned.add(path)
            logger.warning(
                "requires() on %s: the path is in EXEMPT_PATHS, where tokens are never read, "
                "so every caller is anonymous; list it in OPTIONAL_PATHS instead",
                path,
            )

    async def aclose(self) -> None:
        """Close the store's connections (call it from the app's lifespan on shutdown)."""
        if self.store is not None:
            await self.store.aclose()

    # -- sessions --------------------------------------------------------------------------------

    async def login_response(
        self,
        request: Request,
        subject: str,
        claims: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        *,
        tokens_in_body: bool = True,
    ) -> Response:
        """After the app checked the user's password: start a device session and answer
        200 with the token pair as JSON plus the access, refresh and CSRF cookies.

        :param claims: application claims for the tokens (``scope``, roles, tenant, ...).
        :param body: extra members for the JSON body.
        :param tokens_in_body: ``False`` keeps the tokens in their ``HttpOnly`` cookies only
            (browser-only apps); the default serves API clients too.
        """
        return await _sessions.login_response(self, request, subject, claims, body,
                                              tokens_in_body=tokens_in_body)  # fmt: skip

    async def refresh_response(
        self,
        request: Request,
        body: Mapping[str, Any] | None = None,
        *,
        tokens_in_body: bool | None = None,
    ) -> Response:
        """Rotate the refresh token (refresh cookie with CSRF proof, or ``refresh_token`` in
        a JSON or form body) into a new pair: 200 with the new cookies, or the refusal (a dead
        refresh cookie is also deleted).

        :param body: extra members for the JSON body.
        :param tokens_in_body: ``None`` (the default): a refresh made with the cookie answers
            with the new cookies only (the body keeps ``token_type``, ``expires_in`` and
            ``csrf_token``); one made with the token in the body gets the tokens in the body.
        """
        return await _sessions.refresh_response(self, request, body,
                                                tokens_in_body=tokens_in_body)  # fmt: skip

    async def logout_response(self, request: Request) -> Response:
        """End the caller's session: 204, cookies cleared; the token stops working."""
        return await _sessions.logout_response(self, request)

    async def logout_everywhere_response(self, request: Request) -> Response:
        """End every session of the caller's subject: 200 ``{"sessions_ended": n}``."""
        return await _sessions.logout_everywhere_response(self, request)

    async def sessions(self, request: Request) -> list[SessionInfo]:
        """The caller's live device sessions, oldest first."""
        return await _sessions.sessions(self, request)

    async def sessions_response(self, request: Request) -> Response:
        """200 ``{"sessions": [...]}`` with ``current`` marking the caller's own session."""
        return await _sessions.sessions_response(self, request)


def _no_store() -> ConfigurationError:
    return ConfigurationError(
        "STORE",
        "login, refresh, logout and sessions need a session store: set STORE "
        "(JWTMIDDLEWARE_STORE=sqlite:///sessions.db, or Settings(store=...))",
    )
