"""``current_identity`` and ``jwt_required``: the identity and per-view rules inside Flask."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import current_app, request
from werkzeug.local import LocalProxy

from jwtmiddleware import ANONYMOUS
from jwtmiddleware.integration import IDENTITY_KEY

from ._common import EXTENSION_KEY, STATE_KEY, ViewRule
from ._tokens import USER_KEY, no_user_error

if TYPE_CHECKING:
    from flask import Flask

    from jwtmiddleware import AnonymousIdentity, Identity

    from ._extension import AppState

__all__ = [
    "current_identity",
    "current_user",
    "get_current_user",
    "get_identity",
    "jwt_required",
    "request_environ",
    "state_of",
]

F = TypeVar("F", bound=Callable[..., Any])


_cv_request: ContextVar[Any] | None
try:  # the request context without werkzeug's proxy layers (a few µs per access)
    from flask.globals import _cv_request
except ImportError:  # pragma: no cover - a Flask without it: the public proxy does the same
    _cv_request = None


def request_environ() -> dict[str, Any]:
    """The WSGI environ of the current request (``RuntimeError`` outside of one)."""
    if _cv_request is not None:
        context = _cv_request.get(None)
        if context is not None:
            environ: dict[str, Any] = context.request.environ
            return environ
    return request.environ  # raises Flask's "working outside of request context"


def get_identity() -> Identity | AnonymousIdentity:
    """The verified caller of the current request (``ANONYMOUS`` when there is none)."""
    identity: Identity | AnonymousIdentity = request_environ().get(IDENTITY_KEY, ANONYMOUS)
    return identity


#: The verified caller of the current request: an ``Identity`` (``subject``, ``claims``,
#: ``scopes``, ``session_id``, ...) or ``ANONYMOUS`` on optional and exempt paths.
current_identity = cast("Identity | AnonymousIdentity", LocalProxy(get_identity))


def _load_user(state: AppState, environ: dict[str, Any], identity: Identity) -> Any:
    """The request's user from the ``user_loader``, once per request; 401 when it is gone."""
    user = environ.get(USER_KEY)
    if user is None:
        loader = state.hooks.user_loader
        if loader is None:
            raise RuntimeError("current_user needs a user loader: decorate a function "
                               "(identity) -> user with @auth.user_loader")  # fmt: skip
        user = loader(identity)
        if user is None:
            raise state.exception_for(no_user_error())
        environ[USER_KEY] = user
    return user


def get_current_user() -> Any:
    """The user ``@auth.user_loader`` gives for the current request's token; ``None`` for an
    anonymous caller.

    :raises JWTUnauthorized: (401) when the loader finds no user for the token's subject.
    :raises RuntimeError: when no user loader is registered.
    """
    environ = request_environ()
    identity = environ.get(IDENTITY_KEY, ANONYMOUS)
    if not identity.is_authenticated:
        return None
    return _load_user(environ.get(STATE_KEY) or state_of(), environ, identity)


#: The user behind the current request's token, from ``@auth.user_loader`` (``None`` when
#: anonymous), like flask-jwt-extended's ``current_user``.
current_user: Any = LocalProxy(get_current_user)


def state_of() -> AppState:
    """The adapter's state for the current app; a clear error when it was never set up."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    extension = app.extensions.get(EXTENSION_KEY)
    if extension is None:
        raise RuntimeError("jwtmiddleware is not set up for this app: call JWTAuth(app)")
    state: AppState = extension.state_for(app)
    return state


def _enforce(rule: ViewRule) -> None:
    environ = request_environ()
    identity = environ.get(IDENTITY_KEY, ANONYMOUS)
    state = environ.get(STATE_KEY) or state_of()
    error = rule.check(identity, state.clock())
    if error is not None:
        if not identity.is_authenticated:
            state.warn_if_exempt(request.path)
        raise state.exception_for(error)
    if identity.is_authenticated and state.hooks.user_loader is not None:
        _load_user(state, environ, identity)  # a deleted user is refused before the view


def jwt_required(
    scopes: str | Iterable[str] = (), *, optional: bool = False, fresh: bool | int = False
) -> Callable[[F], F]:
    """Per-view rules on top of the middleware's path rules; they add, never relax.

    :param scopes: scopes the token must grant (a list, or a space-separated string);
        otherwise 403 ``insufficient_scope``.
    :param optional: let anonymous callers through (on paths the middleware treats as
        optional); a token that is present must still meet ``scopes`` and ``fresh``.
    :param fresh: require ``auth_time`` at most this many seconds old (``True``: 900); otherwise
        401 ``insufficient_user_authentication`` with ``max_age`` (RFC 9470). A refresh keeps
        ``auth_time``: only a new login makes a token fresh again.

    With a ``@auth.user_loader``, the user is loaded before the view runs (``current_user``),
    and a token whose user is gone gets 401.
    """
    rule = ViewRule.build(scopes, optional, fresh)

    def decorator(view: F) -> F:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                _enforce(rule)
                return await view(*args, **kwargs)

            return cast("F", async_wrapper)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _enforce(rule)
            return view(*args, **kwargs)

        return cast("F", wrapper)

    return decorator
