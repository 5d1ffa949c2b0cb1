"""Turn a fetched JWKS response into a validated key set and a cache lifetime (pure).

Keys that are not for us (``use: enc``, ``key_ops`` without ``verify``, another algorithm or key
type, HMAC secrets) are left out; private parameters and a ``status`` are dropped. Every
remaining key then goes through :func:`jwtmiddleware.keys.load_keyset`, the loader of configured
keys: one weak, malformed or ambiguous key (or a duplicate ``kid``) refuses the whole set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core import _json
from ..core._jwk import PRIVATE_MEMBERS
from ..core.errors import ConfigurationError
from ..core.keys import KeySet, family, load_keyset
from ._types import Headers, KeyFetchError, header_value

__all__ = ["MAX_KEYS", "cache_lifetime", "parse_jwks"]

#: A JWKS is a handful of keys; thousands of RSA keys would be a parsing DoS.
MAX_KEYS = 100


def cache_lifetime(headers: Headers, default: float, lowest: float, highest: float) -> float:
    """Seconds a response may be cached: ``max-age`` (minus ``Age``) clamped to the bounds;
    ``no-store``/``no-cache`` or a broken ``max-age`` give ``lowest``; none gives ``default``."""
    value = header_value(headers, "cache-control")
    if value is None:
        return default
    ttl: float | None = None
    for directive in value.lower().split(","):
        name, _, arg = directive.strip().partition("=")
        if name in ("no-store", "no-cache"):
            return lowest
        if name == "max-age":
            try:
                ttl = float(int(arg.strip().strip('"')))
            except ValueError:
                return lowest  # a broken header is not an excuse to cache for long
    if ttl is None:
        return default
    age = header_value(headers, "age")
    if age is not None and age.strip().isdigit():
        ttl -= int(age.strip())
    return min(max(ttl, lowest), highest)


def parse_jwks(
    status: int, body: bytes, algorithms: Sequence[str], max_bytes: int
) -> tuple[KeySet, dict[str, Any]]:
    """The key set and the usable public JWKS of a response, or :class:`KeyFetchError`."""
    if 300 <= status < 400:
        raise KeyFetchError(f"HTTP {status}: redirects are not followed")
    if status != 200:
        raise KeyFetchError(f"HTTP {status}")
    if len(body) > max_bytes:
        raise KeyFetchError(f"response over {max_bytes} bytes")
    try:
        document = _json.loads_strict(body)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise KeyFetchError(f"not valid JSON ({type(exc).__name__})") from exc
    jwks = _usable_keys(document, algorithms)
    try:
        keyset = load_keyset([jwks], algorithms)
    except ConfigurationError as exc:
        raise KeyFetchError(f"key set refused: {exc.message}") from exc
    return keyset, jwks


def _usable_keys(document: Any, algorithms: Sequence[str]) -> dict[str, Any]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeyFetchError("not a JWKS (no 'keys' list)")
    entries = document["keys"]
    if len(entries) > MAX_KEYS:
        raise KeyFetchError(f"more than {MAX_KEYS} keys")
    families = {family(a) for a in algorithms}
    usable = []
    for jwk in entries:
        if not isinstance(jwk, dict):
            raise KeyFetchError("a JWKS entry is not an object")
        if _skip(jwk, algorithms, families):
            continue
        # A published key never carries private material or a status of ours.
        usable.append({k: v for k, v in jwk.items() if k not in PRIVATE_MEMBERS | {"status"}})
    if not usable:
        raise KeyFetchError(f"no key for {', '.join(algorithms)} in the set")
    return {"keys": usable}


def _skip(jwk: dict[str, Any], algorithms: Sequence[str], families: set[str]) -> bool:
    """Keys that are not for us (encryption keys, other algorithms) are left out."""
    if jwk.get("use", "sig") != "sig":
        return True
    ops = jwk.get("key_ops")
    if isinstance(ops, list) and "verify" not in ops:
        return True
    alg = jwk.get("alg")
    if alg is not None and alg not in algorithms:
        return True
    kty = jwk.get("kty")
    return kty == "oct" or kty not in families
