"""Refusals in Starlette's terms: the RFC 6750 response for an error, as a Starlette response
or as the :class:`JWTHTTPException` a FastAPI dependency raises.

Shared by :mod:`._requires` (the endpoint decorator) and :mod:`._fastapi` (the dependency).
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.responses import Response

from jwtmiddleware import AuthenticationError, StoreUnavailable
from jwtmiddleware.integration import ErrorResponse, render_error, render_store_unavailable

from ._middleware import AUTH_KEY

__all__ = ["WS_POLICY_VIOLATION", "JWTHTTPException", "error_response", "starlette_response"]

#: Close code for refused websockets (RFC 6455 §7.4.1: policy violation).
WS_POLICY_VIOLATION = 1008
_DEFAULT_REALM = "api"


def error_response(
    connection: HTTPConnection, error: AuthenticationError | StoreUnavailable
) -> ErrorResponse:
    """The refusal for ``error``, rendered by the ``JWTAuth`` that handled the request (its
    realm and ``ERROR_HANDLER``), or with the defaults under a bare ``JWTMiddleware``."""
    auth: Any = connection.scope.get(AUTH_KEY)
    if auth is not None:
        rendered: ErrorResponse = auth.error_response(error, connection)
        return rendered
    if isinstance(error, StoreUnavailable):
        return render_store_unavailable(error)
    return render_error(error, realm=_DEFAULT_REALM)


def starlette_response(response: ErrorResponse) -> Response:
    """An :class:`~jwtmiddleware.ErrorResponse` as a Starlette response, headers kept exactly."""
    out = Response(response.body, status_code=response.status)
    out.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                       for k, v in response.headers]  # fmt: skip
    return out


class JWTHTTPException(HTTPException):
    """A refusal raised by a FastAPI dependency.

    ``JWTAuth.install(app)`` registers a handler answering it with :attr:`response` exactly
    (``{"error": ..., "error_description": ...}``); without that handler FastAPI's default one
    still sends the status and the ``WWW-Authenticate`` header, with ``{"detail": ...}``.
    """

    def __init__(self, response: ErrorResponse, error: AuthenticationError | StoreUnavailable):
        headers = {k: v for k, v in response.headers
                   if k.lower() not in ("content-length", "content-type")}  # fmt: skip
        detail = getattr(error, "description", "Authentication is temporarily unavailable")
        super().__init__(response.status, detail=detail, headers=headers)
        #: The complete response to send.
        self.response = response
        #: The core error behind it.
        self.error = error
