"""SQLiteStore specifics: several processes on one file, locking, schema and pragmas."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from jwtmiddleware.core.errors import StoreUnavailable
from jwtmiddleware.stores import RevocationQuery, SQLiteStore

ISS = "https://issuer.example"

# Each process opens the store, waits for a common start instant, then races with 8 threads
# over every key (each key attempted 4 times per process) and prints the keys it won.
RACER = textwrap.dedent(
    """
    import json, random, sys, time
    from concurrent.futures import ThreadPoolExecutor
    from jwtmiddleware.stores import SQLiteStore

    path, start, nkeys = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    store = SQLiteStore(path)
    attempts = [f"k{i}" for i in range(nkeys)] * 4
    random.shuffle(attempts)
    time.sleep(max(0.0, start - time.time()))
    now = time.time()
    with ThreadPoolExecutor(8) as pool:
        won = [k for k, ok in zip(attempts, pool.map(
            lambda k: store.consume_once(k, expires_at=now + 600, now=now), attempts)) if ok]
    store.close()
    print(json.dumps(won))
    """
)


def test_two_processes_race_consume_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    SQLiteStore(path).close()  # create the schema once, as the app's start-up would
    start = time.time() + 1.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(path), str(start), "40"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out))
    wins = Counter(key for won in outputs for key in won)
    assert set(wins) == {f"k{i}" for i in range(40)}
    assert set(wins.values()) == {1}  # every key won exactly once across both processes


def test_revocation_is_visible_to_another_process(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    now = time.time()
    with SQLiteStore(path) as store:
        store.revoke_token(ISS, "j1", expires_at=now + 60, now=now)
    code = (
        "import sys, time; from jwtmiddleware.stores import SQLiteStore, RevocationQuery as Q;"
        "s = SQLiteStore(sys.argv[1]); now = time.time();"
        f"print(s.is_revoked(Q({ISS!r}, None, 'j1', None, None), now=now),"
        f" s.is_revoked(Q({ISS!r}, None, 'j2', None, None), now=now)); s.close()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False"]


def test_locked_database_raises_store_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    store = SQLiteStore(path, busy_timeout=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        start = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            store.consume_once("k", expires_at=time.time() + 5, now=time.time())
        assert time.monotonic() - start < 2.0
        assert isinstance(info.value.__cause__, sqlite3.OperationalError)
        blocker.execute("ROLLBACK")
        now = time.time()
        assert store.consume_once("k", expires_at=now + 5, now=now) is True  # pool still usable
    finally:
        blocker.close()
        store.close()


def test_unopenable_path_raises_store_unavailable(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "x.db"
    with pytest.raises(StoreUnavailable) as info:
        SQLiteStore(target)
    assert str(target) in str(info.value)  # which file could not be opened


def test_schema_is_idempotent_and_pragmas_are_set(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    now = time.time()
    with SQLiteStore(path) as first:
        first.put_value("k", "v", expires_at=now + 60, now=now)
    with SQLiteStore(path) as second:  # re-running the schema keeps the data
        assert second.get_value("k", now=now) == "v"
        with second._connection() as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
            assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
            indexes = {row[1] for row in conn.execute("PRAGMA index_list(jwtmw_sessions)")}
            assert "jwtmw_sessions_subject" in indexes


def test_is_revoked_is_one_statement(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    try:
        now = time.time()
        query = RevocationQuery(ISS, "alice", "j1", "s1", now)
        store.is_revoked(query, now=now)  # leaves one pooled connection
        statements: list[str] = []
        with store._connection() as conn:
            conn.set_trace_callback(statements.append)
        try:
            store.revoke_subject(ISS, "alice", before=now + 1, expires_at=now + 60, now=now)
            statements.clear()
            assert store.is_revoked(query, now=now) is True
        finally:
            with store._connection() as conn:
                conn.set_trace_callback(None)
        assert len(statements) == 1
        assert statements[0].lstrip().startswith("SELECT")
    finally:
        store.close()


def test_closed_store_raises(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.close()
    with pytest.raises(StoreUnavailable):
        store.get_value("k", now=time.time())


@pytest.mark.parametrize("bad", [":memory:", "", "file::memory:?cache=shared"])
def test_in_memory_paths_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="file path"):
        SQLiteStore(bad)
