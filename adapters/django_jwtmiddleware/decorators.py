"""``jwt_required``: per-view rules on top of the middleware's path rules."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from asgiref.sync import iscoroutinefunction
from django.core.exceptions import ImproperlyConfigured

from jwtmiddleware.errors import AuthenticationError, InsufficientScope, TokenMissing

from ._http import DjangoRequestView, to_http_response
from .conf import get_runtime

__all__ = ["identity_of", "jwt_required"]

View = TypeVar("View", bound=Callable[..., Any])


def identity_of(request: Any) -> Any:
    """``request.identity``, or a clear error when the middleware is not installed."""
    try:
        return request.identity
    except AttributeError:
        raise ImproperlyConfigured(
            "request.identity is not set: add 'django_jwtmiddleware.JWTAuthenticationMiddleware' "
            "to settings.MIDDLEWARE"
        ) from None


def _scopes(scopes: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(scopes, str):
        return tuple(scopes.split())
    return tuple(scopes)


def _refusal(request: Any, needed: tuple[str, ...], optional: bool) -> Any:
    identity = identity_of(request)
    error: AuthenticationError
    if not identity.is_authenticated:
        if optional:
            return None
        error = TokenMissing("the view requires a token")
    elif not identity.has_scopes(*needed):
        error = InsufficientScope("the view requires more scopes", scopes=needed)
    else:
        return None
    response = get_runtime().responder.response_for(error, DjangoRequestView(request))
    return to_http_response(response)


@overload
def jwt_required(view: View, /) -> View: ...


@overload
def jwt_required(
    *, scopes: str | Iterable[str] = (), optional: bool = False
) -> Callable[[View], View]: ...


def jwt_required(
    view: View | None = None,
    /,
    *,
    scopes: str | Iterable[str] = (),
    optional: bool = False,
) -> View | Callable[[View], View]:
    """Require a verified token (and ``scopes``) for a function view, sync or async.

    ``@jwt_required`` refuses anonymous callers with 401; ``@jwt_required(scopes=["profile"])``
    also refuses tokens lacking a scope with 403 ``insufficient_scope``;
    ``@jwt_required(optional=True, scopes=...)`` lets anonymous callers in but holds tokens to
    the scopes. Refusals are the middleware's RFC 6750 responses (``ERROR_HANDLER`` applies).
    Use it on paths the middleware authenticates (required or ``OPTIONAL_PATHS``, for example
    with ``"REQUIRED": False``): on ``EXEMPT_PATHS`` no token is ever read, so every caller is
    anonymous.

    :param scopes: scopes the token must grant (a list, or a space-separated string).
    :param optional: let requests without a token through.
    """
    needed = _scopes(scopes)

    def decorate(func: View) -> View:
        if iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_view(request: Any, *args: Any, **kwargs: Any) -> Any:
                refusal = _refusal(request, needed, optional)
                if refusal is not None:
                    return refusal
                return await func(request, *args, **kwargs)

            return async_view  # type: ignore[return-value]

        @functools.wraps(func)
        def sync_view(request: Any, *args: Any, **kwargs: Any) -> Any:
            refusal = _refusal(request, needed, optional)
            if refusal is not None:
                return refusal
            return func(request, *args, **kwargs)

        return sync_view  # type: ignore[return-value]

    if view is not None:
        return decorate(view)
    return decorate
