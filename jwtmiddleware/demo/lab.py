"""The token lab: take a token apart, see which check refuses it and why; one-time links.

``POST /api/inspect`` decodes the header and claims without trusting them (for display), then
runs the middleware's own :class:`~jwtmiddleware.verifier.Verifier` and, for a token that
passes, asks the store whether it was revoked. A refusal is shown as the client would see it
(status, error code, fixed description) and as the logs would (the error class and its
``reason``); the lab is the one place the demo shows the reason to the caller, because it is
a teaching tool and the caller pasted the token themselves.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from starlette.responses import PlainTextResponse
from starlette.routing import Route

from ..core.errors import AuthenticationError, TokenRevoked
from ..stores._changes import GENERATION_CLAIM
from ..stores.base import RevocationQuery
from .config import DOWNLOAD_PATH
from .web import DemoError, identity_of, json_response, read_json, state_of, string_field

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from .state import DemoState

__all__ = ["WHY", "inspect_token", "routes", "samples"]

_MAX_INPUT = 16 * 1024

#: One sentence per error class: what the check guards against.
WHY = {
    "TokenTooLarge": "Tokens over MAX_TOKEN_BYTES are refused before any decoding.",
    "TokenMalformed": "Only a compact JWS (three canonical base64url segments) is accepted.",
    "InvalidSignature": "The algorithm must be allowed and bound to a known key, and the "
    "signature must verify: the token was not issued with our key, or was changed.",
    "TokenExpired": "Its exp (plus LEEWAY) has passed.",
    "TokenNotYetValid": "Its nbf or iat lies in the future (beyond LEEWAY).",
    "ClaimCheckFailed": "A claim or the typ header does not match the settings (issuer, "
    "audience, token type, lifetime, claim format).",
    "TokenRevoked": "The store says this token, its session or its user was logged out.",
}


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _b64json(segment: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return json.loads(raw, parse_constant=_no_constants)
    except (binascii.Error, ValueError, RecursionError):
        return None


def _unverified(token: str) -> tuple[Any, Any]:
    """Header and claims as they claim to be (nothing checked): for display only."""
    parts = token.split(".")
    if len(parts) != 3:
        return None, None
    return _b64json(parts[0]), _b64json(parts[1])


async def inspect_token(state: DemoState, token: str) -> dict[str, Any]:
    """What the middleware would say about ``token``, and why."""
    header, claims = _unverified(token.strip())
    now = state.clock()
    result: dict[str, Any] = {"header": header, "claims": claims, "server_time": now}
    typ = header.get("typ") if isinstance(header, dict) else None
    result["kind"] = {"refresh+jwt": "refresh", "ott+jwt": "one-time"}.get(str(typ), "access")
    try:
        verified = state.verifier.verify(token.strip(), now)
        c = verified.claims
        iat = c.get("iat")
        gen = c.get(GENERATION_CLAIM)
        query = RevocationQuery(
            issuer=c.get("iss") or "", subject=c.get("sub"), token_id=c.get("jti"),
            session_id=c.get("sid"), issued_at=float(iat) if isinstance(iat, int | float) else None,
            generation=gen if isinstance(gen, int) else None,
        )  # fmt: skip
        assert state.store is not None
        if await state.store.ais_revoked(query, now=now):
            raise TokenRevoked("revoked in the store")
    except AuthenticationError as exc:
        name = type(exc).__name__
        result["valid"] = False
        result["error"] = {
            "class": name,
            "reason": exc.reason,
            "status": exc.status,
            "code": exc.error,
            "description": exc.description,
            "why": WHY.get(name, ""),
        }
        return result
    result["valid"] = True
    result["error"] = None
    return result


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def samples(state: DemoState, subject: str, generation: int = 0) -> dict[str, str]:
    """Tokens that fail one check each (and one that passes), for the lab's buttons.

    None of them can start a session: the valid one has no session and lives two minutes,
    the refresh-typed one has no ``sid`` (the refresh endpoint requires one). The ones this
    demo signs carry the subject's logout-everywhere ``generation``, so "log out everywhere"
    ends them too, even the one whose ``iat`` lies an hour ahead.
    """
    ours, stranger, elsewhere = state.lab_issuers
    now = state.clock()
    mine = {GENERATION_CLAIM: generation}
    valid = ours.access_token(subject, now=now, ttl=min(120.0, state.settings.access_token_ttl),
                              claims={"lab": True, **mine}).token  # fmt: skip
    head, body, signature = valid.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    tampered = _b64(json.dumps({**claims, "sub": "admin"}).encode())
    none_head = _b64(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
    return {
        "valid": valid,
        "expired": ours.access_token(subject, now=now - 7200, ttl=600, claims=mine).token,
        "not yet valid": ours.access_token(subject, now=now + 3600, ttl=600, claims=mine).token,
        "tampered (sub changed to admin)": f"{head}.{tampered}.{signature}",
        "alg: none": f"{none_head}.{body}.bm9uZQ",
        "signed with another key": stranger.access_token(subject, now=now).token,
        "from another issuer": elsewhere.access_token(subject, now=now).token,
        "a refresh token": ours.refresh_token(subject, now=now, ttl=60).token,
        "garbage": "not-a-token",
    }


async def inspect(request: Request) -> Response:
    """``POST /api/inspect`` ``{"token": ...}``."""
    state = state_of(request)
    identity_of(request)
    data = await read_json(request)
    token = string_field(data, "token", limit=_MAX_INPUT)
    return json_response(await inspect_token(state, token))


async def lab_samples(request: Request) -> Response:
    """``GET /api/lab/samples``: tokens to try in the lab."""
    state, identity = state_of(request), identity_of(request)
    subject = identity.subject or ""
    issuer = state.settings.issuer or ""
    assert state.store is not None
    generation = await state.store.asubject_generation(issuer, subject, now=state.clock())
    return json_response({"samples": samples(state, subject, generation)})


async def download_link(request: Request) -> Response:
    """``POST /api/download-link``: a link that works once, for a minute."""
    state, identity = state_of(request), identity_of(request)
    ttl = state.settings.one_time_token_ttl
    issued = await state.manager.aone_time(
        identity.subject or "", "download", DOWNLOAD_PATH, ttl=ttl
    )
    url = f"{DOWNLOAD_PATH}?{state.settings.query_parameter}={issued.token}"
    return json_response({"url": url, "expires_in": int(ttl), "token_id": issued.claims["jti"]})


async def download(request: Request) -> Response:
    """``GET /download/report.txt?access_token=<one-time token>``: served once per token."""
    identity = identity_of(request)
    if request.url.path != DOWNLOAD_PATH:
        raise DemoError(404, "not_found", "No such file")
    text = (
        f"Report for {identity.subject}.\n"
        f"Served once for one-time token {identity.token_id}; the same link now fails.\n"
    )
    return PlainTextResponse(
        text,
        headers={
            "cache-control": "no-store",
            "content-disposition": 'inline; filename="report.txt"',
            "referrer-policy": "no-referrer",
        },
    )


def routes() -> list[Route]:
    """The lab's routes."""
    return [
        Route("/api/inspect", inspect, methods=["POST"]),
        Route("/api/lab/samples", lab_samples),
        Route("/api/download-link", download_link, methods=["POST"]),
        Route("/download/{name}", download),
    ]
