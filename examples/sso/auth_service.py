"""The auth service: checks a password, issues ES256 tokens, publishes its JWKS.

``POST /token`` with ``{"username": ..., "password": ...}`` answers
``{"access_token": ..., "token_type": "Bearer", "expires_in": ...}``;
``GET /.well-known/jwks.json`` serves the public keys, so apps A and B verify without any
shared secret. Run: ``uvicorn auth_service:create_app --factory --port 8000``.

Keys come from ``SSO_KEYS_FILE``, a JSON list in the ``KEYS`` format
(``[{"key": "k2.pem", "kid": "k2", "alg": "ES256"}, {"key": "k1.pem", "kid": "k1", "alg":
"ES256", "status": "verify-only"}]``). The file is re-read when it changes, so a rotation needs no
restart: add the new key as active and mark the old one ``verify-only``; later mark it
``retired`` (or remove it). Without ``SSO_KEYS_FILE`` a throwaway key is generated.
``SSO_ISSUER``, ``SSO_AUDIENCE`` and ``SSO_JWKS_MAX_AGE`` (seconds) complete the settings.
"""

from __future__ import annotations

import hmac
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jwtmiddleware import Settings
from jwtmiddleware.core.issuer import Issuer
from jwtmiddleware.keysets.publish import jwks_asgi_app

__all__ = ["create_app"]

#: Demo accounts only; a real service checks a password hash in its user store.
USERS = {"alice": "wonderland", "bob": "builder"}


def _throwaway_key() -> list[dict[str, str]]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return [{"key": pem.decode(), "kid": "dev", "alg": "ES256"}]


class KeyConfig:
    """The current settings, issuer and JWKS app; rebuilt when the keys file changes."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._path = os.environ.get("SSO_KEYS_FILE")
        self._stamp: tuple[int, int, int] | None = None
        self._lock = threading.Lock()
        self._build()

    def _stamp_now(self) -> tuple[int, int, int] | None:
        if self._path is None:
            return None
        st = os.stat(self._path)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _build(self) -> None:
        if self._path is None:
            keys: Any = _throwaway_key()
        else:
            base = Path(self._path).parent
            keys = json.loads(Path(self._path).read_text("utf-8"))
            for spec in keys:  # key paths are relative to the keys file
                spec["key"] = str(base / spec["key"])
        self.settings = Settings(
            keys=keys,
            algorithms=["ES256"],
            issuer=os.environ.get("SSO_ISSUER", "http://127.0.0.1:8000"),
            audience=[os.environ.get("SSO_AUDIENCE", "sso-demo-apps")],
        )
        self.issuer = Issuer(self.settings)
        max_age = int(os.environ.get("SSO_JWKS_MAX_AGE", "300"))
        self.asgi = jwks_asgi_app(self.settings, app=self._app, max_age=max_age)

    def current(self) -> KeyConfig:
        stamp = self._stamp_now()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._build()
                    self._stamp = stamp
        return self


def create_app() -> Any:
    """The auth service: Starlette routes behind the JWKS endpoint."""
    config: KeyConfig

    async def token(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            username, password = str(body["username"]), str(body["password"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        expected = USERS.get(username, "")
        if not (hmac.compare_digest(password, expected) and username in USERS):
            return JSONResponse({"error": "invalid_grant"}, status_code=401)
        issued = config.current().issuer.access_token(username, now=time.time())
        ttl = int(issued.expires_at - time.time())
        return JSONResponse(
            {"access_token": issued.token, "token_type": "Bearer", "expires_in": ttl},
            headers={"Cache-Control": "no-store"},
        )

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    routes = Starlette(routes=[Route("/token", token, methods=["POST"]), Route("/health", health)])
    config = KeyConfig(routes)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await config.current().asgi(scope, receive, send)

    return app
