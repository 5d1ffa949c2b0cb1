"""Error responses as plain data, rendered per RFC 6750 §3.

The I/O layers turn an :class:`ErrorResponse` into ASGI messages or a WSGI ``start_response``
call. An ``ERROR_HANDLER`` ``(error, request) -> ErrorResponse | None`` may replace the default
rendering (for example with a redirect to a login page); returning ``None`` keeps the default.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core import _json
from ..core.errors import AuthenticationError, CSRFError, InsufficientScope, StoreUnavailable

__all__ = ["ErrorResponse", "render_error", "render_store_unavailable"]

_REASONS = {
    302: "Found",
    303: "See Other",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """A complete HTTP response: status, headers and body."""

    #: HTTP status code.
    status: int
    #: Header name/value pairs (``str``, latin-1 encodable).
    headers: tuple[tuple[str, str], ...]
    #: Response body.
    body: bytes = b""

    @property
    def status_line(self) -> str:
        """``"401 Unauthorized"``, for WSGI."""
        return f"{self.status} {_REASONS.get(self.status, 'Error')}"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def render_error(error: AuthenticationError, *, realm: str) -> ErrorResponse:
    """The RFC 6750 response for ``error``: ``WWW-Authenticate`` plus a JSON body.

    The description is the fixed text of the error class; the token and any lower-level
    exception text never reach the client.
    """
    params = [f'realm="{_quote(realm)}"']
    if error.error is not None:
        params.append(f'error="{error.error}"')
        params.append(f'error_description="{_quote(error.description)}"')
    if isinstance(error, InsufficientScope) and error.scopes:
        params.append(f'scope="{_quote(" ".join(error.scopes))}"')
    body = _json.dumps(
        {"error": error.error or "unauthorized", "error_description": error.description}
    )
    headers: list[tuple[str, str]] = [
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
        ("cache-control", "no-store"),
    ]
    if not isinstance(error, CSRFError):
        headers.insert(0, ("www-authenticate", "Bearer " + ", ".join(params)))
    return ErrorResponse(error.status, tuple(headers), body)


def render_store_unavailable(error: StoreUnavailable) -> ErrorResponse:
    """503 with ``Retry-After`` when the store cannot answer and the policy is fail-closed."""
    body = _json.dumps(
        {
            "error": "temporarily_unavailable",
            "error_description": "Authentication is temporarily unavailable",
        }
    )
    return ErrorResponse(
        503,
        (
            ("content-type", "application/json"),
            ("content-length", str(len(body))),
            ("cache-control", "no-store"),
            ("retry-after", str(error.retry_after)),
        ),
        body,
    )
