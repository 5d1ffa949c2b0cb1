"""``STATUS_PATH`` and ``jwtmiddleware status``: the store and mirror state as JSON, for a
readiness probe. Nothing secret: the store is named by its ``repr`` (passwords hidden) and the
mirror's last error is scrubbed of URL credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import _json
from ..telemetry import scrub

if TYPE_CHECKING:
    from ..stores.base import Store
    from ..stores.mirror import Mirror

__all__ = ["status_response", "store_status"]


def store_status(store: Store | None, mirror: Mirror | None) -> dict[str, Any]:
    """``{"store": repr, "mirror": Mirror.status() or None}``: the store named by its
    ``repr`` (which hides passwords), the mirror's last error scrubbed of URL credentials."""
    if store is None:
        return {"store": None, "mirror": None}
    state = None if mirror is None else dict(mirror.status())
    if state is not None and state.get("last_error"):
        state["last_error"] = scrub(str(state["last_error"]))
    return {"store": repr(store), "mirror": state}


def status_response(
    ready: bool, status: dict[str, Any], method: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """The ``STATUS_PATH`` answer: 200 (ready) or 503 (the mirror is stale) with the status as
    JSON; 405 for a method other than GET or HEAD."""
    headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
    if method not in ("GET", "HEAD"):
        return 405, [*headers, ("Allow", "GET, HEAD")], b'{"error": "method_not_allowed"}'
    body = _json.dumps({"ready": ready, **status})
    headers.append(("Content-Length", str(len(body))))
    return (200 if ready else 503), headers, b"" if method == "HEAD" else body
