"""Helpers of the login, refresh and sessions responses, shared by Flask and Quart.

They read nothing from a framework: the adapters pass in what they parsed from the request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import jwt

from jwtmiddleware.csrf import SAFE_METHODS
from jwtmiddleware.errors import InvalidRequest, TokenMissing

if TYPE_CHECKING:
    from jwtmiddleware.csrf import CSRFGuard
    from jwtmiddleware.lifecycle import TokenPair
    from jwtmiddleware.sources import RequestView
    from jwtmiddleware.stores.base import SessionInfo

__all__ = [
    "FORM",
    "NO_STORE",
    "REFRESH_FIELD",
    "body_refresh_token",
    "check_refresh_csrf",
    "pick_refresh_token",
    "session_items",
    "token_body",
]

#: Headers of every response carrying or clearing tokens (RFC 6749 §5.1).
NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
#: The JSON member or form field carrying a refresh token in the request body.
REFRESH_FIELD = "refresh_token"
#: The form content type, whose body may carry the CSRF and refresh token fields.
FORM = "application/x-www-form-urlencoded"


def token_body(
    pair: TokenPair, now: float, body: Mapping[str, Any] | None, *, tokens_in_body: bool
) -> dict[str, Any]:
    """The JSON body of a login or refresh: ``pair.body(now)`` plus ``body``'s members.

    Without ``tokens_in_body`` the access and refresh tokens stay in their ``HttpOnly``
    cookies only (browser clients); ``csrf_token`` and ``expires_in`` remain.
    """
    out = pair.body(now)
    if not tokens_in_body:
        del out["access_token"], out["refresh_token"]
    out.update(body or {})
    return out


def body_refresh_token(json_body: Any, form_values: Sequence[str]) -> Any:
    """The ``refresh_token`` member of a JSON object body, else the form field (or ``None``).

    :raises InvalidRequest: the form field given twice.
    """
    if isinstance(json_body, Mapping):
        return json_body.get(REFRESH_FIELD)
    if len(form_values) > 1:
        raise InvalidRequest("refresh_token given twice")
    return form_values[0] if form_values else None


def pick_refresh_token(cookie_values: Sequence[str], from_body: Any) -> tuple[str, str]:
    """``(token, source)`` from the refresh cookie or the body's ``refresh_token``.

    :raises InvalidRequest: the token in both places, twice, or not a string (400).
    :raises TokenMissing: no refresh token at all (401).
    """
    if from_body is not None and (not isinstance(from_body, str) or not from_body):
        raise InvalidRequest("refresh_token must be a non-empty string")
    cookies = [value for value in cookie_values if value]
    if len(cookies) > 1:
        raise InvalidRequest("the refresh cookie is present more than once")
    if cookies and from_body is not None:
        raise InvalidRequest("refresh token in the cookie and in the body")
    if cookies:
        return cookies[0], "cookie"
    if from_body is not None:
        return from_body, "body"
    raise TokenMissing("no refresh token")


def _csrf_claim(token: str) -> str | None:
    """The refresh token's ``csrf`` claim, read unverified only to compare it with the echoed
    value; ``SessionManager.refresh`` verifies the token right after."""
    try:
        claims: Any = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    value = claims.get("csrf") if isinstance(claims, dict) else None
    return value if isinstance(value, str) else None


def check_refresh_csrf(
    guard: CSRFGuard, view: RequestView, token: str, presented: str | None
) -> None:
    """CSRF proof for a refresh carried by the refresh cookie (the core checks access tokens).

    The same rules as for cookie access tokens: ``Sec-Fetch-Site``/``Origin`` must not name
    another site, and ``X-CSRF-Token`` (or the ``csrf_token`` form field) must echo the
    refresh token's ``csrf`` claim (which the CSRF cookie holds).
    """
    if not guard.enabled or view.method in SAFE_METHODS:
        return
    guard.check_origin(view)
    expected = _csrf_claim(token)
    if expected is None:
        return  # not a token we issued: verification refuses it
    guard.check_token({"csrf": expected}, presented)


def session_items(sessions: Iterable[SessionInfo], current: str | None) -> list[dict[str, Any]]:
    """The JSON of a sessions list: each session's fields (not the subject) and ``current``."""
    items = []
    for session in sessions:
        item = dataclasses.asdict(session)
        del item["subject"]
        item["current"] = session.session_id == current
        items.append(item)
    return items
