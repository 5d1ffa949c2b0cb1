"""Start-up sanity checks of a Redis store: does it answer, can it lose revocations?

A revocation that Redis drops is a token accepted again, silently. Two server settings do
that: an evicting ``maxmemory-policy`` (under memory pressure it deletes keys, revocations
included) and no persistence (a restart forgets everything). :func:`check_redis` reads both
with ``CONFIG GET`` on every master (each master of a cluster, the current master behind
Sentinel) and first checks that the store answers at all. Managed Redis services that refuse
``CONFIG GET`` are tolerated: that is an ``info`` finding, not an error.

The checks only report; the caller logs warnings and decides whether errors are fatal.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis
import redis.cluster
import redis.exceptions as rx

from ._checks import Finding, Level
from ._redis_clients import RedisClients, SyncClient

__all__ = ["Finding", "Level", "check_clients", "check_redis"]

_FIX_EVICTION = "set maxmemory-policy noeviction (writes then fail loudly instead)"
_FIX_PERSISTENCE = "set appendonly yes"


def check_clients(clients: RedisClients) -> list[Finding]:
    """:func:`check_redis` on ``clients.sync``, including a cluster client that cannot even
    be built because no seed node answers."""
    label = clients.describe()
    secrets = [s for s in (clients.config.password, clients.config.sentinel_password) if s]
    try:
        client = clients.sync
    except (rx.RedisError, OSError) as exc:
        return [_unreachable(label, exc, secrets)]
    return check_redis(client, label=label, secrets=secrets)


def check_redis(
    client: SyncClient, *, label: str = "the Redis store", secrets: Iterable[str] = ()
) -> list[Finding]:
    """Check that the store answers PING, then the eviction policy and the persistence of
    every master. Returns the findings, worst first; an empty list means all is well.

    :param client: a sync client of any kind: one node, a Sentinel master, a cluster.
    :param label: how messages name the store (no password: see ``RedisClients.describe``).
    :param secrets: strings never to repeat (passwords), scrubbed from server messages.
    """
    hidden = [s for s in secrets if s]
    try:
        client.ping()
    except (rx.RedisError, OSError) as exc:
        return [_unreachable(label, exc, hidden)]
    findings: list[Finding] = []
    for name, node in _masters(client, label):
        findings += _check_node(name, node, hidden)
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda finding: order[finding.level])


def _masters(client: SyncClient, label: str) -> list[tuple[str, redis.Redis]]:
    if isinstance(client, redis.cluster.RedisCluster):
        return [
            (f"cluster master {node.name}", client.get_redis_connection(node))
            for node in client.get_primaries()  # type: ignore[no-untyped-call]
        ]
    return [(label, client)]


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _unreachable(label: str, exc: BaseException, secrets: list[str]) -> Finding:
    detail = _scrub(f"{type(exc).__name__}: {exc}", secrets)
    return Finding(
        "error",
        "STORE",
        f"{label} does not answer ({detail}); check the host, port, credentials and TLS"
        " options of the STORE URL, and STORE_TIMEOUT",
    )


def _config(node: redis.Redis, *patterns: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for pattern in patterns:
        found.update({str(k): str(v) for k, v in node.config_get(pattern).items()})
    return found


def _check_node(name: str, node: redis.Redis, secrets: list[str]) -> list[Finding]:
    try:
        config = _config(node, "maxmemory*", "appendonly", "save")
    except rx.ResponseError:  # NoPermissionError, a renamed or disabled CONFIG command
        return [
            Finding(
                "info",
                "STORE",
                f"could not read the configuration of {name} (CONFIG GET refused, as managed"
                f" Redis services do): make sure it runs with maxmemory-policy noeviction and"
                f" appendonly yes",
            )
        ]
    except (rx.RedisError, OSError) as exc:
        return [_unreachable(name, exc, secrets)]
    return _eviction(name, config) + _persistence(name, config)


def _eviction(name: str, config: dict[str, str]) -> list[Finding]:
    policy = config.get("maxmemory-policy", "noeviction")
    if policy == "noeviction":
        return []
    limit = config.get("maxmemory", "0")
    dormant = " (dormant while maxmemory is 0, until a limit is set)" if limit == "0" else ""
    if policy.startswith("allkeys-"):
        return [
            Finding(
                "error",
                "STORE",
                f"{name} has maxmemory-policy {policy}{dormant}: under memory pressure it"
                f" deletes any key, revocations included, and revoked tokens are accepted"
                f" again; {_FIX_EVICTION}",
            )
        ]
    return [
        Finding(
            "warning",
            "STORE",
            f"{name} has maxmemory-policy {policy}{dormant}: any evicting policy can drop"
            f" revocations under memory pressure (they carry TTLs); {_FIX_EVICTION}",
        )
    ]


def _persistence(name: str, config: dict[str, str]) -> list[Finding]:
    if config.get("appendonly", "no") == "yes":
        return []
    save = config.get("save", "").strip()
    if not save:
        return [
            Finding(
                "error",
                "STORE",
                f'{name} has no persistence (appendonly no, save ""): a restart forgets every'
                f" revocation and revoked tokens are accepted again; {_FIX_PERSISTENCE}",
            )
        ]
    return [
        Finding(
            "warning",
            "STORE",
            f"{name} persists only RDB snapshots (save {save}): a crash loses the revocations"
            f" written since the last snapshot; {_FIX_PERSISTENCE}",
        )
    ]
