"""What every session flow shares: the settings, the issuer, the cookie policy, the event sink,
minting a session's token pair, and the disabled-account marker login and refresh check.

:class:`FlowsBase` is the base of :class:`~jwtmiddleware.sessions.lifecycle.SessionFlows` and
of its parts (``_flows_rotation``, ``_flows_ending``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, cast

from ..core.effects import Effect, Notify, StoreCall
from ..core.errors import AccountDisabled, ConfigurationError
from ..core.issuer import REFRESH_TOKEN_TYPE, REGISTERED, SESSION_CLAIMS, Issuer
from ..core.verifier import Verifier
from ..http.cookies import CookiePolicy
from ..stores._changes import GENERATION_CLAIM
from ..telemetry.events import AuthEvent, EventSink
from ._records import TokenPair

if TYPE_CHECKING:
    from ..core.settings import Settings
    from ..telemetry import Telemetry

__all__ = ["DISABLED_FOR", "Flow", "FlowsBase", "disabled_key", "refuse_disabled"]

Flow = Generator[Effect, Any, Any]
#: How long a disabled marker lasts (renewed by disabling again): ten years.
DISABLED_FOR = 10 * 365 * 86400.0


def _app_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k not in REGISTERED and k not in SESSION_CLAIMS}


def disabled_key(subject: str) -> str:
    """The store key whose non-empty value marks ``subject`` as disabled."""
    return f"disabled:{subject}"


def refuse_disabled(subject: str, now: float) -> Flow:
    """Refuse a subject disabled by :meth:`SessionFlows.disable
    <jwtmiddleware.sessions.lifecycle.SessionFlows.disable>`.

    :raises AccountDisabled: the subject is disabled.
    """
    if (yield StoreCall("get_value", (disabled_key(subject),), {"now": now})):
        raise AccountDisabled(f"subject {subject!r} is disabled")


class FlowsBase:
    """The state of the session flows for one :class:`Settings`, and minting a token pair."""

    def __init__(self, settings: Settings, *, telemetry: Telemetry | None = None) -> None:
        self.settings = settings
        self._issuer = Issuer(settings) if settings.keyset.signing_key() else None
        self.cookies = CookiePolicy(settings)
        self._refresh_verifier = Verifier(
            settings.replace(
                token_type=REFRESH_TOKEN_TYPE,
                max_token_lifetime=max(settings.refresh_token_ttl, settings.access_token_ttl),
                required_claims=("exp", "sub", "jti", "sid"),
            )
        )
        self._hook = cast("Callable[[AuthEvent], Any] | None", settings.event_hook)
        #: Logs, counts and hands events to ``EVENT_HOOK``.
        self.events = EventSink(self._hook, telemetry)
        lifetime = max(settings.max_token_lifetime or 0, settings.refresh_token_ttl)
        #: How long revocations must be kept: the longest any token can live, plus leeway.
        self.keep = max(lifetime, settings.max_session_age) + settings.leeway

    @property
    def issuer(self) -> Issuer:
        """The issuer; verify-only settings (public keys only) cannot mint tokens."""
        if self._issuer is None:
            raise ConfigurationError("KEYS", "minting tokens needs a key with private material")
        return self._issuer

    def emit(self, event: AuthEvent) -> None:
        """Log the event and pass it to ``EVENT_HOOK`` now, from sync code; a failing hook
        never breaks a flow."""
        self.events.emit(event)

    def notify(self, event: AuthEvent) -> Generator[Effect, Any, None]:
        """Log and count the event, and yield it to the driver for ``EVENT_HOOK`` (awaited by
        the async driver when the hook is async)."""
        self.events.record(event)
        if self._hook is not None:
            yield Notify(self._hook, event)

    def pair(
        self, subject: str, *, now: float, session_id: str, auth_time: float, csrf: str,
        claims: Mapping[str, Any], generation: int | None = None,
    ) -> TokenPair:  # fmt: skip
        """Mint an access and a refresh token for one session, with their cookies.

        :param generation: the subject's logout-everywhere generation (``sgen``): a later
            logout everywhere refuses these tokens whatever their ``iat``.
        """
        session: dict[str, Any] = {"sid": session_id, "auth_time": int(auth_time), "csrf": csrf}
        if generation is not None:
            session[GENERATION_CLAIM] = generation
        body = {**_app_claims(claims), **session}
        access = self.issuer.access_token(subject, now=now, claims=body)
        refresh = self.issuer.refresh_token(subject, now=now, claims=body)
        cookies = (
            self.cookies.access(access.token, access.expires_at - now),
            self.cookies.refresh(refresh.token, refresh.expires_at - now),
            self.cookies.csrf(csrf, refresh.expires_at - now),
        )
        return TokenPair(access.token, refresh.token, access.expires_at, refresh.expires_at,
                         session_id, csrf, cookies)  # fmt: skip
