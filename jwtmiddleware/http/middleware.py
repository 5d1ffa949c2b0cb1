"""What the ASGI and WSGI layers share: construction (:class:`MiddlewareCore`), ``Vary`` and
store resolution; refusals are rendered and reported by :mod:`._refusals`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ..core.errors import (
    ConfigurationError,
    InsufficientScope,
)
from ..telemetry import annotating, telemetry_for
from ..telemetry.events import AuthEvent
from .refusals import Responder, as_auth_error
from .status import store_status

if TYPE_CHECKING:
    from ..core.settings import Settings
    from ..keysets.publish import JWKSDocument
    from ..stores.base import Store
    from ..stores.mirror import Mirror
    from ..telemetry import Telemetry
    from .decision import Authenticator
    from .sources import RequestView

__all__ = [
    "IDENTITY_KEY",
    "MiddlewareCore",
    "Responder",
    "as_auth_error",
    "discover_jwks_url",
    "merge_vary",
    "published_jwks",
    "resolve_store",
    "store_mirror",
    "with_vary",
]

#: Where the I/O layers put the :class:`~jwtmiddleware.identity.Identity`.
IDENTITY_KEY = "jwtmiddleware.identity"

logger = logging.getLogger("jwtmiddleware")
#: The longest :meth:`MiddlewareCore.start` waits for the mirror's first load by default.
_START_WAIT = 30.0


def resolve_store(settings: Settings, store: Store | None) -> Store | None:
    """The store object for ``STORE``: an explicit object wins, then the URL, else none."""
    if store is not None:
        return store
    configured = settings.store
    if configured is None:
        return None
    if isinstance(configured, str):
        from ..stores import open_store

        return open_store(
            configured,
            timeout=settings.store_timeout,
            prefix=settings.store_prefix,
            min_replicas=settings.store_min_replicas,
        )
    from ..stores.base import Store as StoreType

    if not isinstance(configured, StoreType):
        raise ConfigurationError("STORE", "must be a store URL or a Store object")
    return configured


def discover_jwks_url(settings: Settings) -> str | None:
    """With ``JWTKS_DISCOVERY``, fetch ``ISSUER``'s OpenID configuration once, at start-up."""
    if not settings.jwks_discovery or settings.issuer is None:
        return None
    from ..keysets import KeyFetchError, discover_jwks_uri

    try:
        return discover_jwks_uri(
            settings.issuer,
            timeout=settings.jwks_timeout,
            max_bytes=settings.jwks_max_bytes,
            allow_http_loopback=settings.jwks_allow_http_loopback,
        )
    except KeyFetchError as exc:
        raise ConfigurationError(
            "JWKS_DISCOVERY", f"could not read {settings.issuer}'s OpenID configuration: {exc}"
        ) from exc


def published_jwks(settings: Settings) -> JWKSDocument | None:
    """The JWKS to serve at ``JWKS_PATH``: the public halves of asymmetric keys, if any."""
    if settings.jwks_path is None or not settings.keyset.public_jwks()["keys"]:
        return None
    from ..keysets.publish import JWKSDocument

    return JWKSDocument(settings, max_age=settings.jwks_max_age)


def store_mirror(
    settings: Settings, store: Store | None, clock: Callable[[], float]
) -> Mirror | None:
    """The store's revocation mirror under ``STORE_MAX_LAG`` (``None``: no store, the setting
    is ``0``, or a custom store that keeps no change log, which is then asked per request)."""
    if store is None or settings.store_max_lag <= 0:
        return None
    mirror = store.mirror(
        max_lag=settings.store_max_lag, timeout=settings.store_timeout, clock=clock
    )
    if mirror is None:
        logger.info("%r keeps no change log: it is asked on every request", store)
    return mirror


class MiddlewareCore:
    """Construction shared by the ASGI and WSGI middleware: everything decided once."""

    app: Any
    settings: Settings
    store: Store | None
    authenticator: Authenticator
    #: The store's revocation mirror in this process (``None``: asked per request, or no store).
    mirror: Mirror | None
    #: The published JWKS document, if any.
    jwks: JWKSDocument | None

    #: The metrics this middleware records to (``None``: off).
    telemetry: Telemetry | None
    _downstream: Any

    def _setup(
        self,
        settings: Settings | None,
        store: Store | None,
        clock: Callable[[], float],
        metrics: Any = None,
    ) -> None:
        from ..core.settings import Settings as SettingsType
        from .decision import Authenticator

        self.settings = settings if settings is not None else SettingsType.from_env()
        self.telemetry = telemetry_for(self.settings, metrics)
        if self.settings.otel_record_subject and (
            self.telemetry is None or self.telemetry.kind != "opentelemetry"
        ):
            raise ConfigurationError(
                "OTEL_RECORD_SUBJECT",
                'needs METRICS = "opentelemetry" (or a MeterProvider passed as metrics=)',
            )
        self.store = resolve_store(self.settings, store)
        if self.store is not None:
            from ..stores._checks import report_checks

            report_checks(self.store, self.settings.store_checks)
        # A store opened from the STORE URL is ours to close; a Store object is the caller's.
        self._owns_store = store is None and isinstance(self.settings.store, str)
        self.mirror = store_mirror(self.settings, self.store, clock)
        if self.mirror is not None and self.telemetry is not None:
            self.telemetry.watch_mirror(self.mirror)
        # A store object given here (not through STORE) must be consulted all the same.
        self.authenticator = Authenticator(
            self.settings,
            has_store=self.store is not None,
            jwks_url=discover_jwks_url(self.settings),
            mirror=self.mirror,
            telemetry=self.telemetry,
        )
        self._clock = clock
        self._responder = Responder(self.settings, self.authenticator.sources, self.telemetry)
        self._vary = self._responder.vary
        self.jwks = published_jwks(self.settings)
        self._jwks_path = self.settings.jwks_path if self.jwks is not None else None
        self._status_path = self.settings.status_path
        # The paths the middleware answers itself, checked first on every request (None when
        # there are none: one identity test then).
        own = tuple(p for p in (self._jwks_path, self._status_path) if p is not None)
        self._own_paths: tuple[str, ...] | None = own or None
        self._event_hook = cast("Callable[[AuthEvent], Any] | None", self.settings.event_hook)
        self._events = None
        if self._event_hook is not None or self.telemetry is not None:
            from ..telemetry.events import EventSink

            self._events = EventSink(self._event_hook, self.telemetry)
        # The application as the middleware calls it (with OTEL_RECORD_SUBJECT, the caller's
        # subject goes on the current span first).
        self._downstream = self.app
        if self.settings.otel_record_subject and self.telemetry is not None:
            self._downstream = annotating(self.app, self.telemetry)

    def _authz_event(self, error: Exception, view: RequestView) -> AuthEvent | None:
        """The ``authz_fail`` event of an ``insufficient_scope`` refusal, when events are
        recorded."""
        if not isinstance(error, InsufficientScope):
            return None
        claims = error.claims or {}
        subject, sid = claims.get("sub"), claims.get("sid")
        detail = {"resource": view.path, "scopes": list(error.scopes)}
        return AuthEvent(
            "authz_fail",
            subject if isinstance(subject, str) else None,
            sid if isinstance(sid, str) else None,
            detail,
            action="insufficient_scope",
        )

    # -- what the middleware owns: the mirror's follower and the store's connections ------------

    def start(self, timeout: float | None = None) -> bool:
        """Start the revocation mirror now and wait until its snapshot is loaded (or the first
        attempt failed), at most ``timeout`` seconds (default: 30). Without this call the
        mirror starts with the first request (ASGI servers call it through ``lifespan``).
        Return whether the mirror is fresh (true without a mirror)."""
        if self.mirror is None:
            return True
        return self.mirror.wait_ready(_START_WAIT if timeout is None else timeout)

    def close(self) -> None:
        """Stop the mirror and close the store's connections if the middleware opened the
        store (from the ``STORE`` URL); a store object passed in stays open."""
        if self.mirror is not None:
            self.mirror.stop()
        if self._owns_store and self.store is not None:
            self.store.close()

    async def aclose(self) -> None:
        """Async :meth:`close` (closes this event loop's Redis connections too)."""
        if self.mirror is not None:
            import anyio.to_thread

            await anyio.to_thread.run_sync(self.mirror.stop)
        if self._owns_store and self.store is not None:
            await self.store.aclose()

    def status(self) -> dict[str, Any]:
        """The store and mirror state, for health checks: ``{"store": ..., "mirror": ...}``
        (``mirror`` is ``None`` when requests ask the store directly). The store is named by
        its ``repr``, which hides passwords; errors are scrubbed of URL credentials."""
        return store_status(self.store, self.mirror)

    def ready(self) -> tuple[bool, dict[str, Any]]:
        """Whether requests can be decided now (``False`` while the revocation mirror is
        stale), and :meth:`status`."""
        mirror = self.mirror
        if mirror is not None and mirror.followed and not mirror.stopped:
            mirror.start()  # like a request would: a probe must not wait for one
        status = self.status()
        state = status.get("mirror")
        return (state is None or bool(state.get("fresh"))), status


def merge_vary(current: str, value: str) -> str:
    """``current`` ``Vary`` value with ``value``'s fields added (``*`` already covers all)."""
    present = {field.strip().lower() for field in current.split(",")}
    if "*" in present:
        return current
    missing = [f for f in value.split(", ") if f.lower() not in present]
    return ", ".join([current.strip(), *missing]) if missing else current


def with_vary(headers: list[tuple[str, str]], vary: str) -> list[tuple[str, str]]:
    """``headers`` (a new list) with ``vary`` merged into its ``Vary`` header or added."""
    out = list(headers)
    for index, (key, current) in enumerate(out):
        if key.lower() == "vary":
            out[index] = (key, merge_vary(current, vary))
            return out
    out.append(("Vary", vary))
    return out
