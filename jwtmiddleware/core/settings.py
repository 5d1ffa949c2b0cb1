"""Every setting of jwtmiddleware in one frozen, keyword-only dataclass.

Frameworks keep settings as an UPPER_CASE mapping (``app.config["JWTMIDDLEWARE"]``, Django's
``settings.JWTMIDDLEWARE``); :meth:`Settings.from_mapping` reads that shape and
:meth:`Settings.from_env` reads ``JWTMIDDLEWARE_<KEY>`` variables. Everything is validated when
the object is built, so a bad setting fails at start-up with a :class:`ConfigurationError`
naming it, never on the first request.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from .errors import ConfigurationError

if TYPE_CHECKING:
    from .keys import KeySet

__all__ = ["ENV_PREFIX", "Settings"]

#: Prefix of the environment variables read by :meth:`Settings.from_env`.
ENV_PREFIX = "JWTMIDDLEWARE_"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Configuration of the verifier and the middleware; see the README's settings table.

    Build it directly (``Settings(secret=..., algorithms=["HS256"])``), from a framework's
    UPPER_CASE mapping with :meth:`from_mapping`, or from the environment with :meth:`from_env`.
    Secrets and keys never appear in ``repr``.
    """

    #: HMAC secret (at least as long as the hash output: 32 bytes for HS256).
    secret: str | bytes | None = dataclasses.field(default=None, repr=False)
    #: Key material: PEM texts, JWK dicts, a JWKS, or file paths (see README).
    keys: Sequence[Any] = dataclasses.field(default=(), repr=False)
    #: Verify with the keys published at this JWKS URL (``https``), fetched and cached.
    jwks_url: str | None = None
    #: Find the JWKS URL through ``ISSUER`` + ``/.well-known/openid-configuration``.
    jwks_discovery: bool = False
    #: Seconds a fetched JWKS is fresh without ``Cache-Control: max-age``.
    jwks_cache_ttl: float = 300.0
    #: At most one refetch per this many seconds for an unknown ``kid``.
    jwks_refetch_cooldown: float = 30.0
    #: Seconds past expiry the last good JWKS keeps verifying while fetches fail.
    jwks_max_stale: float = 86400.0
    #: Largest JWKS response accepted, in bytes.
    jwks_max_bytes: int = 512 * 1024
    #: Overall time limit of one JWKS fetch, in seconds.
    jwks_timeout: float = 5.0
    #: Allow ``http://`` JWKS URLs on loopback addresses (tests only).
    jwks_allow_http_loopback: bool = False
    #: Where the middleware publishes the public signing keys (asymmetric keys only);
    #: ``None`` publishes nothing.
    jwks_path: str | None = "/.well-known/jwks.json"
    #: ``Cache-Control: max-age`` of the published JWKS.
    jwks_max_age: int = 300
    #: Accepted algorithms; the token header can only choose among these.
    algorithms: Sequence[str] = ("HS256",)
    #: Expected ``iss`` (exact match); ``None`` skips the check.
    issuer: str | None = None
    #: Accepted audiences; the token's ``aud`` must contain one of them.
    audience: Sequence[str] = ()
    #: Clock skew tolerated for ``exp``/``nbf``/``iat``, in seconds (0 to 300).
    leeway: float = 30.0
    #: Claims every token must carry.
    required_claims: Sequence[str] = ("exp",)
    #: Expected ``typ`` header (RFC 9068 ``at+jwt``); ``None`` accepts ``JWT`` or no ``typ``.
    token_type: str | None = "at+jwt"  # noqa: S105 - a media type, not a password
    #: Longest token accepted, in bytes, checked before any decoding.
    max_token_bytes: int = 8192
    #: Verified tokens remembered (a repeat skips signature and parsing); 0 disables.
    verified_cache_size: int = 10_000
    #: Longest accepted ``exp - iat`` (or ``exp - now``), in seconds; ``None`` disables.
    max_token_lifetime: float | None = 86400.0
    #: Where to look for the token, in order: ``header``, ``cookie``, ``query``.
    sources: Sequence[str] = ("header", "cookie")
    #: Header carrying ``<scheme> <token>``.
    header_name: str = "Authorization"
    #: Authorization scheme (compared case-insensitively).
    header_scheme: str = "Bearer"
    #: Cookie carrying the access token.
    cookie_name: str = "access_token"
    #: Query parameter carrying the token (only read when ``query`` is in ``sources``).
    query_parameter: str = "access_token"
    #: Whether requests need a valid token unless their path is exempt or optional.
    required: bool = True
    #: Paths that skip authentication entirely (``/health``, or a prefix like ``/static/*``).
    exempt_paths: Sequence[str] = ()
    #: Paths where a token is verified if present but not required.
    optional_paths: Sequence[str] = ()
    #: ``realm`` in ``WWW-Authenticate``.
    realm: str = "api"
    #: Extra checks ``(claims) -> None`` that raise ``ClaimCheckFailed`` (import strings ok).
    claim_checks: Sequence[Callable[..., Any] | str] = ()
    #: Claim holding the token's scopes (space-separated string or list).
    scope_claim: str = "scope"
    #: Scopes every authenticated request needs (403 ``insufficient_scope`` otherwise).
    required_scopes: Sequence[str] = ()
    #: ``(error, request) -> ErrorResponse`` to render errors differently (import string ok).
    error_handler: Callable[..., Any] | str | None = None
    #: Lifetime of access tokens minted by :class:`~jwtmiddleware.issuer.Issuer`, in seconds.
    access_token_ttl: float = 900.0
    #: Revocation/session store URL (``memory://``, ``sqlite:///path``, ``redis://``) or object.
    store: Any = dataclasses.field(default=None, repr=False)  # a URL may hold a password
    #: ``closed``: 503 when the store cannot answer; ``open``: let the request through.
    store_failure: Literal["closed", "open"] = "closed"
    #: Store connect/read timeout in seconds.
    store_timeout: float = 0.1
    #: How stale, in seconds, a worker's mirror of the store's revocations may be: a revocation
    #: made anywhere takes effect everywhere within it. ``0``: no mirror, ask the store on every
    #: request.
    store_max_lag: float = 1.0
    #: Redis replicas every revocation must reach (``WAIT``) before it counts as written; fewer
    #: is a ``StoreUnavailable`` for the writer. ``1`` is recommended with Sentinel.
    store_min_replicas: int = 0
    #: Start-up checks of the store (reachable; Redis: eviction policy, persistence; SQLite:
    #: writable): ``"warn"`` logs what is found, ``"fail"`` also refuses to start on an error,
    #: ``"off"`` skips them.
    store_checks: Literal["warn", "fail", "off"] = "warn"
    #: Prefix of every key the store writes (Redis).
    store_prefix: str = "jwtmw:"

    # -- sessions: issuing, sliding refresh, rotation ----------------------------------------
    #: Lifetime of refresh tokens, in seconds (14 days).
    refresh_token_ttl: float = 14 * 86400.0
    #: Re-issue an access token on the way out when it has less than this left; ``None``: off.
    refresh_threshold: float | None = None
    #: Absolute session timeout from ``auth_time``: no refresh or rotation past it (30 days).
    max_session_age: float = 30 * 86400.0
    #: Seconds in which a rotated refresh token presented again gets the same successor.
    refresh_reuse_grace: float = 10.0
    #: Response header carrying a re-issued header token.
    refreshed_token_header: str = "X-Refreshed-Token"  # noqa: S105 - a header name
    #: Most live sessions one subject may have; ``None``: unlimited.
    max_sessions_per_subject: int | None = None
    #: ``evict_oldest`` or ``deny_new`` when ``MAX_SESSIONS_PER_SUBJECT`` is reached.
    session_limit_policy: Literal["evict_oldest", "deny_new"] = "evict_oldest"
    #: A new login ends every other session of the subject.
    single_session: bool = False
    #: ``(event) -> None`` called on session events (import string ok).
    event_hook: Callable[..., Any] | str | None = None

    # -- cookies and CSRF -------------------------------------------------------------------
    #: ``Secure`` attribute of the token cookies (turn off only for plain-http development).
    cookie_secure: bool = True
    #: ``HttpOnly`` attribute of the token cookies.
    cookie_httponly: bool = True
    #: ``SameSite`` attribute: ``Lax``, ``Strict`` or ``None`` (``None`` needs ``Secure``).
    cookie_samesite: str = "Lax"
    #: ``Path`` of the access-token cookie.
    cookie_path: str = "/"
    #: ``Domain`` of the cookies; ``None`` keeps them host-only.
    cookie_domain: str | None = None
    #: Prefix cookie names with ``__Host-`` (or ``__Secure-``) when the attributes allow it.
    cookie_name_prefix: bool = True
    #: Cookie carrying the refresh token.
    refresh_cookie_name: str = "refresh_token"
    #: ``Path`` of the refresh cookie: your refresh endpoint, so it is sent nowhere else.
    refresh_cookie_path: str = "/auth/refresh"
    #: Require CSRF proof for unsafe methods when the token came from a cookie.
    csrf_protection: bool = True
    #: Readable cookie holding the CSRF token for scripts to echo.
    csrf_cookie_name: str = "csrf_token"
    #: Header echoing the CSRF token.
    csrf_header_name: str = "X-CSRF-Token"
    #: Form field echoing the CSRF token (``application/x-www-form-urlencoded`` bodies).
    csrf_field_name: str = "csrf_token"
    #: Other origins allowed to send cookie-authenticated unsafe requests: full origins
    #: (scheme, host, optional port) such as ``https://app.example``.
    csrf_trusted_origins: Sequence[str] = ()

    # -- one-time tokens --------------------------------------------------------------------
    #: Path patterns accepting only one-time tokens, mapped to their purpose.
    one_time_paths: Mapping[str, str] | Sequence[tuple[str, str]] = ()
    #: Default lifetime of one-time tokens, in seconds.
    one_time_token_ttl: float = 60.0

    # -- operating it -----------------------------------------------------------------------
    #: Level of the one log line per refused request (logger ``jwtmiddleware``): ``DEBUG``,
    #: ``INFO``, ``WARNING``, ``ERROR`` or ``CRITICAL``; ``None`` writes none.
    log_refusals: str | None = "INFO"
    #: ``"prometheus"`` or ``"opentelemetry"``: record decisions, cache, store, mirror, JWKS
    #: and session metrics (needs the matching extra); ``None``: no metrics.
    metrics: Literal["prometheus", "opentelemetry"] | None = None
    #: With OpenTelemetry: put the caller's subject in the current span's ``enduser.id``
    #: (personal data: off unless asked for).
    otel_record_subject: bool = False
    #: Path answering the store and mirror state as JSON without a token (200, or 503 while
    #: the mirror is stale): a readiness probe. ``None``: not served.
    status_path: str | None = None

    _keyset: KeySet = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from ._validate import CONVERTERS, validate
        from .keys import build_keyset

        for name, convert in CONVERTERS.items():
            object.__setattr__(self, name, convert(name.upper(), getattr(self, name)))
        validate(self)
        object.__setattr__(self, "_keyset", build_keyset(self))

    def cookie_name_for(self, name: str, path: str) -> str:
        """The name a cookie is set and read under: ``__Host-``/``__Secure-`` prefixed when
        ``COOKIE_NAME_PREFIX`` is on and ``Secure`` (and, for ``__Host-``, ``Path=/`` and no
        ``Domain``) allow it."""
        if not self.cookie_name_prefix or not self.cookie_secure:
            return name
        if path == "/" and self.cookie_domain is None:
            return "__Host-" + name
        return "__Secure-" + name

    @property
    def access_cookie_name(self) -> str:
        """The access-token cookie's name on the wire."""
        return self.cookie_name_for(self.cookie_name, self.cookie_path)

    @property
    def keyset(self) -> KeySet:
        """The validated, prepared keys (built once, when the settings were)."""
        return self._keyset

    # -- construction helpers -------------------------------------------------------------

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], **overrides: Any) -> Settings:
        """Build settings from an UPPER_CASE mapping, e.g. ``app.config["JWTMIDDLEWARE"]``.

        Unknown keys raise :class:`ConfigurationError` naming the closest valid key; callables
        may be given as import strings (``"myapp.checks:tenant_check"``).
        """
        kwargs: dict[str, Any] = {}
        for key, value in mapping.items():
            kwargs[_field_for(key)] = value
        kwargs.update(overrides)
        return cls(**kwargs)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, prefix: str = ENV_PREFIX, **overrides: Any
    ) -> Settings:
        """Build settings from ``JWTMIDDLEWARE_<KEY>`` environment variables.

        Lists are comma-separated; ``KEYS`` may also be a JWKS JSON document.
        """
        environ = os.environ if environ is None else environ
        mapping = {
            name[len(prefix) :]: value for name, value in environ.items() if name.startswith(prefix)
        }
        return cls.from_mapping(mapping, **overrides)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _field_for(key: str) -> str:
    name = key.lower()
    if name in _FIELD_NAMES:
        return name
    valid = sorted(n.upper() for n in _FIELD_NAMES)
    close = difflib.get_close_matches(key.upper(), valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}"
    raise ConfigurationError(key, f"unknown setting{hint}")


_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(Settings) if f.init)
