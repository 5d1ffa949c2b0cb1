"""jwtmiddleware refusals as werkzeug ``HTTPException`` subclasses.

Flask and Quart render an ``HTTPException`` through their error handlers, so raising these
(instead of answering from the middleware) lets ``@app.errorhandler(401)`` customise every
refusal. Each class is a subclass of both :class:`JWTHTTPException` and the matching werkzeug
class, so a handler may be registered for the status code (``401``), for werkzeug's class
(``Unauthorized``) or for :class:`JWTHTTPException` (every refusal at once). Without a custom
handler the response is exactly the one the core middleware sends: RFC 6750
``WWW-Authenticate``, a JSON body and ``Cache-Control: no-store``.

Only werkzeug is imported here: :mod:`quart_jwtmiddleware` uses the same classes.
"""

from __future__ import annotations

from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, ServiceUnavailable
from werkzeug.exceptions import Unauthorized as _Unauthorized
from werkzeug.wrappers import Response

from jwtmiddleware.errors import AuthenticationError, StoreUnavailable
from jwtmiddleware.integration import ErrorResponse, render_error, render_store_unavailable

__all__ = [
    "FreshTokenRequired",
    "JWTBadRequest",
    "JWTForbidden",
    "JWTHTTPException",
    "JWTServiceUnavailable",
    "JWTUnauthorized",
    "exception_for",
    "render",
]


class FreshTokenRequired(AuthenticationError):
    """The token's ``auth_time`` is older than the view allows (RFC 9470 step-up, 401).

    The challenge is ``Bearer ..., error="insufficient_user_authentication", max_age="N"``:
    the client must send the user through the login again (a refresh keeps ``auth_time``).
    """

    status = 401
    error = "insufficient_user_authentication"
    description = "More recent authentication is required"

    def __init__(self, reason: str | None = None, *, max_age: int) -> None:
        super().__init__(reason)
        #: The oldest acceptable authentication, in seconds (``max_age`` in the challenge).
        self.max_age = max_age


def render(error: AuthenticationError | StoreUnavailable, *, realm: str) -> ErrorResponse:
    """The core's response for ``error`` (plus ``max_age`` for :class:`FreshTokenRequired`)."""
    if isinstance(error, StoreUnavailable):
        return render_store_unavailable(error)
    response = render_error(error, realm=realm)
    if not isinstance(error, FreshTokenRequired):
        return response
    headers = tuple(
        (name, f'{value}, max_age="{error.max_age}"' if name == "www-authenticate" else value)
        for name, value in response.headers
    )
    return ErrorResponse(response.status, headers, response.body)


class JWTHTTPException(HTTPException):
    """A refusal by jwtmiddleware, raised so the framework's error handlers can render it.

    :param auth_error: the core's error (an ``AuthenticationError`` or ``StoreUnavailable``).
    :param realm: ``realm`` of the ``WWW-Authenticate`` challenge (the ``REALM`` setting).
    :param set_cookies: ``Set-Cookie`` values for the default response (a failed refresh from
        the cookie deletes the session cookies).
    """

    def __init__(
        self,
        auth_error: AuthenticationError | StoreUnavailable,
        *,
        realm: str,
        set_cookies: tuple[str, ...] = (),
    ) -> None:
        #: The core's error: its class, ``status``, ``error`` code, ``scopes`` and ``reason``
        #: (the reason is for logs; it is never sent to the client).
        self.auth_error = auth_error
        #: The default response as data: ``status``, ``headers`` and ``body``.
        self.error_response = render(auth_error, realm=realm)
        rendered = self.error_response
        description = (
            auth_error.description
            if isinstance(auth_error, AuthenticationError)
            else "Authentication is temporarily unavailable"
        )
        headers = [*rendered.headers, *(("Set-Cookie", value) for value in set_cookies)]
        response = Response(rendered.body, rendered.status, headers)
        super().__init__(description=description, response=response)
        if type(self).code is None:  # a status without a dedicated subclass below
            self.code = rendered.status


class JWTBadRequest(JWTHTTPException, BadRequest):
    """400 ``invalid_request``: duplicate or malformed credentials."""


class JWTUnauthorized(JWTHTTPException, _Unauthorized):
    """401: no token, an invalid, expired or revoked token, or one that is not fresh enough."""


class JWTForbidden(JWTHTTPException, Forbidden):
    """403: ``insufficient_scope``, ``csrf_failed`` or ``session_limit_reached``."""


class JWTServiceUnavailable(JWTHTTPException, ServiceUnavailable):
    """503 with ``Retry-After``: the store could not answer under ``STORE_FAILURE = "closed"``."""


_BY_STATUS: dict[int, type[JWTHTTPException]] = {
    400: JWTBadRequest,
    401: JWTUnauthorized,
    403: JWTForbidden,
    503: JWTServiceUnavailable,
}


def exception_for(
    error: AuthenticationError | StoreUnavailable, *, realm: str, set_cookies: tuple[str, ...] = ()
) -> JWTHTTPException:
    """The :class:`JWTHTTPException` subclass instance for the core's ``error``."""
    cls = _BY_STATUS.get(error.status, JWTHTTPException)
    return cls(error, realm=realm, set_cookies=set_cookies)
