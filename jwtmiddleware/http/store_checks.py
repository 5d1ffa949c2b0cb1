"""The store's part of a decision when the store is asked on every request (no mirror):
revocation, then session activity, as effects the drivers answer."""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from ..core.effects import Effect, StoreCall
from ..core.errors import StoreStale, StoreUnavailable, TokenRevoked
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
    """Asks the store whether a verified token is revoked and records session activity, and
    applies ``STORE_FAILURE`` when the store (or the mirror) cannot answer.

    :param fail_open: ``STORE_FAILURE = "open"``: a request the store cannot check passes
        (counted in :attr:`allowed` and logged) instead of being answered 503.
    """

    def __init__(self, *, fail_open: bool) -> None:
        self.fail_open = fail_open
        #: Requests let through because the store failed under ``STORE_FAILURE = "open"``.
        self.allowed = 0
        self._touched: dict[str, float] = {}

    def when_stale(self, exc: StoreStale) -> None:
        """The mirror is older than ``STORE_MAX_LAG``: refuse, or let through and count."""
        if not self.fail_open:
            raise exc
        self.allowed_despite(exc)

    def allowed_despite(self, exc: StoreUnavailable) -> None:
        """Count and log a request let through although the store failed."""
        self.allowed += 1
        logger.warning("store unavailable, request allowed (STORE_FAILURE=open): %s", exc)

    def run(
        self, identity: Identity, now: float, *, fail_open: bool | None = None
    ) -> Generator[Effect, Any, None]:
        """Refuse a revoked token (``TokenRevoked``) or, unless ``fail_open`` (default: the
        policy's), a store that cannot answer (``StoreUnavailable``); then touch the session
        (at most once a minute; a failure there is logged, never refused)."""
        try:
            revoked = yield StoreCall("is_revoked", (revocation_query(identity),), {"now": now})
        except StoreUnavailable as exc:
            if not (self.fail_open if fail_open is None else fail_open):
                raise
            self.allowed_despite(exc)
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
