"""A user's whole session, decided once (sans-IO): login, refresh with rotation, logout.

Each operation is a generator yielding :mod:`~jwtmiddleware.effects` for the store, so
:class:`~jwtmiddleware.manager.SessionManager` can drive it synchronously or asynchronously.

Refresh-token rotation with reuse detection (RFC 9700 §4.14.2): every refresh consumes the
presented refresh token atomically and issues a new pair in the same session. A consumed token
presented again revokes the session and emits ``authn_token_reuse``, except within
``REFRESH_REUSE_GRACE`` seconds, when concurrent refreshes of one token (two tabs, a retry)
receive the same successor instead of a lockout.

Events carry the OWASP logging vocabulary (:mod:`jwtmiddleware.events`); a flow yields them as
:class:`~jwtmiddleware.effects.Notify` effects, so an async ``EVENT_HOOK`` is awaited by the
async driver.

:class:`SessionFlows` is put together from parts, one module each in this package: the shared
state and minting (``_flows_base``), the refresh with rotation (``_flows_rotation``), and
logout, logout everywhere and disabled accounts (``_flows_ending``); login is here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..core.effects import StoreCall
from ..core.errors import SessionLimitReached
from ..core.issuer import new_token_id
from ..stores.base import SessionInfo
from ..telemetry.events import AuthEvent
from ._flows_base import Flow as Flow  # re-exported
from ._flows_base import refuse_disabled
from ._flows_ending import EndingFlows
from ._flows_rotation import RotationFlows
from ._records import RequestInfo, TokenPair

__all__ = ["AuthEvent", "RequestInfo", "SessionFlows", "TokenPair"]

logger = logging.getLogger("jwtmiddleware")

_MAX_UA = 512


class SessionFlows(RotationFlows, EndingFlows):
    """The login, refresh and logout decisions for one :class:`Settings`."""

    def login(
        self,
        subject: str,
        *,
        now: float,
        claims: Mapping[str, Any] | None = None,
        info: RequestInfo | None = None,
    ) -> Flow:
        """Create a device session (enforcing session limits) and mint its first token pair."""
        settings = self.settings
        info = info or RequestInfo()
        sid = new_token_id()
        yield from refuse_disabled(subject, now)
        generation = yield StoreCall("subject_generation", (settings.issuer or "", subject),
                                     {"now": now})  # fmt: skip
        # Mint first: a token that cannot be issued (CookieTooLarge, no signing key) must not
        # leave a session behind or evict other devices.
        pair = self.pair(subject, now=now, session_id=sid, auth_time=now, csrf=new_token_id(),
                         claims=claims or {}, generation=generation)  # fmt: skip
        session = SessionInfo(sid, subject, created_at=now, last_seen=now,
                              expires_at=now + settings.max_session_age,
                              user_agent=info.user_agent[:_MAX_UA], ip=info.ip[:64])  # fmt: skip
        # The limit is one atomic step in the store: logins racing cannot exceed it.
        limit: int | None = settings.max_sessions_per_subject
        evict = settings.session_limit_policy == "evict_oldest"
        if settings.single_session:
            limit, evict = 1, True
        started = yield StoreCall("start_session", (session,),
                                  {"now": now, "limit": limit, "evict_oldest": evict})  # fmt: skip
        if not started.created:
            raise SessionLimitReached(f"{limit} live sessions already")
        for evicted in started.evicted:
            event = AuthEvent("session_revoked", subject, evicted, {"reason": "evicted"},
                              action="session_evicted")  # fmt: skip
            yield from self.notify(event)
        yield from self.notify(AuthEvent("authn_login_success", subject, sid, action="login"))
        yield from self.notify(AuthEvent("session_created", subject, sid, action="login"))
        return pair
