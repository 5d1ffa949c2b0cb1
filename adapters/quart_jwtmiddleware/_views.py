"""``current_identity`` and ``jwt_required`` inside Quart, for HTTP and websocket routes."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from quart import current_app, has_request_context, has_websocket_context, request, websocket
from werkzeug.local import LocalProxy

from flask_jwtmiddleware._common import EXTENSION_KEY, PENDING_KEY, Pending, ViewRule
from jwtmiddleware.identity import ANONYMOUS
from jwtmiddleware.integration import IDENTITY_KEY

if TYPE_CHECKING:
    from quart import Quart

    from jwtmiddleware.errors import AuthenticationError, StoreUnavailable
    from jwtmiddleware.identity import AnonymousIdentity, Identity

    from ._extension import AppState

__all__ = ["current_identity", "current_scope", "get_identity", "jwt_required", "refuse"]

F = TypeVar("F", bound=Callable[..., Any])


def current_scope() -> dict[str, Any]:
    """The ASGI scope of the current websocket or request."""
    if has_websocket_context():
        return websocket.scope  # type: ignore[return-value]
    if has_request_context():
        return request.scope  # type: ignore[return-value]
    raise RuntimeError("working outside of a request or websocket context")


def get_identity() -> Identity | AnonymousIdentity:
    """The verified caller of the current request or websocket (``ANONYMOUS`` if none)."""
    identity: Identity | AnonymousIdentity = current_scope().get(IDENTITY_KEY, ANONYMOUS)
    return identity


#: The verified caller of the current request or websocket: an ``Identity`` or ``ANONYMOUS``.
current_identity = cast("Identity | AnonymousIdentity", LocalProxy(get_identity))


def state_of() -> AppState:
    """The adapter's state for the current app; a clear error when it was never set up."""
    app: Quart = current_app._get_current_object()  # type: ignore[attr-defined]
    extension = app.extensions.get(EXTENSION_KEY)
    if extension is None:
        raise RuntimeError("jwtmiddleware is not set up for this app: call JWTAuth(app)")
    state: AppState = extension.state_for(app)
    return state


def refuse(state: AppState, error: AuthenticationError | StoreUnavailable) -> NoReturn:
    """Raise ``error`` as an ``HTTPException``; a refused websocket handshake that Quart can
    only close is closed with 1008, like the core does."""
    if has_websocket_context():
        pending = websocket.scope.get(PENDING_KEY)
        if isinstance(pending, Pending):
            pending.refused = True
    raise state.exception_for(error)


def _enforce(rule: ViewRule) -> None:
    state = state_of()
    identity = get_identity()
    error = rule.check(identity, state.clock())
    if error is not None:
        if not identity.is_authenticated:
            state.warn_if_exempt(current_scope().get("path", "/"))
        refuse(state, error)


def jwt_required(
    scopes: str | Iterable[str] = (), *, optional: bool = False, fresh: bool | int = False
) -> Callable[[F], F]:
    """Per-view rules on top of the middleware's path rules, for HTTP and websocket routes;
    they add, never relax.

    :param scopes: scopes the token must grant (a list, or a space-separated string);
        otherwise 403 ``insufficient_scope``.
    :param optional: let anonymous callers through (on paths the middleware treats as
        optional); a token that is present must still meet ``scopes`` and ``fresh``.
    :param fresh: require ``auth_time`` at most this many seconds old (``True``: 900); otherwise
        401 ``insufficient_user_authentication`` with ``max_age`` (RFC 9470).
    """
    rule = ViewRule.build(scopes, optional, fresh)

    def decorator(view: F) -> F:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                _enforce(rule)
                return await view(*args, **kwargs)

            return cast("F", async_wrapper)

        # Quart runs sync views in a thread with the request context copied: check there.
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _enforce(rule)
            return view(*args, **kwargs)

        return cast("F", wrapper)

    return decorator
