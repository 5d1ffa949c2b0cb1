"""``open_store``: URL schemes, SQLAlchemy-style SQLite paths, errors that never leak secrets."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import jwtmiddleware.stores as stores
from jwtmiddleware.core.errors import ConfigurationError
from jwtmiddleware.stores import MemoryStore, SQLiteStore, Store, open_store
from jwtmiddleware.stores._url import redact_url

SECRET = "s3cr3t-Passw0rd"


def test_memory() -> None:
    store = open_store("memory://")
    assert isinstance(store, MemoryStore)
    store.close()


def test_sqlite_relative_path_follows_sqlalchemy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    store = open_store("sqlite:///data/revocations.db")
    try:
        assert isinstance(store, SQLiteStore)
        assert store.path == "data/revocations.db"
        assert (tmp_path / "data" / "revocations.db").is_file()
    finally:
        store.close()


def test_sqlite_absolute_path_has_four_slashes(tmp_path: Path) -> None:
    target = tmp_path / "abs.db"
    store = open_store(f"sqlite:///{target}")  # tmp_path starts with "/": four slashes
    try:
        assert isinstance(store, SQLiteStore)
        assert store.path == str(target)
        assert target.is_file()
    finally:
        store.close()


@pytest.mark.redis
def test_redis_schemes_build_a_redis_store_without_connecting() -> None:
    from jwtmiddleware.stores.redis import RedisStore

    for url in (
        "redis://127.0.0.1:1/0",
        "rediss://cache.internal:6380/2",
        "unix:///run/redis/redis.sock?db=1",
        "REDIS://127.0.0.1:1",
    ):
        store = open_store(url, timeout=0.3, prefix="app:")
        try:
            assert isinstance(store, RedisStore)
            assert store.timeout == 0.3
            assert store.prefix == "app:"
        finally:
            store.close()


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "memory",
        "memory://somewhere",
        "nope://x",
        "postgres://user:pw@db/x",
        "sqlite://",
        "sqlite://:memory:",
        "sqlite:///:memory:",
        "sqlite:///",
        "sqlite://host/x.db",
        "sqlite:///x.db?mode=ro",
        "sqlite:///file::memory:?cache=shared",
        "redis://",
        "redis://:6379/0",
        "redis://127.0.0.1:notaport/0",
        "redis://127.0.0.1:99999/0",
        "redis://127.0.0.1:6379/zero",
        "unix://",
        "/var/lib/store.db",
    ],
)
def test_bad_urls_raise_configuration_error_naming_store(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        open_store(url)
    assert info.value.setting == "STORE"
    assert "memory://" in info.value.message
    assert "sqlite:///" in info.value.message
    assert "redis://" in info.value.message


@pytest.mark.parametrize(
    "url",
    [
        f"redis://user:{SECRET}@127.0.0.1:notaport/0",
        f"redis://:{SECRET}@/0",
        f"rediss://:{SECRET}@cache:6380/db",
        f"ftp://admin:{SECRET}@host/",
        f"sqlite://:{SECRET}@host/x.db",
        f"redis://127.0.0.1:bad/0?password={SECRET}",
    ],
)
def test_errors_never_contain_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        open_store(url)
    error = info.value
    assert SECRET not in str(error)
    assert SECRET not in repr(error)
    assert error.__cause__ is None or SECRET not in str(error.__cause__)
    assert error.__suppress_context__ or error.__context__ is None


@pytest.mark.redis
@pytest.mark.parametrize(
    "url",
    [
        f"redis://user:{SECRET}@127.0.0.1:1/0",
        f"redis://:{SECRET}@127.0.0.1:1/0",
        f"redis://127.0.0.1:1/0?password={SECRET}",
    ],
)
def test_repr_never_contains_the_password(url: str) -> None:
    store = stores.RedisStore(url)
    try:
        assert SECRET not in repr(store)
        assert "127.0.0.1:1" in repr(store)
    finally:
        store.close()


@pytest.mark.redis
def test_malformed_url_given_directly_does_not_leak_either() -> None:
    with pytest.raises(ValueError, match="malformed") as info:
        stores.RedisStore(f"redis://:{SECRET}/with/slash@127.0.0.1:1/0")
    assert SECRET not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_redact_url() -> None:
    assert redact_url(f"redis://u:{SECRET}@h:1/0") == "redis://***@h:1/0"
    assert redact_url(f"redis://h:1/0?db=1&password={SECRET}") == "redis://h:1/0?db=1&password=***"
    assert redact_url("redis://h:1/0") == "redis://h:1/0"
    assert redact_url(f"redis://:{SECRET}/x@h:1/0") == "redis://***@h:1/0"
    assert SECRET not in redact_url(f"no scheme {SECRET}")


def test_non_positive_timeout_is_refused() -> None:
    with pytest.raises(ConfigurationError) as info:
        open_store("redis://127.0.0.1:1/0", timeout=0)
    assert info.value.setting == "STORE_TIMEOUT"


def test_importing_stores_does_not_import_redis() -> None:
    code = (
        "import sys, jwtmiddleware.stores as s;"
        "assert 'redis' not in sys.modules, 'redis imported eagerly';"
        "s.open_store('memory://').close();"
        "assert 'redis' not in sys.modules;"
        "s.RedisStore;"
        "assert 'redis' in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_exports() -> None:
    assert stores.__all__ == sorted(stores.__all__)
    for name in stores.__all__:
        assert getattr(stores, name) is not None
    assert issubclass(stores.MemoryStore, Store)
    with pytest.raises(AttributeError):
        stores.NotAStore  # noqa: B018


# -- SQLite files that cannot serve: a ConfigurationError naming STORE and the file (issue 15) --


def test_a_missing_sqlite_directory_names_the_setting_and_the_path(tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "revocations.db"
    with pytest.raises(ConfigurationError) as info:
        open_store(f"sqlite:///{target}")
    assert info.value.setting == "STORE"
    assert str(target) in str(info.value)
    assert str(tmp_path / "no-such-dir") in str(info.value)
    assert not (tmp_path / "no-such-dir").exists()  # nothing created behind our back


@pytest.mark.parametrize(
    "content",
    [b"this is not a database\n" * 100, b"SQLite format 3\x00" + b"\xff" * 4000],
)
def test_a_corrupt_sqlite_file_names_the_setting_and_the_file(
    tmp_path: Path, content: bytes
) -> None:
    target = tmp_path / "corrupt.db"
    target.write_bytes(content)
    with pytest.raises(ConfigurationError) as info:
        open_store(f"sqlite:///{target}")
    assert info.value.setting == "STORE"
    assert str(target) in str(info.value)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)  # the detail, for logs
    assert target.read_bytes() == content  # left as it was


def test_a_directory_in_place_of_the_sqlite_file(tmp_path: Path) -> None:
    target = tmp_path / "store.db"
    target.mkdir()
    with pytest.raises(ConfigurationError) as info:
        open_store(f"sqlite:///{target}")
    assert info.value.setting == "STORE"
    assert str(target) in str(info.value)


def test_the_command_line_reports_a_corrupt_store_and_exits_2(tmp_path: Path) -> None:
    target = tmp_path / "corrupt.db"
    target.write_bytes(b"garbage" * 500)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTMIDDLEWARE_")}
    result = subprocess.run(
        [sys.executable, "-m", "jwtmiddleware", "sessions", "alice", "--store",
         f"sqlite:///{target}"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(f"configuration error: STORE: '{target}' is not a usable")
    assert "Traceback" not in result.stderr
