"""The HTTP layer: requests in, decisions out.

Token sources, cookies, CSRF, refusal responses, the decision (:mod:`.decision`), the drivers
that answer its effects (:mod:`.drive`), and the ASGI and WSGI middleware. Builds on the core,
the key sets, the stores and telemetry; the session layer builds on it.
"""

__all__: list[str] = []
