"""Reading the SQLite store's change log, for one mirror's follower thread.

The store writes each revocation and its numbered change row in one ``BEGIN IMMEDIATE``
transaction (:mod:`._sql`); this reader has a connection of its own (busy timeout 0: in WAL
mode readers never wait for the writer) and watches ``PRAGMA data_version``, which changes when
any other connection commits, every ``min(timeout, 50 ms)``. It also watches the file itself:
a database file replaced underneath (a restored backup) is noticed by its inode and makes the
follower reconnect and resync.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator

from ..core.errors import StoreUnavailable
from . import _sql
from ._changes import Change, ChangeLog, LogGap, LogPosition, member

__all__ = ["SQLiteChangeLog"]

_POLL = 0.05
_SNAPSHOT_BATCH = 10_000


def _file_id(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise StoreUnavailable(f"sqlite: cannot stat {path}: {exc.strerror}") from exc
    return st.st_dev, st.st_ino


class SQLiteChangeLog(ChangeLog):
    """A reader of one SQLite store's change log (one connection, one thread)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._file = _file_id(path)
        try:
            self._conn = sqlite3.connect(path, timeout=0.0, isolation_level=None,
                                         check_same_thread=False)  # fmt: skip
            self._version = self._data_version()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc

    def _data_version(self) -> int:
        (version,) = self._conn.execute("PRAGMA data_version").fetchone()
        return int(version)

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc

    def position(self) -> LogPosition:
        ((epoch, seq),) = self._query(_sql.POSITION)
        if epoch is None or seq is None:
            raise StoreUnavailable("sqlite: the change log's position is missing")
        return LogPosition(str(epoch), int(seq), str(seq))  # type: ignore[call-overload]

    def snapshot(self, now: float) -> tuple[LogPosition, Iterator[list[Change]]]:
        # One read transaction: the position and the state come from the same moment.
        try:
            self._conn.execute("BEGIN")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc
        try:
            position = self.position()
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return position, self._state(now)

    def _state(self, now: float) -> Iterator[list[Change]]:
        try:
            for kind, sql in _sql.SNAPSHOT_QUERIES:
                cursor = self._conn.execute(sql + " WHERE expires_at > ?", (now,))
                while rows := cursor.fetchmany(_SNAPSHOT_BATCH):
                    yield [
                        Change(
                            kind,
                            member(kind, a) if b is None else member(kind, a, b),
                            float(exp),
                            float(before),
                            int(generation),
                        )
                        for a, b, exp, before, generation in rows
                    ]
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc
        finally:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")

    def read(self, after: LogPosition, limit: int) -> list[tuple[LogPosition, Change]]:
        rows = self._query(_sql.READ_CHANGES, (after.seq, limit))
        if rows and rows[0][0] != after.seq + 1:
            raise LogGap(f"the log was trimmed past seq {after.seq}")
        epoch = after.epoch
        return [
            (LogPosition(epoch, seq, str(seq)), Change(kind, mem, exp, before, gen))  # type: ignore[arg-type]
            for seq, kind, mem, exp, before, gen in rows
        ]

    def wait(self, after: LogPosition, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        poll = min(timeout, _POLL)
        while True:
            if _file_id(self._path) != self._file:
                raise StoreUnavailable(f"sqlite: {self._path} was replaced")
            try:
                version = self._data_version()
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"sqlite: {exc}") from exc
            if version != self._version:
                self._version = version
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(poll, left))

    def close(self) -> None:
        self._conn.close()
