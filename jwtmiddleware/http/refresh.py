"""Sliding refresh: re-issue an access token on the way out when it is about to expire.

The plan is made while authenticating and carried out at ``http.response.start``, only if the
application answered below 400 and did not set or clear the access cookie itself (a logout).
A cookie token is renewed with ``Set-Cookie``; a header token comes back in
``REFRESHED_TOKEN_HEADER`` (listed in ``Access-Control-Expose-Headers``). Either way the
response gets ``Cache-Control: no-store``. Renewal never passes ``auth_time + MAX_SESSION_AGE``
(absolute timeout); an idle user simply lets the access token expire (idle timeout).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.issuer import REGISTERED, Issuer
from .cookies import CookiePolicy

if TYPE_CHECKING:
    from ..core.identity import Identity
    from ..core.settings import Settings

__all__ = ["RefreshPlan", "SlidingRefresh"]

Headers = list[tuple[str, str]]


class SlidingRefresh:
    """Decides whether a request's token should be renewed; built once per middleware."""

    def __init__(self, settings: Settings) -> None:
        threshold = settings.refresh_threshold
        signing = settings.keyset.signing_key() is not None
        #: Whether sliding refresh is on (a threshold is set and we hold a signing key).
        self.enabled = threshold is not None and signing
        self._threshold = threshold or 0.0
        self._ttl = settings.access_token_ttl
        self._max_age = settings.max_session_age
        self.issuer = Issuer(settings) if self.enabled else None
        self.cookies = CookiePolicy(settings)
        self.header = settings.refreshed_token_header

    def plan(self, identity: Identity, now: float) -> RefreshPlan | None:
        """A plan when the token has less than ``REFRESH_THRESHOLD`` left, else ``None``."""
        if not self.enabled or identity.source not in ("header", "cookie"):
            return None
        claims = identity.claims
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp - now >= self._threshold:
            return None
        start = claims.get("auth_time", claims.get("iat"))
        if not isinstance(start, int | float):
            return None  # without auth_time or iat the absolute timeout cannot be enforced
        if min(now + self._ttl, start + self._max_age) <= exp:
            return None  # the absolute timeout allows no longer token
        return RefreshPlan(self, identity, now)


class RefreshPlan:
    """A renewal to apply to one response."""

    __slots__ = ("_identity", "_now", "_owner")

    def __init__(self, owner: SlidingRefresh, identity: Identity, now: float) -> None:
        self._owner = owner
        self._identity = identity
        self._now = now

    def applies_to(self, status: int, headers: Headers) -> bool:
        """Only successful responses that leave the access cookie alone are renewed."""
        if status >= 400:
            return False
        cookies = self._owner.cookies
        return not any(
            k.lower() == "set-cookie" and cookies.sets_access_cookie(v) for k, v in headers
        )

    def apply(self, headers: Headers) -> Headers:
        """The response headers with the renewed token and ``Cache-Control: no-store``."""
        owner = self._owner
        assert owner.issuer is not None
        identity, now = self._identity, self._now
        claims = {k: v for k, v in identity.claims.items() if k not in REGISTERED}
        # A token without auth_time (not minted by login) gets its iat as the session start, so
        # renewing the renewed token cannot move the absolute timeout forward.
        claims.setdefault("auth_time", identity.claims.get("iat"))
        issued = owner.issuer.access_token(identity.subject or "", now=now, claims=claims)
        out = [(k, v) for k, v in headers if k.lower() != "cache-control"]
        out.append(("Cache-Control", "no-store"))
        if identity.source == "cookie":
            out.append(("Set-Cookie", owner.cookies.access(issued.token, issued.expires_at - now)))
            return out
        out.append((owner.header, issued.token))
        for index, (key, value) in enumerate(out):
            if key.lower() == "access-control-expose-headers":
                listed = {name.strip().lower() for name in value.split(",")}
                if owner.header.lower() not in listed:
                    out[index] = (key, f"{value}, {owner.header}")
                break
        else:
            out.append(("Access-Control-Expose-Headers", owner.header))
        return out
