"""MAX_SESSIONS_PER_SUBJECT (evict_oldest, deny_new) and SINGLE_SESSION, over every store."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jwtmiddleware import TokenRevoked
from jwtmiddleware.core.errors import SessionLimitReached
from jwtmiddleware.sessions.lifecycle import RequestInfo, TokenPair
from tests.sessions.rig import Events, Rig

MakeRig = Callable[..., Rig]


def logins(rig: Rig, subject: str, count: int) -> list[TokenPair]:
    """``count`` logins one second apart (the store orders sessions by creation time)."""
    pairs = []
    for index in range(count):
        pairs.append(rig.manager.login(subject, info=RequestInfo(user_agent=f"device-{index}")))
        rig.clock.advance(1)
    return pairs


def test_evict_oldest(make_rig: MakeRig, store_url: str) -> None:
    events = Events()
    rig = make_rig(store_url, max_sessions_per_subject=2, event_hook=events)
    first, second, third = logins(rig, "alice", 3)
    assert rig.get(first.access_token).status == 401
    with pytest.raises(TokenRevoked):
        rig.manager.refresh(first.refresh_token)
    assert rig.get(second.access_token).status == 200
    assert rig.get(third.access_token).status == 200
    live = rig.manager.sessions("alice")
    assert [s.session_id for s in live] == [second.session_id, third.session_id]
    assert [s.user_agent for s in live] == ["device-1", "device-2"]
    evicted = [e for e in events.seen if e.action == "session_evicted"]
    assert {e.name for e in evicted} == {"session_revoked"}
    assert [e.session_id for e in evicted] == [first.session_id]
    # another subject is not limited by alice's sessions
    [bob] = logins(rig, "bob", 1)
    assert rig.get(bob.access_token).status == 200
    assert rig.get(second.access_token).status == 200


def test_deny_new(make_rig: MakeRig, store_url: str) -> None:
    rig = make_rig(store_url, max_sessions_per_subject=2, session_limit_policy="deny_new")
    first, second = logins(rig, "alice", 2)
    with pytest.raises(SessionLimitReached) as refused:
        rig.manager.login("alice")
    assert refused.value.status == 403
    assert refused.value.error == "session_limit_reached"
    assert len(rig.manager.sessions("alice")) == 2
    assert rig.get(first.access_token).status == 200
    assert rig.get(second.access_token).status == 200
    # logging out one device makes room
    assert rig.get(second.access_token, "/logout").status == 200
    third = rig.manager.login("alice")
    assert rig.get(third.access_token).status == 200
    assert rig.get(first.access_token).status == 200


def test_single_session_phone_b_kicks_phone_a(make_rig: MakeRig, store_url: str) -> None:
    events = Events()
    rig = make_rig(store_url, single_session=True, event_hook=events)
    phone_a = rig.manager.login("alice", info=RequestInfo(user_agent="phone A"))
    rig.clock.advance(5)
    assert rig.get(phone_a.access_token).status == 200
    phone_b = rig.manager.login("alice", info=RequestInfo(user_agent="phone B"))
    assert rig.get(phone_a.access_token).status == 401
    with pytest.raises(TokenRevoked):
        rig.manager.refresh(phone_a.refresh_token)
    assert rig.get(phone_b.access_token).status == 200
    assert [s.user_agent for s in rig.manager.sessions("alice")] == ["phone B"]
    assert "session_evicted" in events.actions()
    rotated = rig.manager.refresh(phone_b.refresh_token)  # phone B keeps working
    assert rig.get(rotated.access_token).status == 200
