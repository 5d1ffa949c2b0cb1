"""Auth events, named in the OWASP logging vocabulary, passed to ``EVENT_HOOK``.

Every event is logged (logger ``jwtmiddleware``), counted
(``jwtmiddleware_session_events_total{event}`` when metrics are on) and passed to the hook,
which may be a plain function or a coroutine function. Under the async driver (the ASGI
middleware, ``SessionManager.alogin`` and friends) an async hook is awaited; under the sync
driver it runs to completion in a new event loop, or is scheduled on the loop running in this
thread when there is one. A hook that raises is logged and never fails the request.

The names (OWASP Application Logging Vocabulary; ``action`` is what the library did, and the
event name before this vocabulary):

=========================  ==================================================================
``authn_login_success``    ``login``: the app checked the credentials and started a session
``session_created``        ``login``: the device session it started
``authn_login_fail``       ``login_failed``: the app reported wrong credentials
``session_renewed``        ``refresh``: a refresh token was rotated into a new pair
``session_expired``        ``logout`` (detail ``reason: logout``), or a refresh refused at
                           ``MAX_SESSION_AGE`` (``reason: max_session_age``)
``session_revoked``        ``logout_everywhere``, ``session_evicted`` (session limits),
                           ``revoke_session``, ``revoke_other_sessions``
``authn_token_reuse``      ``refresh_token_reused``: a rotated refresh token was presented
                           again; its session is revoked
``authn_token_revoked``    ``revoke_token``: one token revoked by ``jti``
``authn_token_created``    ``one_time``: a one-time token was minted
``authz_fail``             ``insufficient_scope``: a valid token lacked a required scope
=========================  ==================================================================
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import Telemetry

__all__ = ["EVENTS", "AuthEvent", "EventSink", "acall_hook", "call_hook"]


@dataclass(frozen=True, slots=True)
class AuthEvent:
    """Something that happened to a session, passed to ``EVENT_HOOK``."""

    #: The OWASP logging-vocabulary name: ``authn_login_success``, ``session_created``,
    #: ``session_renewed``, ``session_expired``, ``session_revoked``, ``authn_token_reuse``,
    #: ... (every name is in :data:`jwtmiddleware.events.EVENTS`).
    name: str
    #: The user (``sub``), when known.
    subject: str | None
    #: The device session (``sid``), when there is one.
    session_id: str | None = None
    #: More about it (``reason``, ``sessions``, ``scopes``, ...).
    detail: Mapping[str, Any] = field(default_factory=dict)
    #: What the library did (``login``, ``refresh``, ``logout``, ``logout_everywhere``,
    #: ``session_evicted``, ``refresh_token_reused``, ...): the event names of earlier versions.
    action: str = ""


logger = logging.getLogger("jwtmiddleware")

#: Every event name and what it records.
EVENTS = MappingProxyType(
    {
        "authn_login_success": "a login: the app checked the credentials",
        "authn_login_fail": "a login refused: the app reported wrong credentials",
        "session_created": "a device session started (with a login)",
        "session_renewed": "a refresh token rotated into a new pair",
        "session_expired": "a session ended: logout, or MAX_SESSION_AGE reached",
        "session_revoked": "sessions revoked: logout everywhere, session limits, an admin",
        "authn_token_reuse": "a rotated refresh token presented again: its session is revoked",
        "authn_token_revoked": "one token revoked by its jti",
        "authn_token_created": "a one-time token minted",
        "authz_fail": "a valid token without a required scope (403)",
    }
)
#: Events logged at WARNING (the rest at INFO).
_WARN = frozenset({"authn_token_reuse", "authn_login_fail", "authz_fail"})
# Scheduled hook coroutines, kept alive until they finish.
_pending: set[asyncio.Task[None]] = set()


async def _logged(awaitable: Awaitable[Any]) -> None:
    try:
        await awaitable
    except Exception:  # an observer must not break authentication
        logger.exception("EVENT_HOOK raised")


def call_hook(hook: Callable[[AuthEvent], Any], event: AuthEvent) -> None:
    """Call ``hook`` from sync code; a coroutine it returns runs to completion in a new event
    loop (or is scheduled on the one running in this thread). Exceptions are logged."""
    try:
        result = hook(event)
    except Exception:  # an observer must not break authentication
        logger.exception("EVENT_HOOK raised")
        return
    if not inspect.isawaitable(result):
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_logged(result))
        return
    task = loop.create_task(_logged(result))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def acall_hook(hook: Callable[[AuthEvent], Any], event: AuthEvent) -> None:
    """Call ``hook`` from async code, awaiting what it returns if it is awaitable. Exceptions
    are logged."""
    try:
        result = hook(event)
        if inspect.isawaitable(result):
            await result
    except Exception:  # an observer must not break authentication
        logger.exception("EVENT_HOOK raised")


class EventSink:
    """Logs, counts and hands events to ``EVENT_HOOK``.

    :param hook: the ``EVENT_HOOK`` callable (``None``: log and count only).
    :param telemetry: where events are counted (``None``: metrics off).
    """

    def __init__(
        self, hook: Callable[[AuthEvent], Any] | None, telemetry: Telemetry | None = None
    ) -> None:
        #: The hook, or ``None``.
        self.hook = hook
        self._telemetry = telemetry

    def record(self, event: AuthEvent) -> None:
        """Log and count ``event`` (without calling the hook)."""
        level = logging.WARNING if event.name in _WARN else logging.INFO
        logger.log(level, "auth event %s subject=%s sid=%s", event.name, event.subject,
                   event.session_id, extra={"jwtmiddleware_event": event.name})  # fmt: skip
        if self._telemetry is not None:
            self._telemetry.counts.event(event.name)

    def emit(self, event: AuthEvent) -> None:
        """Record ``event`` and call the hook from sync code (see :func:`call_hook`)."""
        self.record(event)
        if self.hook is not None:
            call_hook(self.hook, event)

    async def aemit(self, event: AuthEvent) -> None:
        """Record ``event`` and call the hook from async code (see :func:`acall_hook`)."""
        self.record(event)
        if self.hook is not None:
            await acall_hook(self.hook, event)
