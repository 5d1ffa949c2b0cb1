"""Claim checks and an error handler, named by import string in the HTTP behaviour tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jwtmiddleware import ClaimCheckFailed, ErrorResponse, InsufficientScope, TokenMissing

__all__ = [
    "admins_only",
    "needs_department",
    "redirect_to_login",
    "tenant_is_acme",
    "trips_over_claims",
]


def tenant_is_acme(claims: Mapping[str, Any]) -> None:
    """Only tokens of the ``acme`` tenant."""
    if claims.get("tenant") != "acme":
        raise ClaimCheckFailed("tenant is not acme")


def needs_department(claims: Mapping[str, Any]) -> None:
    """A careless check: raises ``KeyError`` when the claim is missing."""
    if not claims["department"]:
        raise ClaimCheckFailed("no department")


def trips_over_claims(claims: Mapping[str, Any]) -> None:
    """A buggy check whose exception text carries every claim."""
    raise RuntimeError(f"cannot handle {dict(claims)!r}")


def admins_only(claims: Mapping[str, Any]) -> None:
    """Refuses with 403 ``insufficient_scope`` unless the token has the ``admin`` role."""
    if "admin" not in (claims.get("roles") or []):
        raise InsufficientScope("not an admin", scopes=("admin",))


def redirect_to_login(error: Exception, request: Any) -> ErrorResponse | None:
    """An ``ERROR_HANDLER``: browsers without credentials go to the login page."""
    if isinstance(error, TokenMissing):
        return ErrorResponse(303, (("location", f"/login?next={request.path}"),), b"")
    return None
