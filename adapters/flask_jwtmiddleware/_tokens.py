"""The flask-jwt-extended habits, shared by the Flask and Quart extensions (imports neither):
``create_access_token``, ``@auth.user_loader`` (``current_user``) and
``@auth.additional_claims_loader``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from jwtmiddleware.errors import ClaimCheckFailed

if TYPE_CHECKING:
    from jwtmiddleware import Identity

    from ._state import BaseAppState

__all__ = ["Hooks", "TokenHelpers", "USER_KEY", "no_user_error"]

#: ``environ``/``scope`` key caching the request's loaded user.
USER_KEY = "jwtmiddleware.user"

L = TypeVar("L", bound=Callable[..., Any])


class Hooks:
    """The callbacks registered on one extension, shared by every app it is set up on."""

    __slots__ = ("claims_loader", "user_loader")

    def __init__(self) -> None:
        #: ``(identity) -> user | None`` (Quart: may be ``async def``).
        self.user_loader: Callable[[Identity], Any] | None = None
        #: ``(subject) -> dict`` of claims for every token the extension mints.
        self.claims_loader: Callable[[str], Mapping[str, Any]] | None = None


def no_user_error() -> ClaimCheckFailed:
    """The refusal when the user loader finds nobody: 401 ``invalid_token``, as for a token
    whose subject is gone."""
    return ClaimCheckFailed("user_loader found no user for this subject")


def _seconds(value: float | timedelta | None) -> float | None:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


class TokenHelpers:
    """Mixed into ``JWTAuth`` (Flask and Quart)."""

    _hooks: Hooks

    def state_for(self, app: Any = None) -> BaseAppState:  # pragma: no cover - overridden
        raise NotImplementedError

    def user_loader(self, loader: L) -> L:
        """Register ``loader(identity) -> user | None``, the user behind a verified token.

        Then ``current_user`` is that user (loaded once per request), and ``jwt_required``
        loads it before the view runs: ``None`` (a deleted or disabled account) refuses the
        request with 401 ``invalid_token``. Use it as a decorator: ``@auth.user_loader``.
        """
        if not callable(loader):
            raise TypeError("user_loader takes a function (identity) -> user or None")
        self._hooks.user_loader = loader
        return loader

    def additional_claims_loader(self, loader: L) -> L:
        """Register ``loader(subject) -> dict``: claims added to every token this extension
        mints, by :meth:`create_access_token` and at login (explicit ``claims`` win). Use it
        as a decorator: ``@auth.additional_claims_loader``. It must be a plain function: it
        runs while the token is signed."""
        if not callable(loader) or inspect.iscoroutinefunction(loader):
            raise TypeError("additional_claims_loader takes a plain function (subject) -> dict")
        self._hooks.claims_loader = loader
        return loader

    def claims_for(
        self, subject: str, claims: Mapping[str, Any] | None
    ) -> Mapping[str, Any] | None:
        """``claims`` over what :meth:`additional_claims_loader` gives for ``subject``."""
        loader = self._hooks.claims_loader
        if loader is None:
            return claims
        loaded = loader(subject)
        if not isinstance(loaded, Mapping):
            raise TypeError(f"additional_claims_loader returned {type(loaded).__name__}, "
                            "not a dict of claims")  # fmt: skip
        return {**loaded, **(claims or {})}

    def create_access_token(
        self,
        subject: str,
        claims: Mapping[str, Any] | None = None,
        *,
        fresh: bool = False,
        expires_delta: float | timedelta | None = None,
    ) -> str:
        """Mint an access token the app's middleware accepts, without a session (for a token
        with a refresh token and a device session, use ``login_response``).

        :param subject: the ``sub`` claim (a user id).
        :param claims: application claims (``scope``, roles, ...), over the
            :meth:`additional_claims_loader`'s; registered claims (``exp``, ``sub``, ...) are
            set here and refused in ``claims``.
        :param fresh: mark the token as from a login that just checked credentials
            (``auth_time`` = now), so ``jwt_required(fresh=...)`` accepts it until it is older
            than the view allows.
        :param expires_delta: lifetime (seconds or ``timedelta``); default ``ACCESS_TOKEN_TTL``.
        :raises ValueError: for an empty subject or registered claims in ``claims``.
        """
        if not isinstance(subject, str) or not subject:
            raise ValueError("subject must be a non-empty string")
        state = self.state_for()
        now = state.clock()
        merged = dict(self.claims_for(subject, claims) or {})
        if fresh:
            merged["auth_time"] = int(now)
        issued = state.issuer().access_token(subject, now=now, claims=merged,
                                             ttl=_seconds(expires_delta))  # fmt: skip
        return issued.token
