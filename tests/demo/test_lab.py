"""The token lab in process: inspect good, expired, revoked and garbage tokens; one-time links."""

from __future__ import annotations

import base64
import json

import pytest
from starlette.testclient import TestClient

from jwtmiddleware.testing import FrozenClock
from tests.demo.conftest import bearer, csrf, login


def inspect(client: TestClient, token: object) -> dict[str, object]:
    response = client.post("/api/inspect", json={"token": token}, headers=csrf(client))
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def error_class(result: dict[str, object]) -> str | None:
    error = result["error"]
    return None if error is None else error["class"]  # type: ignore[index]


def test_a_good_token(client: TestClient) -> None:
    token = login(client).json()["access_token"]
    result = inspect(client, token)
    assert result["valid"] is True
    assert result["kind"] == "access"
    assert result["header"] == {"alg": "HS256", "typ": "at+jwt"}
    assert result["claims"]["sub"] == "alice"  # type: ignore[index]


def test_an_expired_token(client: TestClient, clock: FrozenClock) -> None:
    token = login(client).json()["access_token"]
    clock.advance(400)
    # The cookie token expired too: use the lab through a fresh login.
    client.cookies.clear()
    login(client)
    result = inspect(client, token)
    assert result["valid"] is False
    assert result["error"] == {
        "class": "TokenExpired",
        "reason": "exp has passed",
        "status": 401,
        "code": "invalid_token",
        "description": "The access token expired",
        "why": "Its exp (plus LEEWAY) has passed.",
    }
    assert result["claims"]["sub"] == "alice"  # type: ignore[index]


def test_a_revoked_token(client: TestClient) -> None:
    token = login(client).json()["access_token"]
    client.post("/auth/logout", headers=csrf(client))
    login(client)
    result = inspect(client, token)
    assert error_class(result) == "TokenRevoked"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("garbage", "TokenMalformed"),
        ("a.b.c", "TokenMalformed"),
        ("x" * 9000, "TokenTooLarge"),
        ("eyJhbGciOiJub25lIn0.e30.", "TokenMalformed"),
        ("eyJhbGciOiJub25lIn0.e30.c2ln", "InvalidSignature"),
    ],
)
def test_garbage(client: TestClient, token: str, expected: str) -> None:
    login(client)
    result = inspect(client, token)
    assert error_class(result) == expected
    assert result["valid"] is False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "payload",
    [b'{"exp": NaN}', b'{"sub": "\\ud800"}', b"[" * 5000, b"\xff\xfe", b'"just a string"'],
)
def test_odd_payloads_never_break_the_answer(client: TestClient, payload: bytes) -> None:
    login(client)
    token = f"{_b64(json.dumps({'alg': 'HS256'}).encode())}.{_b64(payload)}.c2ln"
    result = inspect(client, token)
    assert result["valid"] is False


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 400), ({"token": 7}, 400), ({"token": ""}, 400), ({"token": "x" * 17_000}, 400)],
)
def test_bad_inspect_input(client: TestClient, body: dict[str, object], status: int) -> None:
    login(client)
    response = client.post("/api/inspect", json=body, headers=csrf(client))
    assert response.status_code == status
    assert response.json()["error"] == "invalid_request"


def test_inspect_needs_login_and_csrf_proof(client: TestClient) -> None:
    assert client.post("/api/inspect", json={"token": "x"}).status_code == 401
    login(client)
    assert client.post("/api/inspect", json={"token": "x"}).status_code == 403


EXPECTED = {
    "valid": None,
    "expired": "TokenExpired",
    "not yet valid": "TokenNotYetValid",
    "tampered (sub changed to admin)": "InvalidSignature",
    "alg: none": "InvalidSignature",
    "signed with another key": "InvalidSignature",
    "from another issuer": "ClaimCheckFailed",
    "a refresh token": "ClaimCheckFailed",
    "garbage": "TokenMalformed",
}


def test_every_sample_fails_the_check_it_is_named_for(client: TestClient) -> None:
    login(client)
    samples = client.get("/api/lab/samples").json()["samples"]
    assert set(samples) == set(EXPECTED)
    for name, token in samples.items():
        assert error_class(inspect(client, token)) == EXPECTED[name], name


def test_no_sample_starts_a_session(client: TestClient) -> None:
    login(client)
    samples = client.get("/api/lab/samples").json()["samples"]
    client.cookies.clear()
    refresh = client.post("/auth/refresh", json={"refresh_token": samples["a refresh token"]})
    assert refresh.status_code == 401
    assert client.get("/api/me", headers=bearer(samples["valid"])).json()["session_id"] is None


def test_a_one_time_link_works_once(client: TestClient) -> None:
    login(client)
    link = client.post("/api/download-link", headers=csrf(client)).json()
    assert link["url"].startswith("/download/report.txt?access_token=")
    assert link["expires_in"] == 60
    client.cookies.clear()  # the link is the only credential
    first = client.get(link["url"])
    assert first.status_code == 200
    assert first.text.startswith("Report for alice.")
    assert first.headers["cache-control"] == "no-store"
    second = client.get(link["url"])
    assert second.status_code == 401
    assert second.json()["error"] == "invalid_token"


def test_a_one_time_link_expires(client: TestClient, clock: FrozenClock) -> None:
    login(client)
    url = client.post("/api/download-link", headers=csrf(client)).json()["url"]
    clock.advance(60 + 31)  # its lifetime plus LEEWAY
    assert client.get(url).status_code == 401


def test_a_one_time_token_is_bound_to_its_path(client: TestClient) -> None:
    login(client)
    url = client.post("/api/download-link", headers=csrf(client)).json()["url"]
    client.cookies.clear()
    assert client.get(url.replace("report.txt", "other.txt")).status_code == 401
    assert client.get("/download/report.txt").status_code == 401
    assert client.get(url).status_code == 200  # the refusals did not use it up


def test_a_session_token_does_not_open_a_download(client: TestClient) -> None:
    token = login(client).json()["access_token"]
    client.cookies.clear()
    assert client.get("/download/report.txt", headers=bearer(token)).status_code == 401
    assert client.get(f"/download/report.txt?access_token={token}").status_code == 401


def test_the_samples_do_not_outlive_logout_everywhere(
    client: TestClient, other: TestClient, clock: FrozenClock
) -> None:
    """The lab's own tokens (one without a session id, one whose iat lies an hour ahead)
    carry the subject's generation: "log out everywhere" ends them too (issue 15)."""
    login(client)
    samples = client.get("/api/lab/samples").json()["samples"]

    def status(token: str) -> int:
        return other.get("/api/me", headers=bearer(token)).status_code

    assert status(samples["valid"]) == 200
    assert client.post("/auth/logout-all", headers=csrf(client)).status_code == 200
    assert status(samples["valid"]) == 401
    clock.advance(3600)  # the "not yet valid" one comes of age: still refused
    assert status(samples["not yet valid"]) == 401
