"""The store's part of a decision when the store is asked on every request (no mirror):
revocation, then session activity, as effects the drivers answer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from ..core.effects import Effect, StoreCall
from ..core.errors import StoreUnavailable, TokenRevoked
from ..stores._changes import GENERATION_CLAIM
from ..stores.base import RevocationQuery

if TYPE_CHECKING:
    from ..core.identity import Identity

__all__ = ["StoreChecks", "revocation_query"]

logger = logging.getLogger("jwtmiddleware")

#: Session activity is recorded at most once a minute per session (per process).
_TOUCH_INTERVAL = 60.0
_TOUCH_MEMORY = 10_000


def revocation_query(identity: Identity) -> RevocationQuery:
    """What :meth:`Store.is_revoked` is asked about a verified caller."""
    claims = identity.claims
    iat, gen = claims.get("iat"), claims.get(GENERATION_CLAIM)
    return RevocationQuery(
        issuer=identity.issuer or "",
        subject=identity.subject,
        token_id=identity.token_id,
        session_id=identity.session_id,
        issued_at=float(iat) if isinstance(iat, int | float) else None,
        generation=gen if isinstance(gen, int) else None,
    )


class StoreChecks:
    """Asks the store whether a verified token is revoked and records session activity.

    :param allowed_despite: called when a failing store lets a request through
        (``STORE_FAILURE = "open"``).
    """

    def __init__(self, allowed_despite: Callable[[StoreUnavailable], None]) -> None:
        self._allowed_despite = allowed_despite
        self._touched: dict[str, float] = {}

    def run(
        self, identity: Identity, now: float, *, fail_open: bool
    ) -> Generator[Effect, Any, None]:
        """Refuse a revoked token (``TokenRevoked``) or, under ``fail_open=False``, a store
        that cannot answer (``StoreUnavailable``); then touch the session (at most once a
        minute; a failure there is logged, never refused)."""
        try:
            revoked = yield StoreCall("is_revoked", (revocation_query(identity),), {"now": now})
        except StoreUnavailable as exc:
            if not fail_open:
                raise
            self._allowed_despite(exc)
            return
        if revoked:
            error = TokenRevoked("revoked in the store")
            error.claims = identity.claims
            raise error
        sid = identity.session_id
        if sid is not None and self._touch_due(sid, now):
            try:
                yield StoreCall("touch_session", (sid,), {"now": now})
            except StoreUnavailable as exc:
                logger.warning("could not record session activity: %s", exc)

    def _touch_due(self, sid: str, now: float) -> bool:
        last = self._touched.get(sid)
        if last is not None and now - last < _TOUCH_INTERVAL:
            return False
        if len(self._touched) >= _TOUCH_MEMORY:
            self._touched.clear()
        self._touched[sid] = now
        return True
