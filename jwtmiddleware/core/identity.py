"""The verified caller, as the application sees it.

:class:`Identity` also speaks Starlette's duck-typed user protocol (``is_authenticated``,
``display_name``, ``identity``), and :class:`Credentials` is what Starlette expects in
``scope["auth"]``, so ``starlette.authentication.requires`` works unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ANONYMOUS", "AnonymousIdentity", "Claims", "Credentials", "Identity"]


def _read_only(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise TypeError("token claims are read-only; copy them with dict(claims)")


class Claims(dict[str, Any]):
    """The verified claims: a ``dict`` (``json.dumps`` and framework JSON encoders take it as
    is) that refuses changes, so one verified token can be shared by many requests."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))


@dataclass(frozen=True, slots=True)
class Identity:
    """A caller whose token was verified (and not revoked)."""

    #: The ``sub`` claim, or ``None`` if the token has none.
    subject: str | None
    #: Every claim of the token.
    claims: Mapping[str, Any] = field(repr=False)
    #: Scopes granted by the token (from ``SCOPE_CLAIM``).
    scopes: frozenset[str] = frozenset()
    #: The ``sid`` claim: the device session this token belongs to.
    session_id: str | None = None
    #: The ``jti`` claim.
    token_id: str | None = None
    #: Where the token came from: ``header``, ``cookie`` or ``query``.
    source: str = "header"

    @property
    def is_authenticated(self) -> bool:
        """Always true (Starlette's ``BaseUser`` protocol)."""
        return True

    @property
    def display_name(self) -> str:
        """The subject, for templates and logs."""
        return self.subject or ""

    @property
    def identity(self) -> str:
        """The subject (Starlette's ``BaseUser.identity``)."""
        return self.subject or ""

    @property
    def issuer(self) -> str | None:
        """The ``iss`` claim."""
        value = self.claims.get("iss")
        return value if isinstance(value, str) else None

    @property
    def expires_at(self) -> float | None:
        """The ``exp`` claim as a UNIX time."""
        value = self.claims.get("exp")
        return float(value) if isinstance(value, int | float) else None

    def has_scopes(self, *scopes: str) -> bool:
        """Whether every given scope was granted."""
        return self.scopes.issuperset(scopes)


@dataclass(frozen=True, slots=True)
class AnonymousIdentity:
    """The caller on an optional or exempt path that sent no token."""

    subject: None = None
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False)
    scopes: frozenset[str] = frozenset()
    session_id: None = None
    token_id: None = None
    source: None = None

    @property
    def is_authenticated(self) -> bool:
        return False

    @property
    def display_name(self) -> str:
        return ""

    @property
    def identity(self) -> str:
        return ""

    def has_scopes(self, *scopes: str) -> bool:
        return not scopes


#: The shared anonymous identity.
ANONYMOUS = AnonymousIdentity()

_new_object = object.__new__
# Identity's slots, set directly: a frozen dataclass's __init__ pays an object.__setattr__ per
# field, which is most of what building an identity costs on a cache miss.
_set_subject, _set_claims, _set_scopes, _set_session_id, _set_token_id, _set_source = (
    Identity.__dict__[name].__set__
    for name in ("subject", "claims", "scopes", "session_id", "token_id", "source")
)


def build_identity(
    subject: str | None,
    claims: Mapping[str, Any],
    scopes: frozenset[str],
    session_id: str | None,
    token_id: str | None,
    source: str,
) -> Identity:
    """``Identity(...)`` with every field given, at half the cost (the miss path's builder)."""
    identity: Identity = _new_object(Identity)
    _set_subject(identity, subject)
    _set_claims(identity, claims)
    _set_scopes(identity, scopes)
    _set_session_id(identity, session_id)
    _set_token_id(identity, token_id)
    _set_source(identity, source)
    return identity


@dataclass(frozen=True, slots=True)
class Credentials:
    """What Starlette's ``requires`` reads from ``request.auth``: the granted scopes."""

    scopes: frozenset[str] = frozenset()
