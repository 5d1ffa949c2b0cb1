"""Redis store: shared by every worker on every host; one node, Redis Cluster or Sentinel.

The operations live in :mod:`._redis_ops` as generators of command batches; the store only
drives them (:mod:`._redis_drive`) with the clients :class:`~._redis_clients.RedisClients`
builds for the deployment the URL names: the sync client, and one ``redis.asyncio`` client per
event loop. The clients and drivers are in :mod:`._redis_base`, the session methods in
:mod:`._redis_sessions`; this module adds revocation, one-time values and the change log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._changes import SUBJECT, TOKEN, Change, ChangeLog, subject_member, token_member
from ._redis_sessions import RedisSessions
from .base import RevocationQuery

if TYPE_CHECKING:
    from ._checks import Finding

__all__ = ["RedisStore"]


class RedisStore(RedisSessions):
    """A store in Redis, for deployments with several hosts.

    Timeouts are explicit and short (``timeout`` for connecting and for every reply), a failed
    connection is retried at most once without back-off, and every failure (an error reply
    included) surfaces as :class:`StoreUnavailable`, so the middleware fails closed within
    about ``timeout``. Every key lives under ``prefix``. Every script touches one hash slot,
    so the same store runs on a Redis Cluster; behind Sentinel it follows failovers.

    :param url: ``redis://``, ``rediss://``, ``unix://``, ``redis+cluster://``,
        ``redis+sentinel://`` (or ``rediss+``) URL; see the README's *Scaling out*.
    :param timeout: seconds for connecting and for each reply.
    :param prefix: namespace of every key.
    :param min_replicas: ``STORE_MIN_REPLICAS``: revocations wait (``WAIT``) until that many
        replicas have them, else the write raises :class:`StoreUnavailable`.
    """

    def __repr__(self) -> str:
        return f"RedisStore({self._clients.describe()!r}, prefix={self.prefix!r})"

    # -- revocation: written with its change-log entry by one script, then applied to this
    # -- process's mirrors at once

    def _revoke(self, change: Change, now: float) -> None:
        written = self._run(self._ops.revoke(change, now))
        self._published([written], now)

    async def _arevoke(self, change: Change, now: float) -> None:
        written = await self._arun(self._ops.revoke(change, now), one_node=True)
        self._published([written], now)

    def revoke_token(self, issuer: str, token_id: str, *, expires_at: float, now: float) -> None:
        self._revoke(Change(TOKEN, token_member(issuer, token_id), expires_at), now)

    async def arevoke_token(
        self, issuer: str, token_id: str, *, expires_at: float, now: float
    ) -> None:
        await self._arevoke(Change(TOKEN, token_member(issuer, token_id), expires_at), now)

    def revoke_subject(
        self, issuer: str, subject: str, *, before: float, expires_at: float, now: float
    ) -> None:
        self._revoke(Change(SUBJECT, subject_member(issuer, subject), expires_at, before), now)

    async def arevoke_subject(
        self, issuer: str, subject: str, *, before: float, expires_at: float, now: float
    ) -> None:
        change = Change(SUBJECT, subject_member(issuer, subject), expires_at, before)
        await self._arevoke(change, now)

    def subject_generation(self, issuer: str, subject: str, *, now: float) -> int:
        return self._run(self._ops.subject_generation(issuer, subject, now))

    async def asubject_generation(self, issuer: str, subject: str, *, now: float) -> int:
        return await self._arun(self._ops.subject_generation(issuer, subject, now))

    def is_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        return self._run(self._ops.is_revoked(query, now))

    async def ais_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        return await self._arun(self._ops.is_revoked(query, now))

    # -- one-time markers and values ---------------------------------------------------------

    def consume_once(self, key: str, *, expires_at: float, now: float) -> bool:
        return self._run(self._ops.consume_once(key, expires_at, now))

    async def aconsume_once(self, key: str, *, expires_at: float, now: float) -> bool:
        return await self._arun(self._ops.consume_once(key, expires_at, now))

    def put_value(self, key: str, value: str, *, expires_at: float, now: float) -> None:
        self._run(self._ops.put_value(key, value, expires_at, now))

    async def aput_value(self, key: str, value: str, *, expires_at: float, now: float) -> None:
        await self._arun(self._ops.put_value(key, value, expires_at, now))

    def get_value(self, key: str, *, now: float) -> str | None:
        return self._run(self._ops.get_value(key))

    async def aget_value(self, key: str, *, now: float) -> str | None:
        return await self._arun(self._ops.get_value(key))

    def purge(self, *, now: float) -> int:
        """Return 0: Redis expires entries itself (TTLs; revocations on each write)."""
        return 0

    async def apurge(self, *, now: float) -> int:
        return 0

    # -- the change log and start-up checks --------------------------------------------------

    @property
    def log_identity(self) -> tuple[str, str, str]:
        """The deployment (password-free) and the key prefix."""
        return ("redis", self._clients.describe(), self.prefix)

    def open_change_log(self) -> ChangeLog:
        """A reader of the change log on a connection of its own (it blocks in ``XREAD``)."""
        from ._redis_log import RedisChangeLog

        return RedisChangeLog(self, self._ops.revocations)

    def check(self) -> list[Finding]:
        """That Redis answers, and does not lose revocations to an evicting
        ``maxmemory-policy`` or missing persistence, on every master."""
        from ._redis_checks import check_clients

        return check_clients(self._clients)
