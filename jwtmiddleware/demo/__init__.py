"""The demo a new user runs first: ``python -m jwtmiddleware demo``.

A small Starlette API protected by :class:`~jwtmiddleware.JWTMiddleware`. It needs the ``demo``
extra (Starlette and uvicorn) and no other service.
"""

from __future__ import annotations

from .app import DemoConfig, build_app, demo_settings

__all__ = ["DemoConfig", "build_app", "demo_settings"]
