"""``JWTWSGIMiddleware``: the PEP 3333 middleware.

It authenticates every request, puts the :class:`~jwtmiddleware.identity.Identity` into
``environ["jwtmiddleware.identity"]``, and changes responses only in its ``start_response``
wrapper: ``Vary`` and, when a token is renewed, the sliding-refresh headers.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from ..core.settings import Settings
from .csrf import form_value
from .drive import run_sync
from .middleware import IDENTITY_KEY, MiddlewareCore, as_auth_error, with_vary
from .results import AuthResult
from .sources import WSGIRequestView
from .status import status_response

if TYPE_CHECKING:
    from ..core.effects import ReadForm
    from ..stores.base import Store
    from .refresh import RefreshPlan

__all__ = ["JWTWSGIMiddleware", "WSGIApp"]

StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _form_reader(environ: dict[str, Any]) -> Callable[[ReadForm], str | None]:
    def read_form(effect: ReadForm) -> str | None:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not 0 < length <= effect.limit:
            return None
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # the application reads it again
        return form_value(body, effect.field)

    return read_form


def auth_headers_starter(
    start_response: StartResponse, vary: str | None, plan: RefreshPlan | None
) -> StartResponse:
    """``start_response``, adding the middleware's headers: ``vary`` merged into the
    application's own ``Vary``, and the renewed token of a sliding-refresh ``plan`` (a
    ``functools.partial`` of :func:`start_with_auth_headers`)."""
    return partial(start_with_auth_headers, start_response, vary, plan)


def start_with_auth_headers(
    start_response: StartResponse,
    vary: str | None,
    plan: RefreshPlan | None,
    status: str,
    headers: list[tuple[str, str]],
    exc_info: Any = None,
) -> Callable[[bytes], object]:
    """Start the response with the middleware's headers added."""
    out = with_vary(headers, vary) if vary is not None else list(headers)
    if plan is not None:
        try:
            code = int(status.split(None, 1)[0])
        except ValueError:
            code = 500
        if plan.applies_to(code, out):
            out = plan.apply(out)
    return start_response(status, out, exc_info)


_STATUS_LINES = {
    200: "200 OK",
    304: "304 Not Modified",
    405: "405 Method Not Allowed",
    503: "503 Service Unavailable",
}


class JWTWSGIMiddleware(MiddlewareCore):
    """Authenticate every request of a WSGI app.

    :param app: the WSGI application to protect.
    :param settings: the configuration; read from ``JWTMIDDLEWARE_*`` variables when omitted.
    :param store: a store object overriding the ``STORE`` URL.
    :param clock: returns the current UNIX time (tests pass a frozen clock).
    :param metrics: where to record metrics: a ``prometheus_client.CollectorRegistry`` or an
        OpenTelemetry ``MeterProvider`` (default: ``METRICS``; middleware sharing one share
        its instruments).
    """

    app: WSGIApp
    _downstream: WSGIApp

    def __init__(
        self,
        app: WSGIApp,
        *,
        settings: Settings | None = None,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
        metrics: Any = None,
    ) -> None:
        self.app = app
        self._setup(settings, store, clock, metrics)
        self._fast = self.authenticator.fast_path
        self._bearer = self.authenticator.bearer
        # Whether the fast lane may return a flow (the store asked per request).
        self._fast_flows = self.authenticator.store_effects
        self._header_key = "HTTP_" + self.settings.header_name.upper().replace("-", "_")
        self._cookie_key = self.settings.access_cookie_name + "="

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        own = self._own_paths  # JWKS_PATH and STATUS_PATH, answered below; None: neither
        if (
            self._fast
            and environ.get("REQUEST_METHOD") != "OPTIONS"
            and (own is None or environ.get("PATH_INFO") not in own)
        ):
            # The Bearer fast lane: a request with an Authorization header and no token cookie
            # is decided from that value alone (servers join repeated headers: the lane sees
            # the comma and leaves the value to the full path).
            authorization = environ.get(self._header_key)
            cookie = environ.get("HTTP_COOKIE")
            if authorization is not None and (cookie is None or self._cookie_key not in cookie):
                try:
                    # Any: a result, or a flow driven just below into one.
                    decided: Any = self._bearer(authorization, self._clock())
                    if (
                        self._fast_flows
                        and decided is not None
                        and not isinstance(decided, AuthResult)
                    ):
                        decided = run_sync(decided, self.store, telemetry=self.telemetry)
                except Exception as exc:  # noqa: BLE001 - every refusal is rendered, never a 500
                    return self._refuse(
                        as_auth_error(exc), WSGIRequestView(environ), start_response
                    )
                if decided is not None:
                    environ[IDENTITY_KEY] = decided[0]
                    vary = self._vary
                    if vary is not None:  # auth_headers_starter(), without the call
                        start_response = partial(
                            start_with_auth_headers, start_response, vary, None
                        )
                    return self._downstream(environ, start_response)
        return self._decide(environ, start_response)

    def _decide(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The full path: the authenticator's decision, its effects driven here."""
        view = WSGIRequestView(environ)
        own = self._own_paths
        if own is not None and view.path in own:
            return self._serve_own(view, start_response)
        try:
            decided = self.authenticator.decide(view, self._clock())
            if not isinstance(decided, AuthResult):
                reader = _form_reader(environ)
                decided = run_sync(decided, self.store, reader, telemetry=self.telemetry)
        except Exception as exc:  # noqa: BLE001 - every refusal is rendered, never a 500
            return self._refuse(as_auth_error(exc), view, start_response)
        if self.telemetry is not None:
            self.telemetry.decided(decided)
        environ[IDENTITY_KEY] = decided.identity
        vary, plan = self._vary, decided.refresh
        if not decided.exempt and (vary is not None or plan is not None):
            start_response = auth_headers_starter(start_response, vary, plan)
        return self._downstream(environ, start_response)

    def _serve_own(self, view: WSGIRequestView, start_response: StartResponse) -> Iterable[bytes]:
        """``JWKS_PATH`` or ``STATUS_PATH``, answered by the middleware itself."""
        if view.path == self._jwks_path:
            assert self.jwks is not None
            status, headers, body = self.jwks.respond(view.method, view.get("if-none-match"))
            start_response(_STATUS_LINES[status], list(headers))
            return [body]
        ready, state = self.ready()
        code, answer_headers, answer = status_response(ready, state, view.method)
        start_response(_STATUS_LINES[code], answer_headers)
        return [answer]

    def _refuse(
        self, error: Exception, view: WSGIRequestView, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Report and render a refusal (and its ``authz_fail`` event)."""
        response = self._responder.response_for(error, view)
        if self._events is not None:
            event = self._authz_event(error, view)
            if event is not None:
                self._events.emit(event)
        start_response(response.status_line, list(response.headers))
        return [response.body]
