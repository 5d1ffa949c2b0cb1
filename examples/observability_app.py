"""Operating it: Prometheus metrics and a readiness probe next to a protected app.

The middleware records into prometheus_client's default registry (``METRICS=prometheus``) and
answers the readiness probe itself (``STATUS_PATH=/ready``: 200, or 503 while the revocation
mirror is stale). ``/metrics`` is prometheus_client's own app, routed before the middleware so
the scraper needs no token; keep it on an internal port or network in production.

Run it (ASGI, or the WSGI twin under gunicorn)::

    pip install 'jwtmiddleware[prometheus]' uvicorn
    export JWTMIDDLEWARE_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')
    export JWTMIDDLEWARE_STORE=sqlite:///sessions.db
    export JWTMIDDLEWARE_METRICS=prometheus JWTMIDDLEWARE_STATUS_PATH=/ready
    uvicorn examples.observability_app:create_app --factory
    gunicorn 'examples.observability_app:create_wsgi_app()'

    curl -s localhost:8000/ready          # {"ready": true, "store": ..., "mirror": {...}}
    curl -s localhost:8000/metrics | grep jwtmiddleware_decisions_total
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from prometheus_client import make_asgi_app, make_wsgi_app

from jwtmiddleware import JWTMiddleware, JWTWSGIMiddleware, Settings

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def whoami(scope: Scope, receive: Receive, send: Send) -> None:
    """The protected application: answers with the caller's subject."""
    if scope["type"] != "http":
        return
    body = json.dumps({"subject": scope["jwtmiddleware.identity"].subject}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def create_app() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """``/metrics`` for the scraper, everything else (``/ready`` included) through the
    middleware, which also starts and stops the revocation mirror through ``lifespan``."""
    protected = JWTMiddleware(whoami, settings=Settings.from_env())
    metrics = make_asgi_app()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/metrics":
            await metrics(scope, receive, send)
        else:
            await protected(scope, receive, send)

    return app


def _whoami_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"subject": environ["jwtmiddleware.identity"].subject}).encode()]


def create_wsgi_app() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """The WSGI twin: one process per worker, so scrape each worker (or use OpenTelemetry)."""
    protected = JWTWSGIMiddleware(_whoami_wsgi, settings=Settings.from_env())
    metrics = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/metrics":
            return metrics(environ, start_response)
        return protected(environ, start_response)

    return app
