"""Effects: what the sans-IO core asks of the outside world.

A flow yields an effect and receives the answer, like ``httpx.Auth.auth_flow``. The drivers in
``_drive`` answer them synchronously (WSGI, management calls) or asynchronously (ASGI).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..keysets import FetchNeeded
    from ..telemetry.events import AuthEvent

__all__ = ["Effect", "FetchKeys", "Notify", "ReadForm", "Sleep", "StoreCall"]


@dataclass(frozen=True, slots=True)
class StoreCall:
    """Call ``store.<method>(*args, **kwargs)``; async drivers call its ``a``-prefixed twin.

    A failure comes back into the flow as :class:`~jwtmiddleware.errors.StoreUnavailable`.
    """

    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait a little (polling for a concurrent refresh to publish its result)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class ReadForm:
    """Read one field of an ``application/x-www-form-urlencoded`` body (at most ``limit``
    bytes), leaving the body intact for the application. The answer is the value or ``None``."""

    field: str
    limit: int = 64 * 1024


@dataclass(frozen=True, slots=True)
class FetchKeys:
    """``GET`` a JWKS (or discovery) document; the answer is ``(status, headers, body)``.

    A failure comes back into the flow as :class:`~jwtmiddleware.remote_keys.KeyFetchError`.
    """

    request: FetchNeeded


@dataclass(frozen=True, slots=True)
class Notify:
    """Pass ``event`` to ``hook`` (``EVENT_HOOK``). The async driver awaits what an async hook
    returns; the sync driver runs it (see :func:`jwtmiddleware.events.call_hook`). A hook that
    raises is logged; the answer is always ``None``."""

    hook: Callable[[AuthEvent], Any]
    event: AuthEvent


Effect = StoreCall | Sleep | ReadForm | FetchKeys | Notify
