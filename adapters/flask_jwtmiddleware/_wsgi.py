"""The outer WSGI layer: refusals of the core middleware are handed to Flask, not answered."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._common import ERROR_KEY, STATE_KEY

if TYPE_CHECKING:
    from jwtmiddleware import JWTWSGIMiddleware
    from jwtmiddleware.integration import StartResponse, WSGIApp

__all__ = ["RefusalRoutingMiddleware"]


def _discard(data: bytes) -> object:
    return None


class RefusalRoutingMiddleware:
    """Run the core middleware; when it refuses, call Flask with the refusal in the environ.

    The core middleware (built with :class:`~._common.RefusalRouter` as its ``ERROR_HANDLER``)
    records a refusal in ``environ["jwtmiddleware.error"]`` before answering; that answer is
    dropped here and the request goes to Flask, where the adapter's first ``before_request``
    hook raises it as an ``HTTPException``. The decision itself is made once, by the
    core.

    :param middleware: the core middleware wrapping ``app``.
    :param app: Flask's own ``wsgi_app``.
    :param state: the adapter's per-app state, put into every request's environ.
    """

    def __init__(self, middleware: JWTWSGIMiddleware, app: WSGIApp, state: Any = None) -> None:
        #: The core middleware (its settings, authenticator and store).
        self.middleware = middleware
        #: The Flask application's original ``wsgi_app``.
        self.app = app
        self._state = state

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        environ[STATE_KEY] = self._state

        def start_unless_refused(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            if ERROR_KEY in environ:
                return _discard  # the middleware's own refusal: Flask answers instead
            return start_response(status, headers, exc_info)

        result = self.middleware(environ, start_unless_refused)
        if ERROR_KEY not in environ:
            return result
        return self.app(environ, start_response)
