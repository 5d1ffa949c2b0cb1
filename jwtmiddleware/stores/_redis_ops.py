"""Redis operations, written once as sans-IO generators and driven by ``redis.py``.

Each operation yields batches of Redis commands and receives their replies, like the core's
flow generator yields effects: :class:`~jwtmiddleware.stores.redis.RedisStore` drives them with
the sync client and with ``redis.asyncio``. This module does no I/O and imports no ``redis``.
"""

from __future__ import annotations

from typing import Any

from ._changes import SESSION, SUBJECT, Change, session_member, subject_member, token_member
from ._keys import (
    RedisKeys,
    fmt_time,
    session_from_fields,
    session_marker_expiry,
    session_to_fields,
    ttl_seconds,
)
from ._redis_lua import Cmd, Lua, Op
from ._redis_revocations import RevocationOps
from .base import RevocationQuery, SessionInfo

__all__ = ["Cmd", "Lua", "Op", "RedisOps"]


# KEYS: session hash, subject index. ARGV: TTL, expires_at, session id, field/value pairs...
# The index (a sorted set scored by expires_at) lives as long as its longest session.
_CREATE_SESSION = Lua.of("""
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return 1
""")

# KEYS: session hash. ARGV: now, threshold (now - min_interval). Check-and-set in one step.
_TOUCH_SESSION = Lua.of("""
local f = redis.call('HMGET', KEYS[1], 'last_seen', 'expires_at')
if not f[1] or not f[2] or tonumber(f[2]) <= tonumber(ARGV[1]) then return 0 end
if tonumber(f[1]) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'last_seen', ARGV[1])
  return 1
end
return 0
""")


class RedisOps:
    """The store's operations for one key ``prefix``, as generators of command batches."""

    __slots__ = ("keys", "revocations")

    def __init__(self, prefix: str) -> None:
        self.keys = RedisKeys(prefix)
        #: Revocations and the change log (one hash slot).
        self.revocations = RevocationOps(prefix)

    def revoke(self, change: Change, now: float) -> Op[None]:
        """Revoke a token or a session id, or move a subject's watermark."""
        if change.kind == SUBJECT:
            return self.revocations.revoke_subject(change, now)
        return self.revocations.revoke(change, now)

    def is_revoked(self, q: RevocationQuery, now: float) -> Op[bool]:
        return self.revocations.is_revoked(
            "" if q.token_id is None else token_member(q.issuer, q.token_id),
            "" if q.session_id is None else session_member(q.session_id),
            "" if q.subject is None else subject_member(q.issuer, q.subject),
            q.issued_at,
            now,
        )

    def create_session(self, s: SessionInfo, now: float) -> Op[None]:
        fields = [item for pair in session_to_fields(s).items() for item in pair]
        keys = [self.keys.session(s.session_id), self.keys.subject_sessions(s.subject)]
        ttl = ttl_seconds(s.expires_at, now)
        yield [_CREATE_SESSION.call(keys, ttl, fmt_time(s.expires_at), s.session_id, *fields)]

    def get_session(self, session_id: str, now: float) -> Op[SessionInfo | None]:
        (fields,) = yield [("HGETALL", self.keys.session(session_id))]
        session = session_from_fields(session_id, fields or {})
        return session if session is not None and session.expires_at > now else None

    def touch_session(self, session_id: str, now: float, min_interval: float) -> Op[bool]:
        key = self.keys.session(session_id)
        (wrote,) = yield [_TOUCH_SESSION.call([key], fmt_time(now), fmt_time(now - min_interval))]
        return bool(wrote)

    def list_sessions(self, subject: str, now: float) -> Op[list[SessionInfo]]:
        index = self.keys.subject_sessions(subject)
        _, members = yield [
            ("ZREMRANGEBYSCORE", index, "-inf", fmt_time(now)),
            ("ZRANGE", index, 0, -1),
        ]
        if not members:
            return []
        records = yield [("HGETALL", self.keys.session(m)) for m in members]
        live: list[SessionInfo] = []
        stale: list[str] = []
        for member, fields in zip(members, records, strict=True):
            s = session_from_fields(member, fields or {})
            if s is None or s.subject != subject or s.expires_at <= now:
                stale.append(member)  # revoked or expired: prune the index lazily
            else:
                live.append(s)
        if stale:
            yield [("ZREM", index, *stale)]
        live.sort(key=lambda s: (s.created_at, s.session_id))
        return live

    def revoke_session_cmd(self, session_id: str, now: float, expires_at: float | None) -> Cmd:
        until = session_marker_expiry(None, expires_at, now)
        return self.revocations.revoke_session_cmd(
            self.keys.session(session_id), session_member(session_id), until, now
        )

    def revoke_session(
        self, session_id: str, now: float, expires_at: float | None
    ) -> Op[tuple[int, list[Change]]]:
        """``(1 if the session was live, the change written)``."""
        (reply,) = yield [self.revoke_session_cmd(session_id, now, expires_at)]
        return _session_revoked(session_id, reply)

    def revoke_other_sessions(
        self, subject: str, keep: str | None, now: float
    ) -> Op[tuple[int, list[Change]]]:
        sessions = yield from self.list_sessions(subject, now)
        victims = [s.session_id for s in sessions if s.session_id != keep]
        if not victims:
            return 0, []
        replies = yield [self.revoke_session_cmd(sid, now, None) for sid in victims]
        live, changes = 0, []
        for sid, reply in zip(victims, replies, strict=True):
            count, written = _session_revoked(sid, reply)
            live += count
            changes += written
        return live, changes

    def consume_once(self, key: str, expires_at: float, now: float) -> Op[bool]:
        ttl = ttl_seconds(expires_at, now)
        (done,) = yield [("SET", self.keys.once(key), "1", "NX", "EX", ttl)]
        return bool(done)

    def put_value(self, key: str, value: str, expires_at: float, now: float) -> Op[None]:
        yield [("SET", self.keys.value(key), value, "EX", ttl_seconds(expires_at, now))]

    def get_value(self, key: str) -> Op[str | None]:
        (value,) = yield [("GET", self.keys.value(key))]
        return None if value is None else str(value)


def _session_revoked(session_id: str, reply: Any) -> tuple[int, list[Change]]:
    live, until = reply
    return int(live), [Change(SESSION, session_member(session_id), float(until))]
