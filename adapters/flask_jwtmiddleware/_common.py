"""The framework-neutral half of the Flask and Quart adapters (this module imports neither).

- :func:`settings_from_config` builds :class:`Settings` from ``app.config["JWTMIDDLEWARE"]``
  and re-words errors so they name the config key.
- :class:`ViewRule` is one ``jwt_required(...)`` decision: anonymous, scopes, freshness.
- :class:`RefusalRouter` is the ``ERROR_HANDLER`` the adapters give the core middleware: it
  records the refusal in the request's :class:`Pending` slot and lets the middleware's own
  answer be discarded, so the refusal can be raised again inside the framework.
- :mod:`._sessions` renders the core's answers of the login, refresh, logout and sessions
  endpoints (:class:`~jwtmiddleware.integration.SessionEndpoints`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from jwtmiddleware import Settings
from jwtmiddleware.errors import (
    AuthenticationError,
    ConfigurationError,
    InsufficientScope,
    StoreUnavailable,
    TokenMissing,
)
from jwtmiddleware.integration import ErrorResponse

from .errors import FreshTokenRequired

if TYPE_CHECKING:
    from jwtmiddleware import AnonymousIdentity, Identity
    from jwtmiddleware.integration import RequestView

__all__ = [
    "CONFIG_KEY",
    "DEFAULT_FRESH_MAX_AGE",
    "ERROR_KEY",
    "EXTENSION_KEY",
    "PENDING",
    "PENDING_KEY",
    "Pending",
    "RefusalRouter",
    "STATE_KEY",
    "ViewRule",
    "settings_from_config",
]

logger = logging.getLogger("jwtmiddleware")

#: Key of ``app.config`` holding the settings mapping.
CONFIG_KEY = "JWTMIDDLEWARE"
#: Key of ``app.extensions`` holding the extension.
EXTENSION_KEY = "jwtmiddleware"
#: ``environ``/``scope`` key carrying a refusal deferred to the framework.
ERROR_KEY = "jwtmiddleware.error"
#: ``environ`` key carrying the adapter's per-app state (Flask), so views find it directly.
STATE_KEY = "jwtmiddleware.state"
#: ``scope`` key carrying the request's :class:`Pending` slot (Quart).
PENDING_KEY = "jwtmiddleware.pending"
#: Seconds a ``fresh=True`` view accepts since the user last entered credentials (15 minutes).
DEFAULT_FRESH_MAX_AGE = 900


# -- settings ------------------------------------------------------------------------------------


def _located(exc: ConfigurationError, where: str) -> ConfigurationError:
    """``exc`` again, its message naming ``where[KEY]``; ``setting``/``message`` unchanged."""
    error = ConfigurationError(exc.setting, exc.message)
    error.args = (f'{where}["{exc.setting}"]: {exc.message}',)
    return error


def settings_from_config(value: Any, where: str) -> Settings:
    """Build settings from a config value: a :class:`Settings` or an UPPER_CASE mapping.

    :param where: how users spell the config entry, e.g. ``app.config["JWTMIDDLEWARE"]``.
    :raises ConfigurationError: naming ``where["KEY"]`` for the offending key.
    """
    if isinstance(value, Settings):
        return value
    if value is None:
        error = ConfigurationError(CONFIG_KEY, "missing")
        error.args = (
            f'{where} is not set: give it a mapping such as {{"SECRET": ..., "STORE": ...}}, '
            "or pass settings= to JWTAuth",
        )
        raise error
    if not isinstance(value, Mapping):
        error = ConfigurationError(CONFIG_KEY, "not a mapping")
        error.args = (f"{where} must be a mapping of UPPER_CASE settings or a Settings object",)
        raise error
    try:
        return Settings.from_mapping(value)
    except ConfigurationError as exc:
        raise _located(exc, where) from exc


# -- per-view rules ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ViewRule:
    """What one ``jwt_required(...)`` demands on top of the middleware's path rules."""

    #: Scopes the token must grant (403 ``insufficient_scope`` otherwise).
    scopes: tuple[str, ...] = ()
    #: Whether anonymous callers may pass (a present token must still satisfy the rest).
    optional: bool = False
    #: Largest accepted ``now - auth_time`` in seconds; ``None``: freshness not required.
    max_age: int | None = None

    @classmethod
    def build(cls, scopes: str | Iterable[str], optional: bool, fresh: bool | int) -> ViewRule:
        """Validate the decorator's arguments (a programming error fails at import time)."""
        if callable(scopes):
            raise TypeError("use @jwt_required() with parentheses")
        names = tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
        if not all(isinstance(s, str) and s and not any(c.isspace() for c in s) for s in names):
            raise ValueError(f"scopes must be non-empty strings without spaces: {names!r}")
        if fresh is True:
            max_age: int | None = DEFAULT_FRESH_MAX_AGE
        elif fresh is False:
            max_age = None
        elif isinstance(fresh, int) and fresh > 0:
            max_age = fresh
        else:
            raise ValueError(f"fresh must be True, False or a number of seconds: {fresh!r}")
        return cls(names, bool(optional), max_age)

    def check(
        self, identity: Identity | AnonymousIdentity, now: float
    ) -> AuthenticationError | None:
        """The error refusing ``identity`` for this view, or ``None`` when it may proceed."""
        if not identity.is_authenticated:
            return None if self.optional else TokenMissing("the view requires a token")
        if self.scopes and not identity.has_scopes(*self.scopes):
            return InsufficientScope("the view needs more scopes", scopes=self.scopes)
        if self.max_age is not None:
            auth_time = identity.claims.get("auth_time")
            if (
                isinstance(auth_time, bool)
                or not isinstance(auth_time, int | float)
                or now - auth_time > self.max_age
            ):
                return FreshTokenRequired("auth_time too old or missing", max_age=self.max_age)
        return None


# -- routing the middleware's refusals into the framework -----------------------------------------


class Pending:
    """Per-request slot: the refusal the middleware recorded, and what happened since."""

    __slots__ = ("entered", "error", "refused")

    def __init__(self) -> None:
        #: The refusal recorded by :class:`RefusalRouter`; the middleware's answer is discarded.
        self.error: AuthenticationError | StoreUnavailable | None = None
        #: Whether the middleware passed the request on to the application.
        self.entered = False
        #: Whether the adapter refused a websocket handshake (its close code becomes 1008).
        self.refused = False


#: The slot of the request being authenticated, set by the adapter's outer WSGI/ASGI layer.
PENDING: ContextVar[Pending | None] = ContextVar("jwtmiddleware_pending", default=None)


class RefusalRouter:
    """The ``ERROR_HANDLER`` the adapters install: record the refusal, keep the default answer.

    A configured ``ERROR_HANDLER`` is asked first; an :class:`ErrorResponse` it returns is
    sent by the middleware as usual (a redirect to a login page, say). Otherwise the refusal
    goes into the WSGI environ (``ERROR_KEY``) or the ASGI request's :class:`Pending` slot and
    is raised again inside the framework.
    """

    def __init__(self, handler: Callable[..., Any] | str | None) -> None:
        # Settings convert import strings to callables when they are built.
        self._handler = cast("Callable[..., Any] | None", handler)

    def __call__(
        self, error: AuthenticationError | StoreUnavailable, view: RequestView
    ) -> ErrorResponse | None:
        if self._handler is not None:
            try:
                custom: Any = self._handler(error, view)
            except Exception:  # a broken handler must not turn a refusal into a 500
                logger.exception("ERROR_HANDLER raised; using the default response")
                custom = None
            if isinstance(custom, ErrorResponse):
                return custom
            if custom is not None:
                logger.error("ERROR_HANDLER returned %r, not an ErrorResponse", type(custom))
        environ = getattr(view, "environ", None)
        if isinstance(environ, dict):  # WSGI (Flask): the refusal travels in the environ
            environ[ERROR_KEY] = error
            return None
        pending = PENDING.get()  # ASGI (Quart): in the request's slot
        if pending is not None:
            pending.error = error
        return None
