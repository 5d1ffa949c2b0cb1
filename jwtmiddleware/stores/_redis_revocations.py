"""Redis revocations and their change log, as sans-IO operations (see :mod:`._redis_ops`).

Every revocation lives in one hash slot (the ``{r}`` hash tag), with the change log that
describes it, so that one Lua script changes the state *and* appends to the log atomically, on
a single node and on a Redis Cluster alike:

- ``<prefix>{r}:t``: sorted set of revoked tokens, member = digest of ``(iss, jti)``, score =
  until when (UNIX time);
- ``<prefix>{r}:x``: sorted set of revoked sessions (digest of ``sid``);
- ``<prefix>{r}:w`` / ``:we``: subject watermarks, ``before`` in a hash and the expiry in a
  sorted set;
- ``<prefix>{r}:log``: the change log, a stream whose entries carry a contiguous ``seq``
  (from ``:seq``), capped near :data:`LOG_LENGTH` entries;
- ``<prefix>{r}:epoch``: a random id created with the data: a store that lost its data (a
  restart without persistence, ``FLUSHALL``) has a new epoch, which tells every mirror to reload.

Entries carry no time-to-live: expired members are removed by the next write (by score), so an
eviction policy that picks keys with a TTL never drops a revocation.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

from ..core.errors import StoreUnavailable
from ._changes import SESSION, SUBJECT, TOKEN, Change, LogPosition
from ._keys import fmt_time
from ._redis_lua import Cmd, Lua, Op

__all__ = ["LOG_LENGTH", "RevocationKeyNames", "RevocationOps"]

#: About how many changes the log keeps (``XADD MAXLEN ~``); a reader further behind reloads.
LOG_LENGTH = 100_000
_SCAN_COUNT = 5000

# Appends one change to the log; shared tail of every revoking script. KEYS[log], KEYS[seq],
# KEYS[epoch] are the last three keys; the script's ARGV ends with epoch candidate, maxlen.
_LOG_TAIL = """
local function log_change(kind, member, expires, before, generation)
  local n = #KEYS
  redis.call('SET', KEYS[n], ARGV[#ARGV - 1], 'NX')
  local seq = redis.call('INCR', KEYS[n - 1])
  redis.call('XADD', KEYS[n - 2], 'MAXLEN', '~', ARGV[#ARGV], '*',
             'seq', seq, 'k', kind, 'm', member, 'e', expires, 'b', before, 'g', generation)
  return seq
end
"""

# KEYS: sorted set, log, seq, epoch. ARGV: kind, member, until, now, epoch candidate, maxlen.
# The revocation lives until `until` (never shortened); expired members go on each write.
_REVOKE = Lua.of(
    _LOG_TAIL
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
redis.call('ZADD', KEYS[1], 'GT', ARGV[3], ARGV[2])
log_change(ARGV[1], ARGV[2], ARGV[3], '0', '0')
return 1
"""
)

# KEYS: watermark hash, generation hash, expiry set, log, seq, epoch.
# ARGV: member, before, until, now, epoch candidate, maxlen. The watermark only moves forward;
# the generation counts the logouts everywhere while the watermark lives. Returns it.
_REVOKE_SUBJECT = Lua.of(
    _LOG_TAIL
    + """
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[4], 'LIMIT', 0, 500)
if #dead > 0 then
  redis.call('ZREM', KEYS[3], unpack(dead))
  redis.call('HDEL', KEYS[1], unpack(dead))
  redis.call('HDEL', KEYS[2], unpack(dead))
end
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then redis.call('HDEL', KEYS[2], ARGV[1]) end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current or tonumber(current) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
local generation = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('ZADD', KEYS[3], 'GT', ARGV[3], ARGV[1])
log_change('w', ARGV[1], ARGV[3], ARGV[2], generation)
return generation
"""
)

# KEYS: a sorted set. ARGV: cursor, count, now. A ZSCAN page of the live members as {cursor,
# "member score ..."}: one string parses far faster than 10,000 replies (digests: no spaces).
_SCAN_LIVE = Lua.of("""
local page = redis.call('ZSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local now = tonumber(ARGV[3])
local flat, live = page[2], {}
for i = 1, #flat, 2 do
  if tonumber(flat[i + 1]) > now then
    live[#live + 1] = flat[i]
    live[#live + 1] = flat[i + 1]
  end
end
return {page[1], table.concat(live, ' ')}
""")

# KEYS: epoch, seq, log. ARGV: epoch candidate. Where the log ends: {epoch, seq, last id}.
_POSITION = Lua.of("""
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local cursor = '0-0'
if #last > 0 then cursor = last[1][1] end
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]) or '0', cursor}
""")

# KEYS: tokens, sessions, watermark hash, watermark expiry, generation hash. ARGV: now, token
# member, session member, subject member, iat, generation ('' when absent). 1 when revoked.
_IS_REVOKED = Lua.of("""
local now = tonumber(ARGV[1])
local function live(key, member)
  if member == '' then return false end
  local score = redis.call('ZSCORE', key, member)
  return score and tonumber(score) > now
end
if live(KEYS[1], ARGV[2]) or live(KEYS[2], ARGV[3]) then return 1 end
if live(KEYS[4], ARGV[4]) then
  if ARGV[6] ~= '' then
    local generation = redis.call('HGET', KEYS[5], ARGV[4])
    if generation and tonumber(ARGV[6]) < tonumber(generation) then return 1 end
    return 0
  end
  local before = redis.call('HGET', KEYS[3], ARGV[4])
  if before and (ARGV[5] == '' or tonumber(ARGV[5]) < tonumber(before)) then return 1 end
end
return 0
""")

# KEYS: expiry set, generation hash. ARGV: member, now. The live generation, or 0.
_GENERATION = Lua.of("""
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) <= tonumber(ARGV[2]) then return 0 end
return tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
""")


class RevocationKeyNames:
    """The names of the revocation keys under one prefix (one hash slot: ``{r}``)."""

    __slots__ = (
        "epoch",
        "generations",
        "log",
        "seq",
        "sessions",
        "subjects",
        "subjects_expiry",
        "tokens",
    )

    def __init__(self, prefix: str) -> None:
        base = f"{prefix}{{r}}:"
        self.tokens = base + "t"
        self.sessions = base + "x"
        self.subjects = base + "w"
        self.subjects_expiry = base + "we"
        self.generations = base + "wg"
        self.log = base + "log"
        self.seq = base + "seq"
        self.epoch = base + "epoch"

    def state(self) -> list[str]:
        """Tokens, sessions, watermarks, their expiry and generations (the scripts' order)."""
        return [self.tokens, self.sessions, self.subjects, self.subjects_expiry, self.generations]

    def log_tail(self) -> list[str]:
        """Log, seq, epoch: the keys every revoking script ends with."""
        return [self.log, self.seq, self.epoch]


class RevocationOps:
    """Revocation writes, the per-request check and the change-log reads, as operations.

    :param min_replicas: ``STORE_MIN_REPLICAS``: every revocation is followed, on the same
        connection, by ``WAIT min_replicas wait_ms``; fewer acknowledgements raise
        :class:`~jwtmiddleware.errors.StoreUnavailable`.
    :param wait_ms: the ``WAIT`` timeout in milliseconds.
    """

    __slots__ = ("_epoch", "_wait", "names")

    def __init__(self, prefix: str, *, min_replicas: int = 0, wait_ms: int = 100) -> None:
        self.names = RevocationKeyNames(prefix)
        # Written only where the store has no epoch yet (a new or emptied store).
        self._epoch = secrets.token_hex(16)
        self._wait: Cmd | None = ("WAIT", min_replicas, wait_ms) if min_replicas > 0 else None

    def _tail(self) -> tuple[str, int]:
        return self._epoch, LOG_LENGTH

    def _durable(self, cmd: Cmd) -> Op[Any]:
        """Send a revoking script, then ``WAIT`` for the replicas on the same connection."""
        if self._wait is None:
            (reply,) = yield [cmd]
            return reply
        reply, acknowledged = yield [cmd, self._wait]
        wanted = self._wait[1]
        if int(acknowledged) < wanted:
            raise StoreUnavailable(
                f"redis: the revocation reached {acknowledged} of {wanted} replicas within "
                f"{self._wait[2]} ms (STORE_MIN_REPLICAS)"
            )
        return reply

    def revoke(self, change: Change, now: float) -> Op[Change]:
        """Revoke a token (:data:`TOKEN`) or a session id (:data:`SESSION`) by member."""
        n = self.names
        zset = n.tokens if change.kind == TOKEN else n.sessions
        yield from self._durable(_REVOKE.call([zset, *n.log_tail()], change.kind, change.member,
                                              fmt_time(change.expires_at), fmt_time(now),
                                              *self._tail()))  # fmt: skip
        return change

    def revoke_subject(self, change: Change, now: float) -> Op[Change]:
        """Move a subject's watermark and count a generation; returns the change written."""
        n = self.names
        keys = [n.subjects, n.generations, n.subjects_expiry, *n.log_tail()]
        generation = yield from self._durable(
            _REVOKE_SUBJECT.call(keys, change.member, fmt_time(change.before),
                                 fmt_time(change.expires_at), fmt_time(now), *self._tail())
        )  # fmt: skip
        return change._replace(generation=int(generation))

    def generation(self, member: str, now: float) -> Op[int]:
        n = self.names
        (value,) = yield [_GENERATION.call([n.subjects_expiry, n.generations], member,
                                           fmt_time(now))]  # fmt: skip
        return int(value)

    def is_revoked(self, token: str, session: str, subject: str, iat: float | None,
                   generation: int | None, now: float) -> Op[bool]:  # fmt: skip
        """Members ``""`` where the token has no such claim."""
        iat_arg = "" if iat is None else fmt_time(iat)
        gen_arg = "" if generation is None else str(generation)
        (hit,) = yield [_IS_REVOKED.call(self.names.state(), fmt_time(now), token, session,
                                         subject, iat_arg, gen_arg)]  # fmt: skip
        return bool(hit)

    # -- reading the log -------------------------------------------------------------------------

    def position(self) -> Op[LogPosition]:
        n = self.names
        ((epoch, seq, cursor),) = yield [_POSITION.call([n.epoch, n.seq, n.log], self._epoch)]
        return LogPosition(str(epoch), int(seq), str(cursor))

    def read(self, after: LogPosition, limit: int) -> Op[list[tuple[LogPosition, Change]]]:
        (entries,) = yield [("XRANGE", self.names.log, "(" + after.cursor, "+", "COUNT", limit)]
        return [(LogPosition(after.epoch, int(f["seq"]), entry_id), _change(f))
                for entry_id, f in entries or ()]  # fmt: skip

    def scan_page(self, kind: str, cursor: int, now: float) -> Op[tuple[int, list[Change]]]:
        """One page of a snapshot of ``kind``: ``(next cursor, changes)``; cursor 0 ends."""
        n = self.names
        if kind == SUBJECT:
            (page,) = yield [("ZSCAN", n.subjects_expiry, cursor, "COUNT", _SCAN_COUNT)]
            nxt, flat = page
            pairs = list(_pairs(flat))
            live = [(m, exp) for m, exp in pairs if exp > now]
            befores, generations = (
                (yield [("HMGET", n.subjects, *[m for m, _ in live]),
                        ("HMGET", n.generations, *[m for m, _ in live])])
                if live else ([], [])
            )  # fmt: skip
            changes = [
                Change(SUBJECT, m, exp, float(b), int(g or 0))
                for (m, exp), b, g in zip(live, befores, generations, strict=True)
                if b is not None
            ]
            return int(nxt), changes
        key = n.tokens if kind == TOKEN else n.sessions
        ((nxt, joined),) = yield [_SCAN_LIVE.call([key], cursor, _SCAN_COUNT, fmt_time(now))]
        if isinstance(joined, bytes):
            joined = joined.decode()
        flat = joined.split(" ") if joined else []
        it = iter(flat)
        return int(nxt), [Change(kind, m, float(exp)) for m, exp in zip(it, it, strict=True)]


def _pairs(flat: Any) -> Iterator[tuple[str, float]]:
    # redis-py answers ZSCAN with [(member, score), ...]; the raw reply is [m, s, m, s, ...].
    if flat and isinstance(flat[0], list | tuple):
        for m, s in flat:
            yield str(m), float(s)
        return
    it = iter(flat)
    for m, s in zip(it, it, strict=True):
        yield str(m), float(s)


def _change(fields: dict[str, str]) -> Change:
    kind = fields["k"]
    if kind not in (TOKEN, SESSION, SUBJECT):
        kind = "?"  # a newer writer's kind: the mirror ignores it
    return Change(
        kind, fields["m"], float(fields["e"]), float(fields.get("b", 0.0)), int(fields.get("g", 0))
    )
