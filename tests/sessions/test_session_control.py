"""Session control without holes (issue 15), through the real middleware (ASGI and WSGI) over
every store: logout everywhere in either order within one clock tick, tokens with ``iat`` ahead,
replays inside the refresh grace window, disabled accounts, and the refusal texts."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from jwtmiddleware import AccountDisabled, RefreshTokenReused, StoreUnavailable
from jwtmiddleware.core.issuer import Issuer
from jwtmiddleware.stores import MemoryStore
from tests.sessions.rig import NOW, Events, Rig

MakeRig = Callable[..., Rig]
PATHS = {"/download/*": "download"}
REPORT = "/download/report.pdf"


# -- 2: logout everywhere, both orders within one clock tick ------------------------------------


def test_tokens_issued_before_the_call_are_refused_and_after_it_accepted(
    make_rig: MakeRig, store_url: str
) -> None:
    """The clock is frozen: everything below happens in the same instant, yet each token is
    judged by whether it was issued before or after logout everywhere."""
    rig = make_rig(store_url, one_time_paths=PATHS)
    manager = rig.manager
    session = manager.login("alice")
    api = manager.issue_token("alice")  # no session id: an API token
    link = manager.one_time("alice", "download", REPORT)
    for token in (session.access_token, api.token):
        assert rig.get(token).status == 200

    manager.logout_everywhere("alice")

    for token in (session.access_token, api.token):
        assert rig.get(token).status == 401
    assert rig.get(None, REPORT, query=f"access_token={link.token}").status == 401
    again = manager.login("alice")  # same instant, after the call
    later_api = manager.issue_token("alice")
    later_link = manager.one_time("alice", "download", REPORT)
    assert rig.get(again.access_token).status == 200
    assert rig.get(later_api.token).status == 200
    assert rig.get(None, REPORT, query=f"access_token={later_link.token}").status == 200
    assert manager.refresh(again.refresh_token).session_id == again.session_id
    # And once more: the next call refuses these too.
    manager.logout_everywhere("alice")
    assert rig.get(again.access_token).status == 401
    assert rig.get(later_api.token).status == 401


# -- 3: a token whose iat lies ahead ----------------------------------------------------------


def test_a_future_iat_does_not_outlive_logout_everywhere(make_rig: MakeRig, store_url: str) -> None:
    rig = make_rig(store_url, leeway=30)
    ahead = rig.manager.issue_token("bob")  # ours: carries the generation
    foreign = Issuer(rig.settings).access_token("bob", now=NOW + 29)  # iat 29 s ahead, no sgen
    assert rig.get(foreign.token).status == 200  # within LEEWAY: accepted before the call
    rig.manager.logout_everywhere("bob")
    assert rig.get(ahead.token).status == 401
    assert rig.get(foreign.token).status == 401
    rig.clock.advance(29)  # its iat has come: still refused
    assert rig.get(foreign.token).status == 401
    assert rig.get(rig.manager.issue_token("bob").token).status == 200


# -- 5: refresh reuse inside the grace window ---------------------------------------------------


class NeverPublished(MemoryStore):
    """A store where the winning refresh never publishes its successor (a stuck winner)."""

    def put_value(self, key: str, value: str, *, expires_at: float, now: float) -> None:
        if not key.startswith("rt-next:"):
            super().put_value(key, value, expires_at=expires_at, now=now)


def test_a_waiting_replay_gives_up_after_the_store_timeout() -> None:
    from jwtmiddleware.sessions.manager import SessionManager
    from jwtmiddleware.testing import FrozenClock
    from tests.sessions.rig import session_settings

    events = Events()
    settings = session_settings(store_timeout=0.05, event_hook=events)
    manager = SessionManager(settings, NeverPublished(), clock=FrozenClock(NOW))
    first = manager.login("carol")
    manager.refresh(first.refresh_token)
    started = time.monotonic()
    with pytest.raises(RefreshTokenReused) as refused:
        manager.refresh(first.refresh_token)  # within the grace, but nothing to hand out
    assert time.monotonic() - started < 0.5  # bounded by STORE_TIMEOUT, not a fixed 0.5 s
    assert refused.value.description == "The refresh token was already used; the session was ended"
    assert events.names()[-1] == "authn_token_reuse"
    assert events.seen[-1].action == "refresh_token_reused"


# -- 8: a disabled account ------------------------------------------------------------------------


def test_disabling_an_account_ends_its_access(make_rig: MakeRig, store_url: str) -> None:
    rig = make_rig(store_url)
    manager = rig.manager
    pair = manager.login("dave")
    api = manager.issue_token("dave")
    assert rig.get(pair.access_token).status == 200
    assert manager.disable_subject("dave") == 1
    assert rig.get(pair.access_token).status == 401
    assert rig.get(api.token).status == 401
    with pytest.raises(AccountDisabled):
        manager.login("dave")
    with pytest.raises(AccountDisabled):
        manager.refresh(pair.refresh_token)
    assert manager.sessions("dave") == []
    manager.enable_subject("dave")
    back = manager.login("dave")
    assert rig.get(back.access_token).status == 200
    assert rig.get(pair.access_token).status == 401  # old tokens stay revoked


# -- refusal texts ------------------------------------------------------------------------------


def test_a_second_use_of_a_link_says_already_used(make_rig: MakeRig) -> None:
    rig = make_rig(one_time_paths=PATHS)
    link = rig.manager.one_time("erin", "download", REPORT)
    assert rig.get(None, REPORT, query=f"access_token={link.token}").status == 200
    second = rig.get(None, REPORT, query=f"access_token={link.token}")
    assert second.status == 401
    assert second.json()["error_description"] == "The link was already used"


def test_store_outage_while_waiting_is_not_a_reuse() -> None:
    """A store that cannot answer the waiting replay is an outage (503), not a verdict."""

    class Down(NeverPublished):
        def get_value(self, key: str, *, now: float) -> str | None:
            if key.startswith("rt-next:"):
                raise StoreUnavailable("down")
            return super().get_value(key, now=now)

    from jwtmiddleware.sessions.manager import SessionManager
    from jwtmiddleware.testing import FrozenClock
    from tests.sessions.rig import session_settings

    manager = SessionManager(session_settings(), Down(), clock=FrozenClock(NOW))
    first = manager.login("fay")
    manager.refresh(first.refresh_token)
    with pytest.raises(StoreUnavailable):
        manager.refresh(first.refresh_token)
