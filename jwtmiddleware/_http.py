"""What the ASGI and WSGI layers share: error rendering, ``Vary`` and store resolution."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from .errors import AuthenticationError, ConfigurationError, StoreUnavailable, TokenInvalid
from .responses import ErrorResponse, render_error, render_store_unavailable

if TYPE_CHECKING:
    from .flow import Authenticator
    from .jwks import JWKSDocument
    from .settings import Settings
    from .sources import RequestView, TokenSources
    from .stores.base import Store
    from .stores.mirror import Mirror

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
        from .stores import open_store

        return open_store(
            configured,
            timeout=settings.store_timeout,
            prefix=settings.store_prefix,
            min_replicas=settings.store_min_replicas,
        )
    from .stores.base import Store as StoreType

    if not isinstance(configured, StoreType):
        raise ConfigurationError("STORE", "must be a store URL or a Store object")
    return configured


def discover_jwks_url(settings: Settings) -> str | None:
    """With ``JWTKS_DISCOVERY``, fetch ``ISSUER``'s OpenID configuration once, at start-up."""
    if not settings.jwks_discovery or settings.issuer is None:
        return None
    from .remote_keys import KeyFetchError, discover_jwks_uri

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
    from .jwks import JWKSDocument

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

    def _setup(
        self, settings: Settings | None, store: Store | None, clock: Callable[[], float]
    ) -> None:
        from .flow import Authenticator
        from .settings import Settings as SettingsType

        self.settings = settings if settings is not None else SettingsType.from_env()
        self.store = resolve_store(self.settings, store)
        if self.store is not None:
            from .stores._checks import report_checks

            report_checks(self.store, self.settings.store_checks)
        # A store opened from the STORE URL is ours to close; a Store object is the caller's.
        self._owns_store = store is None and isinstance(self.settings.store, str)
        self.mirror = store_mirror(self.settings, self.store, clock)
        # A store object given here (not through STORE) must be consulted all the same.
        self.authenticator = Authenticator(
            self.settings,
            has_store=self.store is not None,
            jwks_url=discover_jwks_url(self.settings),
            mirror=self.mirror,
        )
        self._clock = clock
        self._responder = Responder(self.settings, self.authenticator.sources)
        self._vary = self._responder.vary
        self.jwks = published_jwks(self.settings)
        self._jwks_path = self.settings.jwks_path if self.jwks is not None else None

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
        (``mirror`` is ``None`` when requests ask the store directly)."""
        if self.store is None:
            return {"store": None, "mirror": None}
        status: dict[str, Any] = dict(self.store.status())
        status["mirror"] = None if self.mirror is None else self.mirror.status()
        return status


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


def as_auth_error(exc: Exception) -> AuthenticationError | StoreUnavailable:
    """Map an exception escaping authentication to something renderable (never a 500)."""
    if isinstance(exc, AuthenticationError | StoreUnavailable):
        return exc
    logger.exception("unexpected error while authenticating; refusing the request")
    error = TokenInvalid(f"unexpected {type(exc).__name__}")
    error.__cause__ = exc
    return error


class Responder:
    """Renders refusals, once per error class, and knows the ``Vary`` value."""

    def __init__(self, settings: Settings, sources: TokenSources) -> None:
        self._realm = settings.realm
        self._handler = cast("Callable[..., Any] | None", settings.error_handler)
        self._cache: dict[type[Exception], ErrorResponse] = {}
        #: ``Vary`` value for responses of protected routes (``None``: nothing to vary on).
        self.vary: str | None = ", ".join(sources.names) or None

    def response_for(self, error: Exception, view: RequestView) -> ErrorResponse:
        """The response refusing a request; the error handler hook may replace it."""
        if isinstance(error, AuthenticationError):
            logger.info("authentication refused: %s (%s)", type(error).__name__, error.reason)
        else:
            logger.warning("authentication store unavailable: %s", error)
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
