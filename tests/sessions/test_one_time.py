"""One-time tokens on ONE_TIME_PATHS: single use, bound to a purpose and a resource."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jwtmiddleware import JWTMiddleware, JWTWSGIMiddleware
from jwtmiddleware.testing import mint_token
from tests.sessions.rig import NOW, Req, Rig, header_of, session_settings

MakeRig = Callable[..., Rig]
PATHS = {"/download/*": "download", "/export/*": "export"}
REPORT = "/download/report.pdf"


def one_time_rig(make_rig: MakeRig, store_url: str = "memory://", **settings: object) -> Rig:
    return make_rig(store_url, one_time_paths=PATHS, **settings)


def test_first_use_then_second_use(make_rig: MakeRig, store_url: str) -> None:
    rig = one_time_rig(make_rig, store_url)
    link = rig.manager.one_time("alice", "download", REPORT)
    assert header_of(link.token)["typ"] == "ott+jwt"
    assert link.claims["purpose"] == "download"
    assert link.claims["res"] == REPORT
    assert link.expires_at == NOW + 60  # ONE_TIME_TOKEN_TTL
    first = rig.get(None, REPORT, query=f"access_token={link.token}")
    assert first.status == 200
    assert first.reached
    body = first.json()
    assert (body["subject"], body["source"]) == ("alice", "one-time")
    second = rig.get(None, REPORT, query=f"access_token={link.token}")
    assert second.status == 401
    assert not second.reached
    assert second.json()["error"] == "invalid_token"


def test_header_carried_one_time_token(make_rig: MakeRig) -> None:
    rig = one_time_rig(make_rig)
    link = rig.manager.one_time("alice", "download", REPORT)
    assert rig.get(link.token, REPORT).status == 200
    assert rig.get(link.token, REPORT).status == 401


def test_bound_to_the_resource(make_rig: MakeRig, store_url: str) -> None:
    rig = one_time_rig(make_rig, store_url)
    link = rig.manager.one_time("alice", "download", REPORT)
    for other in ("/download/salaries.pdf", "/download/report.pdf/", "/download/Report.pdf"):
        assert rig.get(None, other, query=f"access_token={link.token}").status == 401
    # refusals did not use the token up
    assert rig.get(None, REPORT, query=f"access_token={link.token}").status == 200


def test_bound_to_the_purpose(make_rig: MakeRig) -> None:
    rig = one_time_rig(make_rig)
    wrong = rig.manager.one_time("alice", "export", REPORT)  # right path, wrong purpose
    assert rig.get(None, REPORT, query=f"access_token={wrong.token}").status == 401
    export = rig.manager.one_time("alice", "export", "/export/all.csv")
    assert rig.get(None, "/export/all.csv", query=f"access_token={export.token}").status == 200


def test_expired(make_rig: MakeRig) -> None:
    rig = one_time_rig(make_rig)
    early = rig.manager.one_time("alice", "download", REPORT, ttl=30)
    late = rig.manager.one_time("alice", "download", REPORT, ttl=30)
    rig.clock.advance(29)
    assert rig.get(None, REPORT, query=f"access_token={early.token}").status == 200
    rig.clock.advance(1)  # exp reached, no leeway
    refused = rig.get(None, REPORT, query=f"access_token={late.token}")
    assert refused.status == 401
    assert refused.json()["error_description"] == "The access token expired"


def test_access_token_refused_on_a_one_time_path(make_rig: MakeRig) -> None:
    rig = one_time_rig(make_rig)
    pair = rig.manager.login("alice")
    assert rig.get(pair.access_token, REPORT).status == 401
    assert rig.get(None, REPORT, query=f"access_token={pair.access_token}").status == 401
    assert rig.get(pair.refresh_token, REPORT).status == 401
    assert rig.get(pair.access_token, "/api").status == 200  # it is a good access token


def test_one_time_token_refused_as_an_access_token(make_rig: MakeRig) -> None:
    rig = one_time_rig(make_rig)
    link = rig.manager.one_time("alice", "download", "/api")
    for via in ("header", "cookie"):
        result = rig.get(link.token, "/api", via=via)
        assert result.status == 401
        assert not result.reached
    # a plain access-token-shaped token with the one-time claims is no one-time token either
    fake = mint_token(rig.settings, {"purpose": "download", "res": REPORT}, now=NOW)
    assert rig.get(None, REPORT, query=f"access_token={fake}").status == 401


def test_twenty_concurrent_uses(make_rig: MakeRig, store_url: str) -> None:
    rig = one_time_rig(make_rig, store_url)
    link = rig.manager.one_time("alice", "download", REPORT)
    results = rig.many([Req(path=REPORT, query=f"access_token={link.token}") for _ in range(20)])
    statuses = sorted(r.status for r in results)
    assert statuses == [200] + [401] * 19
    assert sum(r.reached for r in results) == 1


def test_revoked_subject_cannot_download(make_rig: MakeRig, store_url: str) -> None:
    rig = one_time_rig(make_rig, store_url)
    rig.clock.advance(-5)
    link = rig.manager.one_time("alice", "download", REPORT)
    rig.clock.advance(5)
    rig.manager.logout_everywhere("alice")
    assert rig.get(None, REPORT, query=f"access_token={link.token}").status == 401


def test_one_time_paths_with_sliding_refresh(kind: str) -> None:
    """ONE_TIME_PATHS and a REFRESH_THRESHOLD of a minute or more build together."""
    settings = session_settings(one_time_paths=PATHS, access_token_ttl=900, refresh_threshold=300)
    if kind == "asgi":
        JWTMiddleware(lambda *a: None, settings=settings)  # type: ignore[arg-type]
    else:
        JWTWSGIMiddleware(lambda *a: [], settings=settings)


@pytest.mark.parametrize("ttl", [30.0, 7200.0])
def test_one_time_paths_with_any_access_ttl(make_rig: MakeRig, ttl: float) -> None:
    rig = one_time_rig(make_rig, access_token_ttl=ttl, max_session_age=ttl)
    link = rig.manager.one_time("alice", "download", REPORT)
    assert rig.get(None, REPORT, query=f"access_token={link.token}").status == 200


def test_non_ascii_resource(make_rig: MakeRig) -> None:
    # PEP 3333 PATH_INFO holds the UTF-8 bytes decoded as latin-1; the view undoes that
    rig = one_time_rig(make_rig)
    path = "/download/résumé.pdf"
    link = rig.manager.one_time("alice", "download", path)
    assert rig.get(None, path, query=f"access_token={link.token}").status == 200


def test_browser_cookies_do_not_get_in_the_way(make_rig: MakeRig) -> None:
    """A browser sends the app's access cookie along with a download link on the same host."""
    rig = one_time_rig(make_rig)
    pair = rig.manager.login("alice")
    link = rig.manager.one_time("alice", "download", REPORT)
    query = f"access_token={link.token}"
    # a link plus an Authorization header is ambiguous: 400 (and the link is not used up)
    both = rig.get(pair.access_token, REPORT, query=query)
    assert both.status == 400
    assert both.json()["error"] == "invalid_request"
    result = rig.get(pair.access_token, REPORT, via="cookie", query=query)
    assert result.status == 200
    assert result.json()["source"] == "one-time"
