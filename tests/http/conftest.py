"""Fixtures of the HTTP-level suites: ``kind`` (asgi, wsgi) and ``make_client``."""

from tests.http.harness import kind, make_client

__all__ = ["kind", "make_client"]
