"""Redis operations, written once as sans-IO generators and driven by ``redis.py``.

Each operation yields batches of Redis commands and receives their replies, like the core's
flow generator yields effects: :class:`~jwtmiddleware.stores.redis.RedisStore` drives them with
the sync client and with ``redis.asyncio``, on one node, a Redis Cluster or behind Sentinel. This
module does no I/O and imports no ``redis``.

Every script touches the keys of one hash slot: a subject's sessions share one hash tag, the
revocations and their change log another (:mod:`._redis_revocations`). An operation that
changes both (ending a session) does it in two steps, the revocation first: if the second step
fails, the session is already refused everywhere and only its record lingers, until a retry
or its expiry.
"""

from __future__ import annotations

from ..core.errors import StoreUnavailable
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
from .base import RevocationQuery, SessionInfo, SessionStart

__all__ = ["Cmd", "Lua", "Op", "RedisOps"]

#: Attempts of an optimistic session start before giving up (another login kept racing it).
_START_ATTEMPTS = 20

# KEYS: index, new record, the records of the index's members (in ARGV's order).
# ARGV: now, limit (-1: none), "evict"/"deny", TTL, expires_at, new id, n, n member ids,
# field/value pairs of the new record. Answers {-1} when the index changed since the caller
# read it (retry), {0} when refused, else {1, evicted id, its end, ...}.
_START_SESSION = Lua.of("""
local now, limit, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local known = {}
for i = 1, n do known[ARGV[7 + i]] = i end
local count = 0
for _, m in ipairs(members) do
  if not known[m] then return {-1} end
  count = count + 1
end
local live = {}
for i = 1, n do
  local f = redis.call('HMGET', KEYS[2 + i], 'created_at', 'expires_at')
  if f[1] and f[2] and tonumber(f[2]) > now and ARGV[7 + i] ~= ARGV[6] then
    table.insert(live, {tonumber(f[1]), ARGV[7 + i], i, f[2]})
  elseif ARGV[7 + i] ~= ARGV[6] then
    redis.call('ZREM', KEYS[1], ARGV[7 + i])
  end
end
local result = {1}
if limit >= 0 and #live >= limit then
  if ARGV[3] == 'deny' then return {0} end
  table.sort(live, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    return a[2] < b[2]
  end)
  for j = 1, #live - limit + 1 do
    local v = live[j]
    redis.call('DEL', KEYS[2 + v[3]])
    redis.call('ZREM', KEYS[1], v[2])
    table.insert(result, v[2])
    table.insert(result, v[4])
  end
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 8 + n))
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[6])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
return result
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

# KEYS: index, records. ARGV: their ids. Deletes the records and their index entries.
_END_SESSIONS = Lua.of("""
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('ZREM', KEYS[1], unpack(ARGV))
return #ARGV
""")


class RedisOps:
    """The store's operations for one key ``prefix``, as generators of command batches."""

    __slots__ = ("keys", "revocations")

    def __init__(self, prefix: str, *, min_replicas: int = 0, wait_ms: int = 100) -> None:
        self.keys = RedisKeys(prefix)
        #: Revocations and the change log (one hash slot).
        self.revocations = RevocationOps(prefix, min_replicas=min_replicas, wait_ms=wait_ms)

    # -- revocation ------------------------------------------------------------------------------

    def revoke(self, change: Change, now: float) -> Op[Change]:
        """Revoke a token or a session id, or move a subject's watermark; returns the change
        as written (a subject's with its new generation)."""
        if change.kind == SUBJECT:
            return (yield from self.revocations.revoke_subject(change, now))
        return (yield from self.revocations.revoke(change, now))

    def is_revoked(self, q: RevocationQuery, now: float) -> Op[bool]:
        return self.revocations.is_revoked(
            "" if q.token_id is None else token_member(q.issuer, q.token_id),
            "" if q.session_id is None else session_member(q.session_id),
            "" if q.subject is None else subject_member(q.issuer, q.subject),
            q.issued_at,
            q.generation,
            now,
        )

    def subject_generation(self, issuer: str, subject: str, now: float) -> Op[int]:
        return self.revocations.generation(subject_member(issuer, subject), now)

    # -- sessions ----------------------------------------------------------------------------------

    def _pointer_cmd(self, s: SessionInfo, now: float) -> Cmd:
        value = f"{fmt_time(s.expires_at)}\n{s.subject}"
        return ("SET", self.keys.pointer(s.session_id), value, "EX", ttl_seconds(s.expires_at, now))

    def _owner(self, session_id: str) -> Op[tuple[str, float] | None]:
        """``(subject, end)`` of a session id, from its pointer."""
        (value,) = yield [("GET", self.keys.pointer(session_id))]
        if value is None:
            return None
        end, _, subject = str(value).partition("\n")
        return subject, float(end)

    def create_session(self, s: SessionInfo, now: float) -> Op[None]:
        yield from self.start_session(s, now, None, True)

    def start_session(
        self, s: SessionInfo, now: float, limit: int | None, evict_oldest: bool
    ) -> Op[tuple[SessionStart, list[Change]]]:
        """Create a session within ``limit`` in one script on the subject's slot (retried while
        a concurrent login changes the index), then revoke the evicted sessions' ids."""
        keys = self.keys
        index, record = keys.subject_sessions(s.subject), keys.session(s.subject, s.session_id)
        fields = [item for pair in session_to_fields(s).items() for item in pair]
        ttl = ttl_seconds(s.expires_at, now)
        yield [self._pointer_cmd(s, now)]
        for _ in range(_START_ATTEMPTS):
            (members,) = yield [("ZRANGE", index, 0, -1)]
            members = [str(m) for m in members or ()]
            args = [fmt_time(now), -1 if limit is None else limit,
                    "evict" if evict_oldest else "deny", ttl, fmt_time(s.expires_at),
                    s.session_id, len(members), *members, *fields]  # fmt: skip
            script_keys = [index, record, *(keys.session(s.subject, m) for m in members)]
            (reply,) = yield [_START_SESSION.call(script_keys, *args)]
            if int(reply[0]) == -1:
                continue
            if int(reply[0]) == 0:
                yield [("DEL", keys.pointer(s.session_id))]
                return SessionStart(False), []
            evicted = [(str(reply[i]), float(reply[i + 1])) for i in range(1, len(reply), 2)]
            changes = []
            for sid, until in evicted:
                change = Change(SESSION, session_member(sid), until)
                changes.append((yield from self.revocations.revoke(change, now)))
            if evicted:  # one DEL per key: the pointers live in different hash slots
                yield [("DEL", keys.pointer(sid)) for sid, _ in evicted]
            return SessionStart(True, tuple(sid for sid, _ in evicted)), changes
        raise StoreUnavailable("redis: logins of one subject kept racing; try again")

    def get_session(self, session_id: str, now: float) -> Op[SessionInfo | None]:
        owner = yield from self._owner(session_id)
        if owner is None:
            return None
        (fields,) = yield [("HGETALL", self.keys.session(owner[0], session_id))]
        session = session_from_fields(session_id, fields or {})
        return session if session is not None and session.expires_at > now else None

    def touch_session(self, session_id: str, now: float, min_interval: float) -> Op[bool]:
        owner = yield from self._owner(session_id)
        if owner is None:
            return False
        key = self.keys.session(owner[0], session_id)
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
        records = yield [("HGETALL", self.keys.session(subject, m)) for m in members]
        live: list[SessionInfo] = []
        stale: list[str] = []
        for member, fields in zip(members, records, strict=True):
            s = session_from_fields(member, fields or {})
            if s is None or s.subject != subject or s.expires_at <= now:
                stale.append(member)  # ended or expired: prune the index lazily
            else:
                live.append(s)
        if stale:
            yield [("ZREM", index, *stale)]
        live.sort(key=lambda s: (s.created_at, s.session_id))
        return live

    def revoke_session(
        self, session_id: str, now: float, expires_at: float | None
    ) -> Op[tuple[int, list[Change]]]:
        """Revoke a session id until the session's own end (else ``expires_at``, else a day),
        then delete its record; ``(1 if it was live, the change written)``."""
        owner = yield from self._owner(session_id)
        ends = None if owner is None else owner[1]
        until = session_marker_expiry(ends, expires_at, now)
        change = yield from self.revocations.revoke(
            Change(SESSION, session_member(session_id), until), now
        )
        if owner is not None:
            yield from self._end(owner[0], [session_id])
        return int(ends is not None and ends > now), [change]

    def revoke_other_sessions(
        self, subject: str, keep: str | None, now: float
    ) -> Op[tuple[int, list[Change]]]:
        sessions = yield from self.list_sessions(subject, now)
        victims = [s for s in sessions if s.session_id != keep]
        changes = []
        for s in victims:
            change = Change(SESSION, session_member(s.session_id), s.expires_at)
            changes.append((yield from self.revocations.revoke(change, now)))
        if victims:
            yield from self._end(subject, [s.session_id for s in victims])
        return len(victims), changes

    def _end(self, subject: str, session_ids: list[str]) -> Op[None]:
        keys = [self.keys.subject_sessions(subject),
                *(self.keys.session(subject, sid) for sid in session_ids)]  # fmt: skip
        yield [_END_SESSIONS.call(keys, *session_ids)]
        yield [("DEL", self.keys.pointer(sid)) for sid in session_ids]

    # -- one-time markers and values ---------------------------------------------------------

    def consume_once(self, key: str, expires_at: float, now: float) -> Op[bool]:
        ttl = ttl_seconds(expires_at, now)
        (done,) = yield [("SET", self.keys.once(key), "1", "NX", "EX", ttl)]
        return bool(done)

    def put_value(self, key: str, value: str, expires_at: float, now: float) -> Op[None]:
        yield [("SET", self.keys.value(key), value, "EX", ttl_seconds(expires_at, now))]

    def get_value(self, key: str) -> Op[str | None]:
        (value,) = yield [("GET", self.keys.value(key))]
        return None if value is None else str(value)
