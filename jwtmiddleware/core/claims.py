"""Claim checks: the built-ins and the contract for custom ones.

A claim check is any callable ``check(claims) -> None`` that raises
:class:`~jwtmiddleware.errors.ClaimCheckFailed` (401) or
:class:`~jwtmiddleware.errors.InsufficientScope` (403) to refuse a token. Configure them in
``CLAIM_CHECKS`` (callables or import strings); they run after the signature and the registered
claims were verified, before any store lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import ClaimCheckFailed, InsufficientScope

__all__ = ["ClaimCheck", "parse_scopes", "require_claims", "require_scopes"]

#: The type of a claim check.
ClaimCheck = Callable[[Mapping[str, Any]], None]


def parse_scopes(claims: Mapping[str, Any], claim: str = "scope") -> frozenset[str]:
    """Scopes from a space-separated string (RFC 8693/9068) or a list of strings."""
    value = claims.get(claim)
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise ClaimCheckFailed(f"{claim} must be a string or a list of strings")


def require_scopes(*scopes: str, claim: str = "scope") -> ClaimCheck:
    """A check refusing tokens (403 ``insufficient_scope``) that lack any of ``scopes``."""
    needed = frozenset(scopes)

    def check(claims: Mapping[str, Any]) -> None:
        if not needed <= parse_scopes(claims, claim):
            raise InsufficientScope("missing scope", scopes=tuple(sorted(needed)))

    return check


def require_claims(_claims: Mapping[str, Any] | None = None, /, **expected: Any) -> ClaimCheck:
    """A check refusing tokens whose claims do not equal ``expected`` exactly.

    ``require_claims(tenant="acme")``; a list value in the token (``roles: [...]``) passes when it
    contains the expected value.
    """
    wanted = dict(_claims or {}, **expected)

    def check(claims: Mapping[str, Any]) -> None:
        for name, value in wanted.items():
            actual = claims.get(name)
            if actual == value and type(actual) is type(value):
                continue
            if isinstance(actual, list) and not isinstance(value, list) and value in actual:
                continue
            raise ClaimCheckFailed(f"claim {name} does not match")

    return check


def run_checks(checks: Iterable[ClaimCheck], claims: Mapping[str, Any]) -> None:
    """Run custom checks; an unexpected exception in a check refuses the token (fail closed)."""
    for check in checks:
        try:
            check(claims)
        except (ClaimCheckFailed, InsufficientScope):
            raise
        except Exception as exc:
            raise ClaimCheckFailed(f"claim check {check!r} raised {type(exc).__name__}") from exc
