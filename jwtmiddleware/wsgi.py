"""``JWTWSGIMiddleware``: the PEP 3333 middleware.

It authenticates every request, puts the :class:`~jwtmiddleware.identity.Identity` into
``environ["jwtmiddleware.identity"]``, and changes responses only in its ``start_response``
wrapper.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._drive import run_sync
from ._http import IDENTITY_KEY, Responder, as_auth_error, merge_vary, resolve_store
from .flow import Authenticator
from .settings import Settings
from .sources import WSGIRequestView

if TYPE_CHECKING:
    from .stores.base import Store

__all__ = ["JWTWSGIMiddleware", "WSGIApp"]

StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class JWTWSGIMiddleware:
    """Authenticate every request of a WSGI app.

    :param app: the WSGI application to protect.
    :param settings: the configuration; read from ``JWTMIDDLEWARE_*`` variables when omitted.
    :param store: a store object overriding the ``STORE`` URL.
    :param clock: returns the current UNIX time (tests pass a frozen clock).
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        settings: Settings | None = None,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.settings = settings if settings is not None else Settings.from_env()
        self.authenticator = Authenticator(self.settings)
        self.store = resolve_store(self.settings, store)
        self._clock = clock
        self._responder = Responder(self.settings, self.authenticator.sources)
        self._vary = self._responder.vary

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        view = WSGIRequestView(environ)
        authenticator = self.authenticator
        try:
            if authenticator.uses_store:
                result = run_sync(authenticator.flow(view, self._clock()), self.store)
            else:
                result = authenticator.decide(view, self._clock())[0]
        except Exception as exc:  # noqa: BLE001 - every refusal is rendered, never a 500
            response = self._responder.response_for(as_auth_error(exc), view)
            start_response(response.status_line, list(response.headers))
            return [response.body]
        environ[IDENTITY_KEY] = result.identity
        vary = self._vary
        if result.exempt or vary is None:
            return self.app(environ, start_response)

        def start_with_vary(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            out = list(headers)
            for index, (key, value) in enumerate(out):
                if key.lower() == "vary":
                    out[index] = (key, merge_vary(value, vary))
                    break
            else:
                out.append(("Vary", vary))
            return start_response(status, out, exc_info)

        return self.app(environ, start_with_vary)
