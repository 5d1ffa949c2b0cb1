"""Rendering the core's session answers in Flask and Quart (this module imports neither).

The decisions (which refresh token, CSRF proof, cookies, bodies) are the core's
:class:`~jwtmiddleware.integration.SessionEndpoints`; this module only turns its
:class:`~jwtmiddleware.integration.ResponsePlan` into a response of the framework whose
``jsonify`` and ``response_class`` it is given, or raises its refusal as an ``HTTPException``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from jwtmiddleware.integration import ResponsePlan

from .errors import exception_for

__all__ = ["render_plan"]

R = TypeVar("R")


def render_plan(
    plan: ResponsePlan,
    *,
    realm: str,
    jsonify: Callable[[Any], R],
    response_class: Callable[..., R],
) -> R:
    """The framework response for ``plan``.

    :raises JWTHTTPException: for a refusal, carrying the plan's ``Set-Cookie`` values (a
        refused cookie refresh deletes the cookies), so ``@app.errorhandler`` renders it.
    """
    if plan.error is not None:
        raise exception_for(plan.error, realm=realm, set_cookies=plan.set_cookies)
    if plan.body is None:
        response: Any = response_class(b"", status=plan.status)
    else:
        response = jsonify(plan.body)
        response.status_code = plan.status
    for name, value in plan.headers:
        response.headers[name] = value
    for value in plan.set_cookies:
        response.headers.add("Set-Cookie", value)
    out: R = response
    return out
