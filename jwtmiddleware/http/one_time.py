"""One-time tokens (``ONE_TIME_PATHS``): a download link's token, verified for its path and
purpose, checked for revocation and marked used in one store step."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.effects import StoreCall
from ..core.errors import ClaimCheckFailed, StoreStale, TokenAlreadyUsed, TokenMissing
from ..core.identity import Credentials, Identity
from ..core.issuer import ONE_TIME_TOKEN_TYPE
from ..core.verifier import Verifier
from ..stores._changes import revocation_keys
from .results import AuthResult, Flow

if TYPE_CHECKING:
    from ..core.settings import Settings
    from ..stores.mirror import Mirror
    from .sources import RequestView, TokenSources
    from .store_checks import StoreChecks

__all__ = ["OneTimeTokens"]


def _refuse_stale(exc: StoreStale) -> None:
    raise exc


def one_time_verifier(settings: Settings) -> Verifier:
    """A verifier for one-time tokens. Its settings must validate whatever the access-token
    settings are: no sliding refresh, and an access TTL within its ``MAX_TOKEN_LIFETIME``."""
    return Verifier(
        settings.replace(
            token_type=ONE_TIME_TOKEN_TYPE,
            required_claims=("exp", "jti", "purpose", "res"),
            max_token_lifetime=3600.0,
            refresh_threshold=None,
            access_token_ttl=min(settings.access_token_ttl, 3600.0),
        )
    )


class OneTimeTokens:
    """Decides requests on ``ONE_TIME_PATHS``. ``STORE_FAILURE = "open"`` does not apply: a
    one-time token that cannot be checked and marked used is refused (a stale mirror too).

    :param identify: builds the caller's identity from verified claims and their source.
    """

    def __init__(
        self,
        settings: Settings,
        sources: TokenSources,
        identify: Callable[[dict[str, Any], str], Identity],
        store_checks: StoreChecks,
        mirror: Mirror | None,
    ) -> None:
        self._verifier = one_time_verifier(settings)
        self._sources = sources
        self._parameter = settings.query_parameter
        self._leeway = settings.leeway
        self._identify = identify
        self._store_checks = store_checks
        self._strict_check = None if mirror is None else mirror.checker(_refuse_stale)

    def flow(self, view: RequestView, now: float, purpose: str) -> Flow:
        """Verify the request's one-time token for ``purpose`` and this path, then consume it."""
        token = self._sources.extract_one_time(view, self._parameter)
        if token is None:
            raise TokenMissing("no one-time token")
        claims = self._verifier.verify(token, now).claims
        if claims.get("purpose") != purpose or claims.get("res") != view.path:
            raise ClaimCheckFailed("one-time token for another purpose or resource")
        identity = self._identify(claims, "one-time")
        if self._strict_check is not None:
            self._strict_check(revocation_keys(claims), now)  # stale: StoreStale, refused
        else:
            yield from self._store_checks.run(identity, now, fail_open=False)
        key = f"ott:{claims.get('iss') or ''}:{claims['jti']}"
        expires = float(claims["exp"]) + self._leeway
        if not (yield StoreCall("consume_once", (key,), {"expires_at": expires, "now": now})):
            raise TokenAlreadyUsed("one-time token already used", code="one_time_used")
        return AuthResult(identity, Credentials(identity.scopes))
