"""Redis operations, written once as sans-IO generators and driven by ``redis.py``.

Each operation yields batches of Redis commands and receives their replies, like the core's
flow generator yields effects: :class:`~jwtmiddleware.stores.redis.RedisStore` drives them with
the sync client and with ``redis.asyncio``. This module does no I/O and imports no ``redis``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ._keys import (
    RedisKeys,
    fmt_time,
    session_from_fields,
    session_marker_expiry,
    session_to_fields,
    ttl_seconds,
)
from .base import RevocationQuery, SessionInfo

__all__ = ["Cmd", "Lua", "Op", "RedisOps"]

_T = TypeVar("_T")
#: One Redis command: ``("MGET", k1, k2)``, or ``(Lua, numkeys, *keys, *args)`` for a script.
Cmd = tuple[Any, ...]
#: An operation: yields command batches, receives their replies, returns the result.
Op = Generator[list[Cmd], list[Any], _T]


@dataclass(frozen=True, slots=True)
class Lua:
    """A Lua script, sent by SHA (EVALSHA) and by source after NOSCRIPT."""

    source: str
    sha: str

    @classmethod
    def of(cls, source: str) -> Lua:
        sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        return cls(source, sha)

    def call(self, keys: Sequence[str], *args: object) -> Cmd:
        return (self, len(keys), *keys, *args)


# SET that never shortens a TTL and, with ARGV[3] == "max", never lowers a numeric value
# (the subject watermark). KEYS[1]; ARGV: value, TTL seconds, mode.
_SET_KEEP_MAX = Lua.of("""
local value = ARGV[1]
local current = redis.call('GET', KEYS[1])
if ARGV[3] == 'max' and current and tonumber(current) > tonumber(value) then value = current end
local ttl = tonumber(ARGV[2])
local left = redis.call('TTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], value, 'EX', ttl)
return 1
""")

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

# KEYS: session hash, revoked marker. ARGV: now, TTL when the record is unknown. The marker
# lives until the session's own end (same rounding as ttl_seconds); the index entry is left to
# list_sessions, which prunes members whose record is gone. Returns 1 if the session was live.
_REVOKE_SESSION = Lua.of("""
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local live = 0
local ends = redis.call('HGET', KEYS[1], 'expires_at')
if ends then
  ends = tonumber(ends)
  ttl = math.max(1, math.ceil(ends - now))
  if ends > now then live = 1 end
  redis.call('DEL', KEYS[1])
end
local left = redis.call('TTL', KEYS[2])
if left > ttl then ttl = left end
redis.call('SET', KEYS[2], '1', 'EX', ttl)
return live
""")


class RedisOps:
    """The store's operations for one key ``prefix``, as generators of command batches."""

    __slots__ = ("keys",)

    def __init__(self, prefix: str) -> None:
        self.keys = RedisKeys(prefix)

    def revoke_token(self, issuer: str, token_id: str, expires_at: float, now: float) -> Op[None]:
        key = self.keys.token(issuer, token_id)
        yield [_SET_KEEP_MAX.call([key], "1", ttl_seconds(expires_at, now), "")]

    def revoke_subject(
        self, issuer: str, subject: str, before: float, expires_at: float, now: float
    ) -> Op[None]:
        key = self.keys.watermark(issuer, subject)
        ttl = ttl_seconds(expires_at, now)
        yield [_SET_KEEP_MAX.call([key], fmt_time(before), ttl, "max")]

    def is_revoked(self, q: RevocationQuery) -> Op[bool]:
        # One MGET: [jti marker], [session marker], [subject watermark], whichever apply.
        markers = []
        if q.token_id is not None:
            markers.append(self.keys.token(q.issuer, q.token_id))
        if q.session_id is not None:
            markers.append(self.keys.session_revoked(q.session_id))
        keys = list(markers)
        if q.subject is not None:
            keys.append(self.keys.watermark(q.issuer, q.subject))
        if not keys:
            return False
        (values,) = yield [("MGET", *keys)]
        if any(v is not None for v in values[: len(markers)]):
            return True
        if q.subject is None or values[-1] is None:
            return False
        return q.issued_at is None or q.issued_at < float(values[-1])

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
        fallback = ttl_seconds(session_marker_expiry(None, expires_at, now), now)
        keys = [self.keys.session(session_id), self.keys.session_revoked(session_id)]
        return _REVOKE_SESSION.call(keys, fmt_time(now), fallback)

    def revoke_session(self, session_id: str, now: float, expires_at: float | None) -> Op[bool]:
        (live,) = yield [self.revoke_session_cmd(session_id, now, expires_at)]
        return bool(live)

    def revoke_other_sessions(self, subject: str, keep: str | None, now: float) -> Op[int]:
        sessions = yield from self.list_sessions(subject, now)
        victims = [s.session_id for s in sessions if s.session_id != keep]
        if not victims:
            return 0
        results = yield [self.revoke_session_cmd(sid, now, None) for sid in victims]
        return sum(int(r) for r in results)

    def consume_once(self, key: str, expires_at: float, now: float) -> Op[bool]:
        ttl = ttl_seconds(expires_at, now)
        (done,) = yield [("SET", self.keys.once(key), "1", "NX", "EX", ttl)]
        return bool(done)

    def put_value(self, key: str, value: str, expires_at: float, now: float) -> Op[None]:
        yield [("SET", self.keys.value(key), value, "EX", ttl_seconds(expires_at, now))]

    def get_value(self, key: str) -> Op[str | None]:
        (value,) = yield [("GET", self.keys.value(key))]
        return None if value is None else str(value)
