"""``requires``: per-route rules on top of the middleware, for Starlette routes and FastAPI.

One :class:`Requirement` serves both frameworks:

- as a decorator of Starlette endpoints (``@requires("read")``): a refused HTTP request gets the
  same RFC 6750 response as the middleware's refusals; a refused websocket is closed with 1008
  (policy violation) before it is accepted;
- as a FastAPI dependency (``Depends(requires("read"))``): it returns the
  :class:`~jwtmiddleware.Identity` and raises :class:`JWTHTTPException` (websockets:
  ``WebSocketException(1008)``). FastAPI reads the dependency's signature from
  ``__wrapped__``, which also declares the ``HTTPBearer`` security scheme with the scopes, so
  the OpenAPI document shows the lock (see :mod:`starlette_jwtmiddleware._fastapi`).

The middleware has already verified the token (signature, claims, revocation); a requirement
only reads the identity it left in the scope, so it does no I/O.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast, overload

from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from jwtmiddleware import (
    AuthenticationError,
    ConfigurationError,
    Identity,
    InsufficientScope,
    TokenMissing,
)
from jwtmiddleware.integration import run_checks, to_callables

from ._middleware import AUTH_KEY, current_identity
from ._refusals import WS_POLICY_VIOLATION, error_response, starlette_response

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from jwtmiddleware.integration import ClaimCheck

__all__ = ["Requirement", "requires"]

T = TypeVar("T", bound="Identity | None")
E = TypeVar("E", bound=Callable[..., Any])

_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3 scope-token


def _find_connection(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> HTTPConnection:
    for value in (*args, *kwargs.values()):
        if isinstance(value, HTTPConnection):
            return value
    raise TypeError("an endpoint decorated with requires() must receive a Request or WebSocket")


class Requirement(Generic[T]):
    """What a route needs of the caller: authentication (unless ``optional``), scopes and
    claim checks. Build it with :func:`requires`."""

    __slots__ = ("_dependency", "_scope_list", "checks", "optional", "scopes")

    def __init__(
        self, scopes: frozenset[str], *, optional: bool, checks: tuple[ClaimCheck, ...]
    ) -> None:
        #: Scopes the token must grant.
        self.scopes = scopes
        #: Whether anonymous callers pass (as ``None``); scopes still apply to tokens.
        self.optional = optional
        #: Claim checks run on the token's claims.
        self.checks = checks
        self._scope_list = tuple(sorted(scopes))
        self._dependency: Callable[..., Awaitable[T]] | None = None

    def __repr__(self) -> str:
        args = [repr(s) for s in self._scope_list]
        if self.optional:
            args.append("optional=True")
        if self.checks:
            args.append(f"checks={self.checks!r}")
        return f"requires({', '.join(args)})"

    def resolve(self, connection: HTTPConnection, extra_scopes: Sequence[str] = ()) -> T:
        """The caller's identity (``None`` for an anonymous caller when optional).

        :param extra_scopes: scopes needed on top of :attr:`scopes` (FastAPI's
            ``Security(..., scopes=[...])``, read through ``SecurityScopes``).
        :raises TokenMissing: anonymous caller on a required route (401).
        :raises InsufficientScope: a scope is missing (403 ``insufficient_scope``).
        :raises ClaimCheckFailed: a claim check refused the token (401).
        """
        identity = current_identity(connection)
        if not isinstance(identity, Identity):
            auth: Any = connection.scope.get(AUTH_KEY)
            if auth is not None:
                auth.warn_if_exempt(connection.scope.get("path", "/"))
            if self.optional:
                return cast("T", None)
            raise TokenMissing("no credentials")
        required = self.scopes.union(extra_scopes) if extra_scopes else self.scopes
        if not required <= identity.scopes:
            names = self._scope_list if required is self.scopes else tuple(sorted(required))
            raise InsufficientScope("missing scope", scopes=names)
        if self.checks:
            run_checks(self.checks, identity.claims)
        return cast("T", identity)

    # -- as a Starlette decorator --------------------------------------------------------------

    def decorate(self, endpoint: E) -> E:
        """Wrap a Starlette endpoint (function or ``HTTPEndpoint`` method, sync or async, HTTP
        or websocket) so it runs only for callers meeting this requirement."""
        if inspect.iscoroutinefunction(endpoint) or inspect.iscoroutinefunction(
            getattr(endpoint, "__call__", None)  # noqa: B004 - async callable objects
        ):

            @functools.wraps(endpoint)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                connection = _find_connection(args, kwargs)
                try:
                    self.resolve(connection)
                except AuthenticationError as error:
                    if isinstance(connection, WebSocket):
                        await connection.close(WS_POLICY_VIOLATION, error.description)
                        return None
                    return starlette_response(error_response(connection, error))
                return await endpoint(*args, **kwargs)

            return cast("E", async_wrapper)

        @functools.wraps(endpoint)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            connection = _find_connection(args, kwargs)
            try:
                self.resolve(connection)
            except AuthenticationError as error:
                return starlette_response(error_response(connection, error))
            return endpoint(*args, **kwargs)

        return cast("E", sync_wrapper)

    # -- as a FastAPI dependency -----------------------------------------------------------------

    @property
    def __wrapped__(self) -> Callable[..., Awaitable[T]]:
        """The FastAPI dependency (FastAPI 0.123.6+ reads signatures through ``__wrapped__``).

        Built on first use, so plain Starlette apps never import FastAPI.
        """
        dependency = self._dependency
        if dependency is None:
            try:
                from ._fastapi import dependency_for
            except ImportError as exc:  # no FastAPI: there is nothing to unwrap
                raise AttributeError("__wrapped__") from exc
            dependency = self._dependency = dependency_for(self)
        return dependency

    @overload
    def __call__(self, endpoint: E, /) -> E: ...
    @overload
    def __call__(self, **values: Any) -> Awaitable[T]: ...
    def __call__(self, *args: Any, **values: Any) -> Any:
        """``@requirement`` decorates an endpoint; FastAPI calls it with keyword arguments."""
        if values or not args:
            return self.__wrapped__(*args, **values)
        if len(args) == 1 and callable(args[0]):
            return self.decorate(args[0])
        raise TypeError("use @requires(...) on an endpoint, or Depends(requires(...)) in FastAPI")


CheckSpec = Sequence["ClaimCheck | str"]


@overload
def requires(
    *scopes: str, optional: Literal[False] = False, checks: CheckSpec = ()
) -> Requirement[Identity]: ...
@overload
def requires(
    *scopes: str, optional: Literal[True], checks: CheckSpec = ()
) -> Requirement[Identity | None]: ...
@overload
def requires(
    *scopes: str, optional: bool, checks: CheckSpec = ()
) -> Requirement[Identity] | Requirement[Identity | None]: ...
def requires(
    *scopes: str, optional: bool = False, checks: CheckSpec = ()
) -> Requirement[Identity] | Requirement[Identity | None]:
    """A route requirement: a Starlette endpoint decorator and a FastAPI dependency in one.

    ``@requires("read")`` on a Starlette endpoint, ``Depends(requires("read"))`` in FastAPI
    (the dependency returns the :class:`~jwtmiddleware.Identity`).

    :param scopes: scopes the token must grant (403 ``insufficient_scope`` otherwise).
    :param optional: let anonymous callers through (FastAPI gets ``None``); a token that is
        present must still grant ``scopes``. The path must be optional or exempt for the
        middleware too, or it refuses anonymous callers first.
    :param checks: claim checks ``(claims) -> None`` or import strings (``"pkg.mod:check"``),
        resolved now so a typo fails at import time.
    """
    for scope in cast("tuple[object, ...]", scopes):  # untyped callers pass anything
        if not isinstance(scope, str):
            hint = " (use @requires() with parentheses)" if callable(scope) else ""
            raise TypeError(f"requires() takes scope strings, got {scope!r}{hint}")
        if not _SCOPE_TOKEN.match(scope):
            raise ConfigurationError("requires", f"{scope!r} is not a single scope token")
    resolved = cast("tuple[ClaimCheck, ...]", to_callables("requires(checks=...)", list(checks)))
    if optional:
        return Requirement[Identity | None](frozenset(scopes), optional=True, checks=resolved)
    return Requirement[Identity](frozenset(scopes), optional=False, checks=resolved)
