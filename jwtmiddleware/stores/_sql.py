"""The SQL of :class:`~jwtmiddleware.stores.sqlite.SQLiteStore`: schema and statements.

Every statement binds its values as parameters; table names are fixed identifiers.
"""

from __future__ import annotations

__all__ = [
    "APPEND_CHANGE",
    "CHANGES_KEPT",
    "CONSUME_ONCE",
    "EXPIRING_TABLES",
    "INSERT_SESSION",
    "IS_REVOKED",
    "MARK_SESSION",
    "REVOKE_JTI",
    "REVOKE_SUBJECT",
    "SCHEMA",
    "NEXT_SEQ",
    "POSITION",
    "READ_CHANGES",
    "SELECT_SESSIONS",
    "LIVE_SESSIONS",
    "MIGRATIONS",
    "SNAPSHOT_QUERIES",
    "SUBJECT_GENERATION",
    "TRIM_CHANGES",
]

SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS jwtmw_revoked_tokens (
    issuer TEXT NOT NULL, token_id TEXT NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (issuer, token_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jwtmw_watermarks (
    issuer TEXT NOT NULL, subject TEXT NOT NULL, before REAL NOT NULL, expires_at REAL NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (issuer, subject)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jwtmw_revoked_sessions (
    session_id TEXT PRIMARY KEY, expires_at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jwtmw_sessions (
    session_id TEXT PRIMARY KEY, subject TEXT NOT NULL, created_at REAL NOT NULL,
    last_seen REAL NOT NULL, expires_at REAL NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '', ip TEXT NOT NULL DEFAULT '') WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jwtmw_once (
    key TEXT PRIMARY KEY, expires_at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jwtmw_values (
    key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jwtmw_sessions_subject ON jwtmw_sessions (subject, created_at);
CREATE INDEX IF NOT EXISTS jwtmw_sessions_exp ON jwtmw_sessions (expires_at);
CREATE INDEX IF NOT EXISTS jwtmw_revoked_tokens_exp ON jwtmw_revoked_tokens (expires_at);
CREATE INDEX IF NOT EXISTS jwtmw_watermarks_exp ON jwtmw_watermarks (expires_at);
CREATE INDEX IF NOT EXISTS jwtmw_revoked_sessions_exp ON jwtmw_revoked_sessions (expires_at);
CREATE INDEX IF NOT EXISTS jwtmw_once_exp ON jwtmw_once (expires_at);
CREATE INDEX IF NOT EXISTS jwtmw_values_exp ON jwtmw_values (expires_at);
CREATE TABLE IF NOT EXISTS jwtmw_meta (name TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO jwtmw_meta (name, value) VALUES ('epoch', lower(hex(randomblob(16))));
INSERT OR IGNORE INTO jwtmw_meta (name, value) VALUES ('seq', 0);
CREATE TABLE IF NOT EXISTS jwtmw_changes (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, member TEXT NOT NULL,
    expires_at REAL NOT NULL, before REAL NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0);
COMMIT;
"""

# -- the change log: one row per revocation, numbered by a counter in jwtmw_meta, written in the
# -- transaction that changes the state it describes.

NEXT_SEQ = "UPDATE jwtmw_meta SET value = value + 1 WHERE name = 'seq' RETURNING value"
APPEND_CHANGE = """
INSERT INTO jwtmw_changes (seq, kind, member, expires_at, before, generation)
VALUES (?, ?, ?, ?, ?, ?)
"""
POSITION = """
SELECT (SELECT value FROM jwtmw_meta WHERE name = 'epoch'),
       (SELECT value FROM jwtmw_meta WHERE name = 'seq')
"""
READ_CHANGES = """
SELECT seq, kind, member, expires_at, before, generation FROM jwtmw_changes
WHERE seq > ? ORDER BY seq LIMIT ?
"""
#: Changes kept for readers that fell behind; one further behind reloads a snapshot.
CHANGES_KEPT = 100_000
TRIM_CHANGES = """
DELETE FROM jwtmw_changes
WHERE seq <= (SELECT value FROM jwtmw_meta WHERE name = 'seq') - ?
"""
#: Every live revocation, by kind: (kind, query returning the member's parts, expiry, before).
SNAPSHOT_QUERIES = (
    ("t", "SELECT issuer, token_id, expires_at, 0, 0 FROM jwtmw_revoked_tokens"),
    ("x", "SELECT session_id, NULL, expires_at, 0, 0 FROM jwtmw_revoked_sessions"),
    ("w", "SELECT issuer, subject, expires_at, before, generation FROM jwtmw_watermarks"),
)
#: Columns added since a database file was first created: (table, column, definition).
MIGRATIONS = (
    ("jwtmw_watermarks", "generation", "INTEGER NOT NULL DEFAULT 0"),
    ("jwtmw_changes", "generation", "INTEGER NOT NULL DEFAULT 0"),
)
SUBJECT_GENERATION = """
SELECT generation FROM jwtmw_watermarks WHERE issuer = ? AND subject = ? AND expires_at > ?
"""
LIVE_SESSIONS = """
SELECT session_id, expires_at FROM jwtmw_sessions WHERE subject = ? AND expires_at > ?
ORDER BY created_at, session_id
"""

EXPIRING_TABLES = (
    "jwtmw_revoked_tokens",
    "jwtmw_watermarks",
    "jwtmw_revoked_sessions",
    "jwtmw_sessions",
    "jwtmw_once",
    "jwtmw_values",
)

# One statement, one round trip: each EXISTS is a primary-key probe.
IS_REVOKED = """
SELECT EXISTS (SELECT 1 FROM jwtmw_revoked_tokens
               WHERE issuer = :iss AND token_id = :jti AND expires_at > :now)
    OR EXISTS (SELECT 1 FROM jwtmw_revoked_sessions
               WHERE session_id = :sid AND expires_at > :now)
    OR EXISTS (SELECT 1 FROM jwtmw_watermarks
               WHERE issuer = :iss AND subject = :sub AND expires_at > :now
                 AND CASE WHEN :gen IS NOT NULL THEN :gen < generation
                          ELSE :iat IS NULL OR :iat < before END)
"""

# An expired row counts as absent: it is replaced instead of merged.
REVOKE_JTI = """
INSERT INTO jwtmw_revoked_tokens (issuer, token_id, expires_at) VALUES (?, ?, ?)
ON CONFLICT (issuer, token_id) DO UPDATE SET expires_at = CASE
    WHEN expires_at <= ? THEN excluded.expires_at ELSE MAX(expires_at, excluded.expires_at) END
"""

# The generation counts the logouts everywhere while the watermark lives; the SET expressions
# all read the old row.
REVOKE_SUBJECT = """
INSERT INTO jwtmw_watermarks (issuer, subject, before, expires_at, generation)
VALUES (?, ?, ?, ?, 1)
ON CONFLICT (issuer, subject) DO UPDATE SET
    before = CASE WHEN expires_at <= ?5 THEN excluded.before
                  ELSE MAX(before, excluded.before) END,
    generation = CASE WHEN expires_at <= ?5 THEN 1 ELSE generation + 1 END,
    expires_at = CASE WHEN expires_at <= ?5 THEN excluded.expires_at
                      ELSE MAX(expires_at, excluded.expires_at) END
RETURNING generation
"""

MARK_SESSION = """
INSERT INTO jwtmw_revoked_sessions (session_id, expires_at) VALUES (?, ?)
ON CONFLICT (session_id) DO UPDATE SET expires_at = CASE
    WHEN expires_at <= ? THEN excluded.expires_at ELSE MAX(expires_at, excluded.expires_at) END
"""

# The unique key makes this the whole race: only one INSERT (or revival of an expired row) can
# change a row, and sqlite3's rowcount tells us whether ours did.
CONSUME_ONCE = """
INSERT INTO jwtmw_once (key, expires_at) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE expires_at <= ?
"""

SELECT_SESSIONS = """
SELECT session_id, subject, created_at, last_seen, expires_at, user_agent, ip FROM jwtmw_sessions
"""
INSERT_SESSION = """
INSERT OR REPLACE INTO jwtmw_sessions
    (session_id, subject, created_at, last_seen, expires_at, user_agent, ip)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""
