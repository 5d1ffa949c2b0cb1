"""The demo a new user runs first: ``python -m jwtmiddleware demo``.

A Starlette app behind :class:`~jwtmiddleware.JWTMiddleware`, served by uvicorn on
http://127.0.0.1:8000, showing everything the package does in a browser: HttpOnly cookie
login with CSRF protection, sliding refresh, device sessions with "log out this one / all
others / everywhere", a token lab and one-time links. It needs the ``demo`` extra (Starlette
and uvicorn) and no other service: sessions live in an embedded SQLite file.

Importing this package never imports Starlette (the command line loads it to parse flags).
"""

from __future__ import annotations

from .app import build_app
from .config import DemoConfig, demo_settings
from .users import UserDirectory

__all__ = ["DemoConfig", "UserDirectory", "build_app", "demo_settings"]
