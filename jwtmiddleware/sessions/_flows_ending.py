"""How sessions end, the ending flows of :class:`~jwtmiddleware.sessions.lifecycle.SessionFlows`:
logout, logout everywhere, and disabling an account (which ends every session of it and refuses
its logins and refreshes until it is enabled again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.effects import StoreCall
from ..telemetry.events import AuthEvent
from ._flows_base import DISABLED_FOR, Flow, FlowsBase, disabled_key

if TYPE_CHECKING:
    from ..core.identity import Identity

__all__ = ["EndingFlows"]


class EndingFlows(FlowsBase):
    """Logout, logout everywhere, and disabling and enabling an account."""

    def disable(self, subject: str, *, now: float, issuer: str | None = None) -> Flow:
        """Disable an account: refuse its logins and refreshes until :meth:`enable`, and
        revoke every token and session it has (like :meth:`logout_everywhere`)."""
        yield StoreCall("put_value", (disabled_key(subject), "1"),
                        {"expires_at": now + DISABLED_FOR, "now": now})  # fmt: skip
        ended = yield from self.logout_everywhere(subject, now=now, issuer=issuer)
        yield from self.notify(AuthEvent("user_updated", subject, None,
                                         {"change": "disabled", "sessions": ended},
                                         action="account_disabled"))  # fmt: skip
        return ended

    def enable(self, subject: str, *, now: float) -> Flow:
        """Allow an account disabled by :meth:`disable` to log in again (its old tokens stay
        revoked)."""
        yield StoreCall("put_value", (disabled_key(subject), ""),
                        {"expires_at": now + 1, "now": now})  # fmt: skip
        yield from self.notify(AuthEvent("user_updated", subject, None, {"change": "enabled"},
                                         action="account_enabled"))  # fmt: skip

    def logout(self, identity: Identity, *, now: float) -> Flow:
        """End the caller's session and revoke the token it used; returns cookie deletions."""
        if identity.session_id is not None:
            yield StoreCall("revoke_session", (identity.session_id,),
                            {"now": now, "expires_at": now + self.keep})  # fmt: skip
        if identity.token_id is not None:
            exp = identity.expires_at
            until = now + self.keep if exp is None else exp + self.settings.leeway
            yield StoreCall("revoke_token", (identity.issuer or "", identity.token_id),
                            {"expires_at": until, "now": now})  # fmt: skip
        reason = {"reason": "logout"}
        sid = identity.session_id
        yield from self.notify(
            AuthEvent("session_expired", identity.subject, sid, reason, action="logout")
        )
        return self.cookies.clear()

    def logout_everywhere(self, subject: str, *, now: float, issuer: str | None = None) -> Flow:
        """Revoke every token and session of ``subject``; returns how many sessions ended.

        Tokens this library issued carry the subject's generation (``sgen``), which this
        call raises: each one issued before it is refused, each one issued after accepted,
        in any order within one clock tick. Tokens without ``sgen`` (from other issuers) are
        judged by ``iat``: refused up to ``LEEWAY`` seconds after now, since ``iat`` may lie
        that far ahead (a token issued just before the call with a clock ahead).
        """
        iss = self.settings.issuer if issuer is None else issuer
        before = now + self.settings.leeway
        yield StoreCall("revoke_subject", (iss or "", subject),
                        {"before": before, "expires_at": now + self.keep, "now": now})  # fmt: skip
        ended = yield StoreCall("revoke_other_sessions", (subject, None), {"now": now})
        detail = {"reason": "logout_everywhere", "sessions": ended}
        event = AuthEvent("session_revoked", subject, None, detail, action="logout_everywhere")
        yield from self.notify(event)
        return ended
