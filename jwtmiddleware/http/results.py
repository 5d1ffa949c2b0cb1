"""What a decision comes to: an :class:`AuthResult`, or a flow of effects that ends in one."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from ..core.identity import ANONYMOUS, AnonymousIdentity, Credentials, Identity

if TYPE_CHECKING:
    from ..core.effects import Effect
    from ..core.errors import AuthenticationError, StoreUnavailable
    from ..stores._changes import RevocationKeys
    from .refresh import RefreshPlan

__all__ = ["ANONYMOUS_RESULT", "EXEMPT_RESULT", "AuthResult", "Decision", "Flow", "finish"]


class AuthResult(NamedTuple):
    """The outcome of a request that may proceed."""

    #: The caller (``ANONYMOUS`` on exempt or optional paths without a token).
    identity: Identity | AnonymousIdentity
    #: What Starlette's ``request.auth`` should hold.
    credentials: Credentials
    #: Whether the path was exempt (no ``Vary`` is added then).
    exempt: bool = False
    #: A sliding refresh to apply to the response, if the token is about to expire.
    refresh: RefreshPlan | None = None
    #: What the revocation mirror looks up for this token (computed once, cached with it).
    keys: RevocationKeys | None = None


#: A generator of effects (store calls, a form field, a key fetch) returning its answer.
Flow: TypeAlias = "Generator[Effect, Any, AuthResult]"
#: A decision: the result, or the flow that finishes it once a driver answers its effects.
Decision: TypeAlias = "AuthResult | Generator[Effect, Any, AuthResult]"

ANONYMOUS_RESULT = AuthResult(ANONYMOUS, Credentials())
EXEMPT_RESULT = AuthResult(ANONYMOUS, Credentials(), exempt=True)


def finish(decision: Decision) -> Flow:
    """``decision`` as a flow: a result returned at once, a flow continued."""
    if isinstance(decision, AuthResult):
        return decision
    return (yield from decision)


def with_claims(error: AuthenticationError | StoreUnavailable, result: AuthResult) -> None:
    """Let ``error`` know the verified caller's claims (for the refusal's log line)."""
    if error.claims is None:
        error.claims = result.identity.claims
