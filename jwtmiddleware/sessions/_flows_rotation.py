"""Refresh-token rotation with reuse detection (RFC 9700 §4.14.2), the refresh flow of
:class:`~jwtmiddleware.sessions.lifecycle.SessionFlows`.

Every refresh consumes the presented refresh token atomically and issues a new pair in the same
session. A consumed token presented again revokes the session and emits ``authn_token_reuse``,
except within ``REFRESH_REUSE_GRACE`` seconds, when concurrent refreshes of one token (two tabs,
a retry) receive the same successor instead of a lockout: the winner publishes its pair under
the token's successor key, and a replay within the window waits for it and gets it.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import asdict
from typing import Any

from ..core import _json
from ..core.effects import Effect, Sleep, StoreCall
from ..core.errors import ClaimCheckFailed, RefreshTokenReused, TokenExpired, TokenRevoked
from ..core.issuer import new_token_id
from ..http.csrf import CSRFGuard
from ..stores._changes import GENERATION_CLAIM
from ..stores.base import RevocationQuery
from ..telemetry.events import AuthEvent
from ._flows_base import Flow, FlowsBase, refuse_disabled
from ._records import TokenPair

__all__ = ["RotationFlows"]

_POLL_INTERVAL = 0.01


def _rotation_keys(claims: Mapping[str, Any]) -> tuple[str, str]:
    """The store keys of a refresh token's rotation: its "used" marker and its successor."""
    issuer, jti = claims.get("iss") or "", claims["jti"]
    return f"rt-used:{issuer}:{jti}", f"rt-next:{issuer}:{jti}"


def _successor_json(pair: TokenPair, now: float) -> str:
    return _json.dumps({"at": now, "pair": asdict(pair)}).decode("utf-8")


def _successor_from_json(text: str) -> tuple[float, TokenPair]:
    data = _json.loads(text.encode("utf-8"))
    pair = data["pair"]
    pair["set_cookies"] = tuple(pair["set_cookies"])
    return float(data["at"]), TokenPair(**pair)


class RotationFlows(FlowsBase):
    """The refresh flow: verify, check the session is live, consume, mint or detect reuse."""

    def refresh(
        self, refresh_token: str, *, now: float, from_cookie: bool = False, csrf: str | None = None
    ) -> Flow:
        """Rotate a refresh token: consume it and mint the next pair of the same session.

        The token is verified first; nothing is read from it before. A token from the refresh
        cookie (which browsers attach by themselves, also to requests other sites start) then
        needs CSRF proof under ``CSRF_PROTECTION``, as cookie access tokens do: ``csrf`` (the
        value echoed in ``X-CSRF-Token`` or the ``csrf_token`` form field) must equal the
        token's ``csrf`` claim, compared in constant time before anything is consumed; a token
        without that claim is refused. The ``Origin``/``Sec-Fetch-Site`` half of the proof
        needs the request: :meth:`SessionEndpoints.refresh
        <jwtmiddleware.endpoints.SessionEndpoints.refresh>` checks it.

        :param from_cookie: whether the token came from the refresh cookie.
        :param csrf: the CSRF value the request presented (``None``: none).
        :raises TokenInvalid: a bad, expired, revoked or reused refresh token.
        :raises CSRFError: a cookie token without matching CSRF proof (403).
        """
        claims = self._refresh_verifier.verify(refresh_token, now).claims
        if from_cookie and self.settings.csrf_protection:
            CSRFGuard.check_token(claims, csrf)
        auth_time = yield from self._auth_time(claims, now)
        generation = claims.get(GENERATION_CLAIM)
        generation = generation if isinstance(generation, int) else None
        yield from self._refuse_dead(claims, generation, now)
        used_key, successor_key = _rotation_keys(claims)
        expires = float(claims["exp"]) + self.settings.leeway
        won = yield StoreCall("consume_once", (used_key,), {"expires_at": expires, "now": now})
        if won:
            return (yield from self._rotate(claims, auth_time, generation, successor_key, now))
        return (yield from self._replayed(claims, successor_key, now))

    def _auth_time(self, claims: Mapping[str, Any], now: float) -> Generator[Effect, Any, float]:
        """The session's ``auth_time``; a session older than ``MAX_SESSION_AGE`` is refused."""
        auth_time = claims.get("auth_time")
        if not isinstance(auth_time, int | float):
            raise ClaimCheckFailed("refresh token has no auth_time")
        if now >= auth_time + self.settings.max_session_age:
            reason = {"reason": "max_session_age"}
            yield from self.notify(
                AuthEvent("session_expired", claims["sub"], claims["sid"], reason, action="refresh")
            )
            raise TokenExpired("the session reached MAX_SESSION_AGE")
        return auth_time

    def _refuse_dead(
        self, claims: Mapping[str, Any], generation: int | None, now: float
    ) -> Generator[Effect, Any, None]:
        """Refuse the token of a disabled subject, a revoked token and an ended session."""
        subject, sid = claims["sub"], claims["sid"]
        yield from refuse_disabled(subject, now)
        query = RevocationQuery(claims.get("iss") or "", subject, claims["jti"], sid,
                                float(claims.get("iat", 0)), generation)  # fmt: skip
        if (yield StoreCall("is_revoked", (query,), {"now": now})):
            raise TokenRevoked("refresh token or session revoked", code="revoked")
        if (yield StoreCall("get_session", (sid,), {"now": now})) is None:
            raise TokenRevoked("the session has ended", code="revoked_session")

    def _rotate(
        self, claims: Mapping[str, Any], auth_time: float, generation: int | None,
        successor_key: str, now: float,
    ) -> Generator[Effect, Any, TokenPair]:  # fmt: skip
        """The refresh that consumed the token: mint the successor pair and publish it for the
        grace window."""
        subject, sid = claims["sub"], claims["sid"]
        csrf = claims.get("csrf")
        pair = self.pair(subject, now=now, session_id=sid, auth_time=auth_time,
                         csrf=csrf if isinstance(csrf, str) else new_token_id(),
                         claims=claims, generation=generation)  # fmt: skip
        grace = self.settings.refresh_reuse_grace
        if grace > 0:
            yield StoreCall("put_value", (successor_key, _successor_json(pair, now)),
                            {"expires_at": now + grace, "now": now})  # fmt: skip
        yield StoreCall("touch_session", (sid,), {"now": now})
        yield from self.notify(AuthEvent("session_renewed", subject, sid, action="refresh"))
        return pair

    def _replayed(
        self, claims: Mapping[str, Any], successor_key: str, now: float
    ) -> Generator[Effect, Any, TokenPair]:
        """A token already consumed: the published successor within the grace window, else
        reuse, which revokes the session."""
        subject, sid, jti = claims["sub"], claims["sid"], claims["jti"]
        grace = self.settings.refresh_reuse_grace
        if grace > 0:
            successor = yield from self._successor(successor_key, now, grace)
            if successor is not None:
                # A replay within the grace window gets the live pair (two tabs, a retry),
                # and is reported all the same: it may be a thief racing the user.
                yield from self.notify(AuthEvent("authn_token_reuse", subject, sid,
                                                 {"jti": jti, "within_grace": True},
                                                 action="refresh_token_reused"))  # fmt: skip
                return successor
        yield StoreCall("revoke_session", (sid,), {"now": now, "expires_at": now + self.keep})
        yield from self.notify(AuthEvent("authn_token_reuse", subject, sid,
                                         {"jti": jti, "within_grace": False},
                                         action="refresh_token_reused"))  # fmt: skip
        raise RefreshTokenReused(
            "refresh token reuse detected; the session was revoked", code="refresh_reuse"
        )

    def _successor(
        self, key: str, now: float, grace: float
    ) -> Generator[Effect, Any, TokenPair | None]:
        """The pair a concurrent refresh of the same token published, if it did so within the
        grace window; waits for it at most twice ``STORE_TIMEOUT`` (the winner's two store
        calls), then gives up: the replay is treated as reuse."""
        polls = max(1, int(2 * self.settings.store_timeout / _POLL_INTERVAL) + 1)
        for _ in range(polls):
            stored = yield StoreCall("get_value", (key,), {"now": now})
            if stored is not None:
                # The window is judged by our clock, not by the backend's expiry (Redis
                # expires keys by its own clock, which a frozen or skewed clock does not move).
                rotated_at, successor = _successor_from_json(stored)
                return successor if now - rotated_at < grace else None
            yield Sleep(_POLL_INTERVAL)
        return None
