"""Tokens minted outside a device session, the token methods of
:class:`~jwtmiddleware.sessions.manager.SessionManager`: API and service tokens
(:meth:`~TokenMinting.issue_token`) and single-use tokens (:meth:`~TokenMinting.one_time`), each
carrying the subject's logout-everywhere generation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..stores._changes import GENERATION_CLAIM
from ..telemetry.events import AuthEvent

if TYPE_CHECKING:
    from ..core.issuer import IssuedToken
    from ..core.settings import Settings
    from ..stores.base import Store
    from .lifecycle import SessionFlows

__all__ = ["TokenMinting"]


class TokenMinting:
    """Issue access and single-use tokens that a later logout everywhere refuses."""

    # Set by SessionManager.__init__.
    store: Store
    settings: Settings
    flows: SessionFlows
    clock: Callable[[], float]

    def one_time(
        self, subject: str, purpose: str, resource: str, *, ttl: float | None = None
    ) -> IssuedToken:
        """A single-use token for ``purpose`` on the request path ``resource`` (download
        links); a later :meth:`logout_everywhere` of the subject refuses it."""
        now = self.clock()
        generation = self.store.subject_generation(self._issuer_name, subject, now=now)
        issued = self.flows.issuer.one_time(subject, purpose, resource, now=now, ttl=ttl,
                                            generation=generation)  # fmt: skip
        self._created(subject, {"purpose": purpose}, "one_time")
        return issued

    def _created(self, subject: str, detail: Mapping[str, Any], action: str) -> None:
        self.flows.emit(AuthEvent("authn_token_created", subject, None, detail, action=action))

    async def aone_time(
        self, subject: str, purpose: str, resource: str, *, ttl: float | None = None
    ) -> IssuedToken:
        """Async :meth:`one_time`."""
        now = self.clock()
        generation = await self.store.asubject_generation(self._issuer_name, subject, now=now)
        issued = self.flows.issuer.one_time(subject, purpose, resource, now=now, ttl=ttl,
                                            generation=generation)  # fmt: skip
        self._created(subject, {"purpose": purpose}, "one_time")
        return issued

    def issue_token(
        self,
        subject: str,
        *,
        claims: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> IssuedToken:
        """Mint an access token outside a device session (API tokens, service calls, tests)
        that carries the subject's logout-everywhere generation (``sgen``), so a later
        :meth:`logout_everywhere` or :meth:`disable_subject` refuses it, and one issued after
        that call is accepted, whatever the clock says.

        :param claims: application claims (``scope``, ...).
        :param ttl: lifetime in seconds (default ``ACCESS_TOKEN_TTL``).
        """
        now = self.clock()
        generation = self.store.subject_generation(self._issuer_name, subject, now=now)
        return self._mint(subject, now, claims, ttl, generation)

    async def aissue_token(
        self,
        subject: str,
        *,
        claims: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> IssuedToken:
        """Async :meth:`issue_token`."""
        now = self.clock()
        generation = await self.store.asubject_generation(self._issuer_name, subject, now=now)
        return self._mint(subject, now, claims, ttl, generation)

    def _mint(
        self,
        subject: str,
        now: float,
        claims: Mapping[str, Any] | None,
        ttl: float | None,
        generation: int,
    ) -> IssuedToken:
        body = {**(claims or {}), GENERATION_CLAIM: generation}
        issued = self.flows.issuer.access_token(subject, now=now, claims=body, ttl=ttl)
        self._created(subject, {}, "issue_token")
        return issued

    @property
    def _issuer_name(self) -> str:
        return self.settings.issuer or ""
