"""The request path's revocation check: one closure over a mirror's dictionaries.

While the mirror is fresh, a request costs a clock read and a few dictionary operations: no
socket, no lock, no call into the store (see
:meth:`Mirror.checker <jwtmiddleware.stores.mirror.Mirror.checker>`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.errors import StoreStale, TokenRevoked
from ._changes import RevocationKeys

if TYPE_CHECKING:
    from .mirror import Mirror

__all__ = ["revocation_checker"]

_monotonic = time.monotonic


def revocation_checker(
    mirror: Mirror, on_stale: Callable[[StoreStale], None]
) -> Callable[[RevocationKeys, float], None]:
    """``mirror.checker(on_stale)``: the check closure over ``mirror``'s state."""
    state, activity, when_stale = mirror.state, mirror.activity, mirror._when_stale
    get_token, get_session, get_subject = (
        state.tokens.get, state.sessions.get, state.subjects.get
    )  # fmt: skip

    def check(keys: RevocationKeys, now: float) -> None:
        if _monotonic() >= mirror.fresh_until:
            try:
                when_stale()
            except StoreStale as exc:
                on_stale(exc)
                return
        token, session, subject, issued_at, sid, generation = keys
        if sid is not None:
            activity[sid] = now
        if token is not None:
            exp = get_token(token)
            if exp is not None and exp > now:
                raise TokenRevoked("the token was revoked", code="revoked_token")
        if session is not None:
            exp = get_session(session)
            if exp is not None and exp > now:
                raise TokenRevoked("the token's session was revoked", code="revoked_session")
        if subject is not None:
            mark = get_subject(subject)
            if mark is not None and mark[1] > now:
                # A token of ours carries the subject's generation when it was issued: an
                # exact order, even within one clock tick. Others are judged by iat.
                if generation is not None:
                    if generation < mark[2]:
                        raise TokenRevoked(
                            "the subject was logged out everywhere", code="revoked_subject"
                        )
                elif issued_at is None or issued_at < mark[0]:
                    raise TokenRevoked(
                        "the subject was logged out everywhere", code="revoked_subject"
                    )

    return check
