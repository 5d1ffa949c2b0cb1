"""``JWTWSGIMiddleware``: the PEP 3333 middleware.

It authenticates every request, puts the :class:`~jwtmiddleware.identity.Identity` into
``environ["jwtmiddleware.identity"]``, and changes responses only in its ``start_response``
wrapper: ``Vary`` and, when a token is renewed, the sliding-refresh headers.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from ..core.settings import Settings
from .csrf import form_value
from .drive import run_sync
from .middleware import IDENTITY_KEY, MiddlewareCore, as_auth_error, with_vary
from .sources import WSGIRequestView
from .status import status_response

if TYPE_CHECKING:
    from ..core.effects import ReadForm
    from ..core.identity import Identity
    from ..stores.base import Store

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
        self._store_effects = self.authenticator.store_effects
        self._header_key = "HTTP_" + self.settings.header_name.upper().replace("-", "_")
        self._cookie_key = self.settings.access_cookie_name + "="
        self._max_fast = len(self.settings.header_scheme) + 1 + self.settings.max_token_bytes

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        own = self._own_paths  # JWKS_PATH and STATUS_PATH, answered below; None: neither
        if (
            self._fast
            and environ.get("REQUEST_METHOD") != "OPTIONS"
            and (own is None or environ.get("PATH_INFO") not in own)
        ):
            authorization = environ.get(self._header_key)
            cookie = environ.get("HTTP_COOKIE")
            try:
                fast = None
                if (
                    authorization is not None
                    and len(authorization) <= self._max_fast  # never hash a huge header
                    and (cookie is None or self._cookie_key not in cookie)
                ):
                    now = self._clock()
                    fast = self.authenticator.cached_header(authorization, now)
                    if fast is None:
                        fast = self.authenticator.bearer(
                            authorization, None, now, raw=authorization
                        )
                    if fast is not None:
                        if self._check_revoked is not None:  # the mirror: no I/O
                            self._check_revoked(fast[4], now)  # type: ignore[arg-type]
                        elif self._store_effects:
                            identity = cast("Identity", fast.identity)
                            checks = self._store_checks(identity, now)
                            run_sync(checks, self.store, telemetry=self.telemetry)
            except Exception as exc:  # noqa: BLE001 - every refusal is rendered, never a 500
                error = self._verified_error(exc, fast)
                return self._refuse(error, WSGIRequestView(environ), start_response)
            if fast is not None:
                environ[IDENTITY_KEY] = fast.identity
                if self._vary is None:
                    return self._downstream(environ, start_response)
                vary_value: str = self._vary

                def start_with_vary(
                    status: str, headers: list[tuple[str, str]], exc_info: Any = None
                ) -> Callable[[bytes], object]:
                    return start_response(status, with_vary(headers, vary_value), exc_info)

                return self._downstream(environ, start_with_vary)
        view = WSGIRequestView(environ)
        if own is not None and view.path in own:
            return self._serve_own(view, start_response)
        authenticator = self.authenticator
        try:
            if authenticator.needs_flow(view):
                flow = authenticator.flow(view, self._clock())
                result = run_sync(flow, self.store, _form_reader(environ), telemetry=self.telemetry)
            else:
                result = authenticator.decide(view, self._clock())
        except Exception as exc:  # noqa: BLE001 - every refusal is rendered, never a 500
            return self._refuse(as_auth_error(exc), view, start_response)
        if self.telemetry is not None:
            self.telemetry.decided(result)
        environ[IDENTITY_KEY] = result.identity
        vary, plan = self._vary, result.refresh
        if result.exempt or (vary is None and plan is None):
            return self._downstream(environ, start_response)

        def start_with_auth_headers(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            out = with_vary(headers, vary) if vary else list(headers)
            if plan is not None:
                try:
                    code = int(status.split(None, 1)[0])
                except ValueError:
                    code = 500
                if plan.applies_to(code, out):
                    out = plan.apply(out)
            return start_response(status, out, exc_info)

        return self._downstream(environ, start_with_auth_headers)

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
