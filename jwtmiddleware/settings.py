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
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from . import _coerce as c
from .errors import ConfigurationError

if TYPE_CHECKING:
    from .keys import KeySet

__all__ = ["ENV_PREFIX", "Settings"]

#: Prefix of the environment variables read by :meth:`Settings.from_env`.
ENV_PREFIX = "JWTMIDDLEWARE_"

_SOURCES = frozenset({"header", "cookie", "query"})
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 token (header and cookie names)
_MAX_LEEWAY = 300.0


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
    store: Any = None
    #: ``closed``: 503 when the store cannot answer; ``open``: let the request through.
    store_failure: Literal["closed", "open"] = "closed"
    #: Store connect/read timeout in seconds.
    store_timeout: float = 0.1
    #: Prefix of every key the store writes (Redis).
    store_prefix: str = "jwtmw:"

    _keyset: KeySet = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._normalise()
        self._validate()
        from .keys import build_keyset  # keys imports settings for typing only

        object.__setattr__(self, "_keyset", build_keyset(self))

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

    # -- validation ------------------------------------------------------------------------

    def _normalise(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name, conv in _CONVERTERS.items():
            put(name, conv(name.upper(), getattr(self, name)))

    def _validate(self) -> None:
        algs = self.algorithms
        if not algs:
            raise ConfigurationError("ALGORITHMS", "must list at least one algorithm")
        for alg in algs:
            if alg.lower() == "none":
                raise ConfigurationError("ALGORITHMS", "'none' is never accepted")
        if not 0 <= self.leeway <= _MAX_LEEWAY:
            raise ConfigurationError("LEEWAY", f"must be between 0 and {_MAX_LEEWAY:g} seconds")
        if not 512 <= self.max_token_bytes <= 1 << 20:
            raise ConfigurationError("MAX_TOKEN_BYTES", "must be between 512 and 1048576")
        if self.max_token_lifetime is not None and self.max_token_lifetime <= 0:
            raise ConfigurationError("MAX_TOKEN_LIFETIME", "must be positive (or None)")
        if not self.sources:
            raise ConfigurationError("SOURCES", "must list at least one of header, cookie, query")
        for source in self.sources:
            if source not in _SOURCES:
                raise ConfigurationError("SOURCES", f"unknown source {source!r}; use {_choices()}")
        if len(set(self.sources)) != len(self.sources):
            raise ConfigurationError("SOURCES", "lists a source twice")
        for name in ("header_name", "header_scheme", "cookie_name", "query_parameter"):
            if not _TOKEN.match(getattr(self, name)):
                raise ConfigurationError(name.upper(), "must be a non-empty HTTP token")
        if '"' in self.realm or "\\" in self.realm or not self.realm.isprintable():
            raise ConfigurationError("REALM", "must be printable, without quotes or backslashes")
        for name in ("exempt_paths", "optional_paths"):
            for path in getattr(self, name):
                if not path.startswith("/"):
                    raise ConfigurationError(name.upper(), f"path {path!r} must start with '/'")
        if not 0 < self.access_token_ttl <= (self.max_token_lifetime or float("inf")):
            raise ConfigurationError(
                "ACCESS_TOKEN_TTL", "must be positive and not above MAX_TOKEN_LIFETIME"
            )
        if self.store_failure not in ("closed", "open"):
            raise ConfigurationError("STORE_FAILURE", "must be 'closed' or 'open'")
        if not 0 < self.store_timeout <= 30:
            raise ConfigurationError("STORE_TIMEOUT", "must be between 0 and 30 seconds")


def _choices() -> str:
    return ", ".join(sorted(_SOURCES))


def _secret(setting: str, value: Any) -> str | bytes | None:
    if value is None or isinstance(value, str | bytes):
        return value
    raise ConfigurationError(setting, "must be a string or bytes")


def _audience(setting: str, value: Any) -> tuple[str, ...]:
    return c.to_str_tuple(setting, value)


def _store(setting: str, value: Any) -> Any:
    if value == "":
        return None
    return value


def _lower_str(setting: str, value: Any) -> str:
    return c.to_str(setting, value).strip().lower()


def _token_type(setting: str, value: Any) -> str | None:
    text = c.to_optional_str(setting, value)
    if text is None or text.strip().lower() in {"", "none", "jwt"}:
        return None
    return text


_CONVERTERS: dict[str, Callable[[str, Any], Any]] = {
    "secret": _secret,
    "keys": c.to_keys,
    "algorithms": c.to_str_tuple,
    "issuer": c.to_optional_str,
    "audience": _audience,
    "leeway": c.to_float,
    "required_claims": c.to_str_tuple,
    "token_type": _token_type,
    "max_token_bytes": c.to_int,
    "max_token_lifetime": c.to_optional_float,
    "sources": lambda s, v: tuple(x.lower() for x in c.to_str_tuple(s, v)),
    "header_name": c.to_str,
    "header_scheme": c.to_str,
    "cookie_name": c.to_str,
    "query_parameter": c.to_str,
    "required": c.to_bool,
    "exempt_paths": c.to_str_tuple,
    "optional_paths": c.to_str_tuple,
    "realm": c.to_str,
    "claim_checks": c.to_callables,
    "scope_claim": c.to_str,
    "required_scopes": c.to_str_tuple,
    "error_handler": c.to_callable,
    "access_token_ttl": c.to_float,
    "store": _store,
    "store_failure": _lower_str,
    "store_timeout": c.to_float,
    "store_prefix": c.to_str,
}

_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(Settings) if f.init)
assert set(_CONVERTERS) == _FIELD_NAMES, "every setting needs a converter"


def _field_for(key: str) -> str:
    name = key.lower()
    if name in _FIELD_NAMES:
        return name
    valid = sorted(n.upper() for n in _FIELD_NAMES)
    close = difflib.get_close_matches(key.upper(), valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}"
    raise ConfigurationError(key, f"unknown setting{hint}")
