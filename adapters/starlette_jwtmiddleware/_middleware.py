"""The middleware entry the adapter installs, and reading the identity back from a request.

:class:`JWTAuthMiddleware` is the core :class:`~jwtmiddleware.JWTMiddleware` (so
``request.user``, ``request.auth`` and ``starlette.authentication.requires`` work) that also
records, in the request scope, which :class:`~starlette_jwtmiddleware.JWTAuth` it belongs to:
``requires`` and ``IdentityDep`` render their refusals with that deployment's realm and
``ERROR_HANDLER`` without being handed the ``JWTAuth`` object.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jwtmiddleware import AnonymousIdentity, Identity, JWTMiddleware
from jwtmiddleware.integration import IDENTITY_KEY

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from jwtmiddleware.integration import ASGIApp, Receive, Scope, Send

    from ._auth import JWTAuth

__all__ = ["AUTH_KEY", "IDENTITY_KEY", "JWTAuthMiddleware", "current_identity"]

#: Scope key of the :class:`~starlette_jwtmiddleware.JWTAuth` that authenticated the request.
AUTH_KEY = "jwtmiddleware.auth"

_NOT_INSTALLED = (
    "no jwtmiddleware identity on this request: the JWT middleware is not installed. "
    "Call auth.install(app), or pass middleware=[auth.middleware()] to Starlette/FastAPI"
)


class JWTAuthMiddleware(JWTMiddleware):
    """:class:`~jwtmiddleware.JWTMiddleware` configured by a ``JWTAuth``.

    Built by Starlette from the entry that :meth:`JWTAuth.middleware` returns; it shares the
    ``JWTAuth``'s settings, store and clock; ``exempt_paths`` are added to ``EXEMPT_PATHS``
    for this middleware only.
    """

    def __init__(self, app: ASGIApp, *, auth: JWTAuth, exempt_paths: Sequence[str] = ()) -> None:
        settings = auth.settings
        if exempt_paths:  # the app's own documentation pages (JWTAuth.install)
            settings = settings.replace(exempt_paths=(*settings.exempt_paths, *exempt_paths))
        super().__init__(app, settings=settings, store=auth.store, clock=auth.clock)
        #: The ``JWTAuth`` this middleware belongs to.
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" or scope["type"] == "websocket":
            scope = dict(scope)
            scope[AUTH_KEY] = self.auth
        await super().__call__(scope, receive, send)


def current_identity(connection: HTTPConnection) -> Identity | AnonymousIdentity:
    """The caller of a request or websocket: an :class:`~jwtmiddleware.Identity`, or
    :data:`~jwtmiddleware.ANONYMOUS` on exempt and optional paths without a token.

    :raises RuntimeError: when the middleware is not installed (never treated as anonymous).
    """
    identity: Any = connection.scope.get(IDENTITY_KEY)
    if not isinstance(identity, Identity | AnonymousIdentity):
        raise RuntimeError(_NOT_INSTALLED)
    return identity
