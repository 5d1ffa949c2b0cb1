"""``current_identity`` and ``jwt_required`` inside Quart, for HTTP and websocket routes."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from quart import current_app, has_request_context, has_websocket_context, request, websocket
from werkzeug.local import LocalProxy

from flask_jwtmiddleware._common import EXTENSION_KEY, PENDING_KEY, Pending, ViewRule
from flask_jwtmiddleware._tokens import USER_KEY, no_user_error
from jwtmiddleware import ANONYMOUS, Identity
from jwtmiddleware.integration import IDENTITY_KEY

if TYPE_CHECKING:
    from quart import Quart

    from jwtmiddleware import AnonymousIdentity
    from jwtmiddleware.errors import AuthenticationError, StoreUnavailable

    from ._extension import AppState

__all__ = [
    "current_identity",
    "current_scope",
    "current_user",
    "get_current_user",
    "get_identity",
    "jwt_required",
    "refuse",
]

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


_NO_LOADER = ("current_user needs a user loader: decorate a function (identity) -> user "
              "with @auth.user_loader")  # fmt: skip


async def get_current_user() -> Any:
    """The user ``@auth.user_loader`` (sync or ``async def``) gives for the current request's or
    websocket's token, loaded once; ``None`` for an anonymous caller.

    :raises JWTUnauthorized: (401) when the loader finds no user for the token's subject.
    :raises RuntimeError: when no user loader is registered.
    """
    scope = current_scope()
    identity = scope.get(IDENTITY_KEY, ANONYMOUS)
    if not identity.is_authenticated:
        return None
    user = scope.get(USER_KEY)
    if user is None:
        state = state_of()
        loader = state.hooks.user_loader
        if loader is None:
            raise RuntimeError(_NO_LOADER)
        user = loader(identity)
        if inspect.isawaitable(user):
            user = await user
        if user is None:
            refuse(state, no_user_error())
        scope[USER_KEY] = user
    return user


def _loaded_user() -> Any:
    """``current_user``: the user loaded already, or loaded now by a plain (sync) loader."""
    scope = current_scope()
    identity = scope.get(IDENTITY_KEY, ANONYMOUS)
    if not identity.is_authenticated:
        return None
    user = scope.get(USER_KEY)
    if user is None:
        state = state_of()
        loader = state.hooks.user_loader
        if loader is not None and inspect.iscoroutinefunction(loader):
            raise RuntimeError("an async user_loader runs in jwt_required: decorate the view, "
                               "or use `await get_current_user()`")  # fmt: skip
        user = _load_sync(state, identity)
    return user


#: The user behind the current request's token, from ``@auth.user_loader`` (``None`` when
#: anonymous); loaded by ``jwt_required`` (or ``await get_current_user()``) before it is read.
current_user: Any = LocalProxy(_loaded_user)


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


def _enforce(rule: ViewRule) -> AppState:
    state = state_of()
    identity = get_identity()
    error = rule.check(identity, state.clock())
    if error is not None:
        if not identity.is_authenticated:
            state.warn_if_exempt(current_scope().get("path", "/"))
        refuse(state, error)
    return state


def _load_sync(state: AppState, identity: Identity) -> Any:
    """Load the user with a plain loader (a sync view runs in a worker thread, no loop)."""
    scope = current_scope()
    user = scope.get(USER_KEY)
    if user is None:
        loader = state.hooks.user_loader
        if loader is None:
            raise RuntimeError(_NO_LOADER)
        if inspect.iscoroutinefunction(loader):
            raise RuntimeError("an async user_loader cannot serve a sync view")
        user = loader(identity)
        if inspect.isawaitable(user):
            close = getattr(user, "close", None)
            if close is not None:
                close()  # never awaited: no "coroutine was never awaited" warning
            raise RuntimeError("a user_loader returning an awaitable cannot serve a sync view")
        if user is None:
            refuse(state, no_user_error())
        scope[USER_KEY] = user
    return user


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

    With a ``@auth.user_loader``, the user is loaded before the view runs (``current_user``),
    and a token whose user is gone gets 401.
    """
    rule = ViewRule.build(scopes, optional, fresh)

    def decorator(view: F) -> F:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if _enforce(rule).hooks.user_loader is not None:
                    await get_current_user()  # a deleted user is refused before the view
                return await view(*args, **kwargs)

            return cast("F", async_wrapper)

        # Quart runs sync views in a thread with the request context copied: check there.
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            state = _enforce(rule)
            identity = get_identity()
            if state.hooks.user_loader is not None and isinstance(identity, Identity):
                _load_sync(state, identity)
            return view(*args, **kwargs)

        return cast("F", wrapper)

    return decorator
