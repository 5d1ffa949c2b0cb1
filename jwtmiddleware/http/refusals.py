"""Refusals: rendered once per error class (RFC 6750, ``ERROR_HANDLER``) and reported once:
the log line (``LOG_REFUSALS``) and, with metrics, the count and the span's ``error.type``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ..core.errors import AuthenticationError, StoreUnavailable, TokenInvalid
from ..core.reasons import REASONS, reason_of
from ..telemetry import RefusalLog
from ..telemetry._log import REPORTED_ATTRIBUTE as _REPORTED
from .responses import ErrorResponse, render_error, render_store_unavailable

if TYPE_CHECKING:
    from ..core.settings import Settings
    from ..telemetry import Telemetry
    from .sources import RequestView, TokenSources

__all__ = ["Responder", "as_auth_error"]

logger = logging.getLogger("jwtmiddleware")
_REASONS = frozenset(REASONS)


def as_auth_error(exc: Exception) -> AuthenticationError | StoreUnavailable:
    """Map an exception escaping authentication to something renderable (never a 500)."""
    if isinstance(exc, AuthenticationError | StoreUnavailable):
        return exc
    logger.exception("unexpected error while authenticating; refusing the request")
    error = TokenInvalid(f"unexpected {type(exc).__name__}", code="internal_error")
    error.__cause__ = exc
    return error


class Responder:
    """Renders refusals, once per error class, and knows the ``Vary`` value. Every refusal
    is reported once here: its log line (``LOG_REFUSALS``) and, with metrics, its count and
    the current span's ``error.type``.

    :param telemetry: where refusals are counted (``None``: metrics off).
    """

    def __init__(
        self, settings: Settings, sources: TokenSources, telemetry: Telemetry | None = None
    ) -> None:
        self._realm = settings.realm
        self._handler = cast("Callable[..., Any] | None", settings.error_handler)
        self._cache: dict[type[Exception], ErrorResponse] = {}
        self._log = RefusalLog(settings.log_refusals)
        self._level = self._log.level
        # Counted inline (a refusal is one dictionary lookup and one C call more); only
        # OpenTelemetry annotates the current span.
        self._refused = None if telemetry is None else telemetry.counts.refused
        self._annotate = (
            telemetry.annotate_refusal
            if telemetry is not None and telemetry.kind == "opentelemetry"
            else None
        )
        self._record_subject = settings.otel_record_subject
        #: ``Vary`` value for responses of protected routes (``None``: nothing to vary on).
        self.vary: str | None = ", ".join(sources.names) or None

    def report(self, error: Exception, view: RequestView) -> str:
        """Log and count a refusal (without rendering it); return its reason."""
        code = getattr(error, "reason_code", None)
        reason = code if code in _REASONS else reason_of(error)
        if getattr(error, _REPORTED, False):  # a session endpoint's, logged and counted there
            return reason
        level = self._level
        if level is not None and (
            logger.isEnabledFor(level) or isinstance(error, StoreUnavailable)
        ):
            self._log(error, reason, view)
        refused = self._refused
        if refused is not None:
            refused[reason].add()
            if self._annotate is not None:
                self._annotate(reason, getattr(error, "claims", None), self._record_subject)
        return reason

    def response_for(self, error: Exception, view: RequestView) -> ErrorResponse:
        """The response refusing a request (reported by :meth:`report`); the error handler
        hook may replace it."""
        self.report(error, view)
        if self._handler is not None:
            try:
                custom: Any = self._handler(error, view)
            except Exception:  # a broken handler must not turn a refusal into a 500
                logger.exception("ERROR_HANDLER raised; using the default response")
                custom = None
            if isinstance(custom, ErrorResponse):
                return custom
            if custom is not None:
                logger.error("ERROR_HANDLER returned %r, not an ErrorResponse", type(custom))
        if isinstance(error, AuthenticationError) and error.scopes:
            return render_error(error, realm=self._realm)
        cached = self._cache.get(type(error))
        if cached is None:
            if isinstance(error, StoreUnavailable):
                cached = render_store_unavailable(error)
            else:
                assert isinstance(error, AuthenticationError)
                cached = render_error(error, realm=self._realm)
            self._cache[type(error)] = cached
        return cached
