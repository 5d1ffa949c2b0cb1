"""The Bearer fast lane: a request whose only credential is one plain ``Authorization: Bearer``
value is decided from that value alone.

It is a lane into the decision, not a second copy of it: it finds the verified token by the raw
header value (a hit is one dictionary lookup, without building a request view) or verifies it
with the same :class:`~jwtmiddleware.http.verification.TokenVerification`, then joins the
decision at ``Authenticator._settle``, the step every verified request goes through (revocation,
the sliding-refresh plan). The lane is open only when nothing else about a request can change
its answer (:func:`fast_lane_applies`); the ASGI and WSGI middleware check that the request
holds exactly one such header and no token cookie, and take the full path otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core._lru import TokenCache
    from ..core.settings import Settings
    from .paths import PathRules
    from .results import AuthResult, Decision
    from .sources import TokenSources

__all__ = ["BearerLane", "fast_lane_applies"]


def fast_lane_applies(settings: Settings, paths: PathRules) -> bool:
    """Whether the settings let a Bearer value alone decide a request: every path requires a
    token, and the token can only come from the header (no query or cookie token to weigh)."""
    sources = settings.sources
    return (
        settings.required and not paths.has_rules and "header" in sources and "query" not in sources
    )


class BearerLane:
    """Decides requests from their raw ``Authorization`` value.

    :param results: the verified results, remembered under the raw value.
    :param verified: ``verified(token, source, now, key)``: verify a token and remember it.
    :param settle: the decision's last step for a verified result (``None``: nothing to do).
    """

    __slots__ = ("_entry", "_max", "_plain_bearer", "_results", "_settle", "_touch", "_verified")

    def __init__(
        self,
        settings: Settings,
        results: TokenCache[AuthResult],
        sources: TokenSources,
        verified: Callable[[str, str, float, Hashable], AuthResult],
        settle: Callable[[AuthResult, float], Decision] | None,
    ) -> None:
        # Longer than this, a value is no plain Bearer token: never hashed, the full path judges.
        self._max = len(settings.header_scheme) + 1 + settings.max_token_bytes
        self._results = results
        # The cache's raw accessors (see TokenCache.entry): a hit costs no Python call.
        self._entry, self._touch = results.entry, results.touch
        self._plain_bearer = sources.plain_bearer
        self._verified = verified
        self._settle = settle

    def decide(self, authorization: str | bytes, now: float) -> Decision | None:
        """Decide a request whose only credential is ``authorization``.

        A hit is one dictionary lookup by the raw value (an ASGI header's ``bytes`` or a WSGI
        environ's ``str``); a miss verifies the token and remembers it under that value. Then
        the decision continues as for every verified request. ``None``: the value is not a
        plain ``Bearer <token>``, and the full path decides.
        """
        if len(authorization) > self._max:
            return None  # never hash a huge header
        result: AuthResult | None
        entry = self._entry(authorization)
        if entry is not None and entry[1] <= now < entry[2]:
            try:  # noqa: SIM105 - a context manager per hit costs more
                self._touch(authorization)
            except KeyError:  # evicted meanwhile: still valid for this request
                pass
            result = entry[0]
        else:
            result = self._results.get(authorization, now)  # out of its window: refused
        if result is None:
            raw = authorization
            token = self._plain_bearer(raw.decode("latin-1") if isinstance(raw, bytes) else raw)
            if token is None:
                return None
            result = self._verified(token, "header", now, authorization)
        settle = self._settle
        return result if settle is None else settle(result, now)
