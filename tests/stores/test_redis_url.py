"""Redis store URLs: one node, Cluster and Sentinel (and their TLS twins), options, secrets."""

from __future__ import annotations

import pytest

from jwtmiddleware.core.errors import ConfigurationError
from jwtmiddleware.integration import parse_store_url
from jwtmiddleware.stores import open_store
from jwtmiddleware.stores._url import RedisConfig, StoreURL, redact_url

SECRET = "s3cr3t-Passw0rd"
#: A password that looks like an option name, to prove option names are not echoed blindly.
PLAIN_SECRET = "hunter_two"


def redis_of(url: str) -> RedisConfig:
    parsed = parse_store_url(url)
    assert parsed.redis is not None
    return parsed.redis


def refusal(url: str) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        parse_store_url(url)
    assert info.value.setting == "STORE"
    return info.value


# -- Cluster -------------------------------------------------------------------------------


def test_cluster_seed_nodes_and_credentials() -> None:
    parsed = parse_store_url("REDIS+CLUSTER://app:p%40ss@10.0.0.1:7000,cache-2.internal:7001")
    assert parsed.kind == "redis-cluster"
    assert parsed.target == "redis+cluster://app:p%40ss@10.0.0.1:7000,cache-2.internal:7001"
    config = parsed.redis
    assert config is not None
    assert config.nodes == (("10.0.0.1", 7000), ("cache-2.internal", 7001))
    assert (config.username, config.password) == ("app", "p@ss")
    assert config.tls is False
    assert config.db == 0
    assert config.service_name is None
    assert config.ssl_options() == {}


def test_cluster_defaults_ipv6_and_duplicates() -> None:
    config = redis_of("redis+cluster://a,[::1]:7002,a:6379,[fe80::1]")
    assert config.nodes == (("a", 6379), ("::1", 7002), ("fe80::1", 6379))
    assert "[::1]:7002" in config.describe()
    assert redis_of("redis+cluster://:only-password@h:1/").password == "only-password"
    assert redis_of("redis+cluster://h:1/0").db == 0
    # Everything up to the last "@" is user information, as urllib reads it.
    assert redis_of("redis+cluster://:a/b?c@d@h:1").password == "a/b?c@d"


def test_cluster_over_tls_with_every_tls_option() -> None:
    config = redis_of(
        "rediss+cluster://h1:7000,h2:7000?ssl_ca_certs=/etc/ca.pem&ssl_certfile=/c.pem"
        "&ssl_keyfile=/k.pem&ssl_cert_reqs=Optional&ssl_check_hostname=no"
    )
    assert config.kind == "redis-cluster"
    assert config.tls is True
    assert config.ssl_options() == {
        "ssl": True,
        "ssl_ca_certs": "/etc/ca.pem",
        "ssl_certfile": "/c.pem",
        "ssl_keyfile": "/k.pem",
        "ssl_cert_reqs": "optional",
        "ssl_check_hostname": False,
    }
    assert "over TLS" in config.describe()


def test_tls_defaults_verify_certificate_and_hostname() -> None:
    config = redis_of("rediss+cluster://h:1")
    assert (config.ssl_cert_reqs, config.ssl_check_hostname) == ("required", True)
    config = redis_of("rediss://h:1/0?ssl_cert_reqs=none")
    assert (config.ssl_cert_reqs, config.ssl_check_hostname) == ("none", False)


# -- Sentinel ------------------------------------------------------------------------------


def test_sentinel_service_db_and_sentinel_credentials() -> None:
    parsed = parse_store_url(
        f"redis+sentinel://app:{SECRET}@s1:26380,s2,[::1]:5000/my.master-1/3"
        f"?sentinel_username=watch&sentinel_password={SECRET}x"
    )
    assert parsed.kind == "redis-sentinel"
    config = parsed.redis
    assert config is not None
    assert config.nodes == (("s1", 26380), ("s2", 26379), ("::1", 5000))
    assert config.service_name == "my.master-1"
    assert config.db == 3
    assert (config.username, config.password) == ("app", SECRET)
    assert (config.sentinel_username, config.sentinel_password) == ("watch", SECRET + "x")
    for text in (repr(parsed), repr(config), config.describe(), str(parsed)):
        assert SECRET not in text
    assert "my.master-1" in config.describe()


def test_sentinel_db_defaults_to_zero_and_tls_twin() -> None:
    assert redis_of("redis+sentinel://s1:26379/mymaster").db == 0
    assert redis_of("redis+sentinel://s1:26379/mymaster/").db == 0
    config = redis_of("rediss+sentinel://s1/mymaster?ssl_ca_certs=/ca.pem")
    assert (config.kind, config.tls, config.ssl_ca_certs) == ("redis-sentinel", True, "/ca.pem")


# -- one node: the existing forms, now with their options validated ------------------------


def test_single_node_forms() -> None:
    config = redis_of(f"redis://u:{SECRET}@127.0.0.1:6380/2")
    assert (config.kind, config.nodes, config.db) == ("redis", (("127.0.0.1", 6380),), 2)
    assert (config.username, config.password) == ("u", SECRET)
    assert redis_of("redis://cache").nodes == (("cache", 6379),)
    unix = redis_of("unix:///run/redis/redis.sock?db=1")
    assert (unix.path, unix.db, unix.nodes) == ("/run/redis/redis.sock", 1, ())
    assert "unix:/run/redis/redis.sock" in unix.describe()
    query = redis_of(f"redis://h:1/0?db=4&username=me&password={SECRET}")
    assert (query.db, query.username, query.password) == (4, "me", SECRET)
    tls = redis_of("rediss://h:1/0?ssl_ca_certs=/ca.pem&ssl_cert_reqs=required")
    assert tls.ssl_options()["ssl_ca_certs"] == "/ca.pem"
    assert parse_store_url("memory://").redis is None


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("redis://h:1/0?socket_timeout=5", "STORE_TIMEOUT"),
        ("redis+cluster://h:1?timeout=5", "STORE_TIMEOUT"),
        ("redis://h:1/0?ssl_ca_certs=/ca.pem", "rediss://"),
        ("redis+cluster://h:1?ssl_cert_reqs=none", "rediss+cluster://"),
        ("unix:///x.sock?ssl_certfile=/c", "unix:// URLs do not use"),
        ("redis+cluster://h:1?sentinel_password=x", "redis+sentinel:// URLs only"),
        ("rediss://h:1?sentinel_username=x", "redis+sentinel:// URLs only"),
        ("redis+cluster://h:1?db=1", "in the URL itself"),
        ("redis+sentinel://h:1/m?password=x", "in the URL itself"),
        ("redis+cluster://h:1?ssl_ca_cert=/x", "unknown option 'ssl_ca_cert'"),
        ("redis://h:1/0?protocol=3", "unknown option 'protocol'"),
        ("rediss+cluster://h:1?ssl_ca_certs=/a&ssl_ca_certs=/b", "given twice"),
        ("rediss+cluster://h:1?ssl_cert_reqs=maybe", "ssl_cert_reqs must be one of"),
        ("rediss+cluster://h:1?ssl_check_hostname=perhaps", "true or false"),
        ("rediss://h:1?ssl_cert_reqs=none&ssl_check_hostname=1", "needs certificate"),
        ("rediss://h:1?ssl_keyfile=/k", "ssl_keyfile needs ssl_certfile"),
        ("rediss://h:1?ssl_ca_certs=", "option is empty"),
        ("redis+cluster://", "not host:port"),
        ("redis+cluster://h:1,,h:2", "node 2 of 3"),
        ("redis+cluster://h:0", "not host:port"),
        ("redis+cluster://h:65536", "not host:port"),
        ("redis+cluster://h:x", "not host:port"),
        ("redis+cluster://[::g]:1", "not host:port"),
        ("redis+cluster://[::1", "not host:port"),
        ("redis+cluster://-h:1", "not host:port"),
        ("redis+cluster://h:1/1", "only database 0"),
        ("redis+cluster://h:1#frag", "no fragment"),
        ("redis+sentinel://s:1", "service name"),
        ("redis+sentinel://s:1/", "service name"),
        ("redis+sentinel://s:1/my master", "service name"),
        ("redis+sentinel://s:1/m/x", "only a database number"),
        ("redis+sentinel://s:1/m/1/2", "only a database number"),
        ("redis+sentinel://s:1/m/999999", "small non-negative number"),
        ("redis://h:1/0?db=x", "small non-negative number"),
    ],
)
def test_bad_redis_urls_are_explained(url: str, needle: str) -> None:
    error = refusal(url)
    assert needle in error.message
    assert "redis+sentinel://" in error.message  # the list of valid forms


@pytest.mark.parametrize(
    "url",
    [
        f"redis+cluster://user:{SECRET}@h:notaport",
        f"redis+cluster://:{SECRET}@h:1,bad host:2",
        f"rediss+cluster://:{SECRET}@h:1?bogus=1",
        f"redis+sentinel://:{SECRET}@s:1",
        f"redis+sentinel://:{SECRET}@s:1/m?sentinel_password={SECRET}&oops=1",
        f"redis+sentinel://s:1/m?sentinel_password={SECRET}&sentinel_password={SECRET}",
        f"redis+cluster://:{SECRET},h:1",  # forgot the "@": the password reads as a node
        f"redis+cluster://{SECRET}:1:2",
        f"redis+cluster://:{SECRET}/x@h:1/2",
        f"redis+cluster://h:1?{SECRET}",
        f"redis+cluster://:{PLAIN_SECRET}@h:1?{PLAIN_SECRET}=1",
        f"redis+sentinel://s:1/m?sentinel_password={PLAIN_SECRET}&{PLAIN_SECRET}x=1",
        f"rediss+sentinel://:{SECRET}@s:1/m#{SECRET}",
        f"redis://h:1/0?password={SECRET}&socket_timeout=1",
        f"redis://:{SECRET}@h:1/0?ssl_ca_certs=/x",
    ],
)
def test_errors_never_contain_a_password(url: str) -> None:
    error = refusal(url)
    for secret in (SECRET, PLAIN_SECRET):
        assert secret not in str(error)
        assert secret not in repr(error)
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None


def test_option_names_are_echoed_when_harmless() -> None:
    assert "'bogus'" in refusal(f"redis+cluster://:{PLAIN_SECRET}@h:1?bogus=1").message
    assert "unreadable option name" in refusal("redis+cluster://h:1?Bad-Name=1").message


def test_open_store_serves_cluster_and_sentinel_urls_lazily() -> None:
    from jwtmiddleware.stores.redis import RedisStore

    for url, kind in (
        (f"redis+cluster://:{SECRET}@127.0.0.1:1,127.0.0.1:2", "redis-cluster"),
        (f"rediss+sentinel://:{SECRET}@127.0.0.1:1/m", "redis-sentinel"),
    ):
        store = open_store(url)  # connects on first use, not here
        try:
            assert isinstance(store, RedisStore)
            assert store.kind == kind
            assert SECRET not in repr(store)
        finally:
            store.close()


def test_store_url_repr_is_redacted() -> None:
    parsed = parse_store_url(f"rediss+cluster://u:{SECRET}@h:1?ssl_ca_certs=/ca.pem")
    assert isinstance(parsed, StoreURL)
    assert SECRET not in repr(parsed)
    assert "***@h:1" in repr(parsed)
    assert "sqlite" in repr(parse_store_url("sqlite:///x.db"))


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        (f"redis+cluster://u:{SECRET}@a:1,b:2", "redis+cluster://***@a:1,b:2"),
        (
            f"rediss+sentinel://:{SECRET}@s:1,s:2/m/0?sentinel_password={SECRET}&x=1",
            "rediss+sentinel://***@s:1,s:2/m/0?sentinel_password=***&x=1",
        ),
        (f"redis://:pa?ss{SECRET}@h:1/0", "redis://***@h:1/0"),
        (f"redis://:a?password={SECRET}@h:1/0", "redis://***@h:1/0"),
        (
            f"redis://h:1/0?ssl_ca_certs=/x@y&password={SECRET}",
            "redis://***@y&password=***",
        ),
        ("redis+cluster://a:1,b:2", "redis+cluster://a:1,b:2"),
    ],
)
def test_redact_url_new_schemes_and_awkward_passwords(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted
    assert SECRET not in redact_url(url)
