"""Per-application state shared by the Flask and Quart extensions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jwtmiddleware import Issuer, SessionManager
from jwtmiddleware.errors import AuthenticationError, ConfigurationError, StoreUnavailable
from jwtmiddleware.integration import SessionEndpoints

from ._common import CONFIG_KEY
from ._tokens import Hooks
from .errors import JWTHTTPException, exception_for

if TYPE_CHECKING:
    from jwtmiddleware import Settings

__all__ = ["BaseAppState"]


class BaseAppState:
    """What ``JWTAuth`` keeps per application: settings, middleware, clock, sessions."""

    def __init__(
        self,
        settings: Settings,
        middleware: Any,
        clock: Callable[[], float],
        hooks: Hooks | None = None,
    ) -> None:
        #: The settings as configured (``app.config["JWTMIDDLEWARE"]`` or ``settings=``).
        self.settings = settings
        #: The core middleware wrapping the application (WSGI for Flask, ASGI for Quart).
        self.middleware = middleware
        #: The clock shared by the middleware, the session manager and ``fresh`` checks.
        self.clock = clock
        store = middleware.store
        #: Sessions and revocation, over the middleware's own store; ``None`` without ``STORE``.
        self.manager = SessionManager(settings, store, clock=clock) if store is not None else None
        #: The session endpoints' decisions (login, refresh, logout, sessions) over ``manager``.
        self.endpoints = SessionEndpoints(self.manager) if self.manager is not None else None
        #: The extension's ``user_loader`` and ``additional_claims_loader``.
        self.hooks = hooks if hooks is not None else Hooks()
        self._issuer: Issuer | None = None
        self._warned: set[str] = set()

    def issuer(self) -> Issuer:
        """Signs the tokens ``create_access_token`` mints (built on first use).

        :raises ConfigurationError: when no key can sign (a verifier of another issuer's keys).
        """
        if self._issuer is None:
            self._issuer = Issuer(self.settings)
        return self._issuer

    def exception_for(
        self, error: AuthenticationError | StoreUnavailable, set_cookies: tuple[str, ...] = ()
    ) -> JWTHTTPException:
        """The ``HTTPException`` the framework renders for ``error``."""
        return exception_for(error, realm=self.settings.realm, set_cookies=set_cookies)

    def require_manager(self) -> SessionManager:
        """The session manager, or a clear error when no ``STORE`` is configured."""
        if self.manager is None:
            error = ConfigurationError("STORE", "sessions and revocation need a store")
            error.args = (
                f'app.config["{CONFIG_KEY}"]["STORE"]: sessions and revocation need a store, '
                'for example "sqlite:///sessions.db"',
            )
            raise error
        return self.manager

    def require_endpoints(self) -> SessionEndpoints:
        """The session endpoints, or a clear error when no ``STORE`` is configured."""
        self.require_manager()
        assert self.endpoints is not None
        return self.endpoints
