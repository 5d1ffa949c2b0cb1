"""Apps a test builds are closed after it, as a server's shutdown would: their revocation
mirror's follower thread stops instead of polling a deleted SQLite file for the rest of the
run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

#: Flask and Quart apps built by the current test (``close_after_test``).
_BUILT: list[Any] = []


def close_after_test(app: Any) -> Any:
    """Register a Flask or Quart app with ``JWTAuth`` installed; return it."""
    _BUILT.append(app)
    return app


@pytest.fixture(autouse=True)
def _close_built_apps() -> Iterator[None]:
    yield
    while _BUILT:
        app = _BUILT.pop()
        extension = app.extensions.get("jwtmiddleware")
        if extension is not None:
            extension.state_for(app).middleware.close()
