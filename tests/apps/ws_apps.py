"""Websocket echo apps behind ``JWTMiddleware`` (settings from ``JWTMIDDLEWARE_*``), one per
framework: a raw ASGI app, Starlette, FastAPI and Quart. Each accepts ``/ws``, first sends
``{"subject": ..., "subprotocols": [...]}`` (what the app saw), then echoes every text message
until the client or the middleware closes the connection."""

# No "from __future__ import annotations": FastAPI resolves the websocket endpoint's
# annotations at run time, and WebSocket is imported inside fastapi_app().
import json
from typing import Any

from jwtmiddleware import JWTMiddleware, Settings

__all__ = ["fastapi_app", "quart_app", "raw_app", "starlette_app"]


def _hello(identity: Any, subprotocols: list[str]) -> str:
    return json.dumps({"subject": identity.subject, "subprotocols": subprotocols})


def raw_app() -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        hello = _hello(scope["jwtmiddleware.identity"], list(scope.get("subprotocols") or ()))
        await send({"type": "websocket.send", "text": hello})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": message.get("text") or ""})

    return JWTMiddleware(app, settings=Settings.from_env())


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        subprotocols = list(websocket.scope.get("subprotocols") or ())
        await websocket.send_text(_hello(websocket.scope["jwtmiddleware.identity"], subprotocols))
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except WebSocketDisconnect:
            return

    async def health(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/health", health), WebSocketRoute("/ws", ws)])
    return JWTMiddleware(app, settings=Settings.from_env())


def fastapi_app() -> Any:
    from fastapi import FastAPI, WebSocket, WebSocketDisconnect

    app = FastAPI()

    @app.get("/health")
    def health() -> str:
        return "ok"

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        subprotocols = list(websocket.scope.get("subprotocols") or ())
        await websocket.send_text(_hello(websocket.scope["jwtmiddleware.identity"], subprotocols))
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except WebSocketDisconnect:
            return

    return JWTMiddleware(app, settings=Settings.from_env())


def quart_app() -> Any:
    from quart import Quart, websocket

    app = Quart(__name__)

    @app.get("/health")
    async def health() -> str:
        return "ok"

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        subprotocols = list(websocket.scope.get("subprotocols") or ())
        await websocket.send(_hello(websocket.scope["jwtmiddleware.identity"], subprotocols))
        while True:
            await websocket.send(await websocket.receive())

    return JWTMiddleware(app, settings=Settings.from_env())
