"""Assemble the demo: pages, API, token lab and static files behind :class:`JWTMiddleware`.

Starlette is imported when :func:`build_app` runs, never when this module is imported, so
``jwtmiddleware.demo`` stays importable without the ``demo`` extra.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import TYPE_CHECKING

from ..http.asgi import JWTMiddleware
from .config import DemoConfig, demo_settings

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from ..stores.base import Store

__all__ = ["DemoConfig", "build_app", "demo_settings"]

_STATIC = {"demo.js": "text/javascript; charset=utf-8", "demo.css": "text/css; charset=utf-8"}


def _static_routes() -> list[Route]:
    from starlette.responses import Response
    from starlette.routing import Route

    from .web import DemoError

    files = resources.files(__package__).joinpath("static")
    loaded = {name: files.joinpath(name).read_bytes() for name in _STATIC}

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in loaded:
            raise DemoError(404, "not_found", "No such file")
        headers = {"cache-control": "no-cache", "x-content-type-options": "nosniff"}
        return Response(loaded[name], 200, headers, _STATIC[name])

    return [Route("/static/{name}", static)]


def _jwks_routes(config: DemoConfig) -> list[Route]:
    from starlette.routing import Route

    from .web import json_response

    jwks = config.settings.keyset.public_jwks()
    if not jwks["keys"]:
        return []  # HMAC keys are secret: nothing to publish

    async def well_known(request: Request) -> Response:
        return json_response(jwks, headers={"cache-control": "public, max-age=300"})

    return [Route("/.well-known/jwks.json", well_known)]


def build_app(
    config: DemoConfig | None = None,
    *,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The demo as a Starlette app wrapped in :class:`~jwtmiddleware.JWTMiddleware`.

    :param config: from :func:`~jwtmiddleware.demo.demo_settings` (default: its defaults).
    :param store: a store object overriding ``STORE`` (shared by the middleware and the API).
    :param clock: the clock of the middleware and the endpoints (tests pass a frozen one).
    """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    from . import api, forms, lab, pages
    from .state import DemoState
    from .web import error_handlers

    state = DemoState(config or demo_settings(), store, clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await state.manager.aclose()

    middleware = Middleware(JWTMiddleware, settings=state.settings, store=state.store,
                            clock=clock)  # fmt: skip
    routes = [*pages.routes(), *forms.routes(), *api.routes(), *lab.routes(), *_static_routes(),
              *_jwks_routes(state.config)]  # fmt: skip
    app = Starlette(
        routes=routes,
        middleware=[middleware],
        exception_handlers=error_handlers(),
        lifespan=lifespan,
    )
    app.state.demo = state
    return app
