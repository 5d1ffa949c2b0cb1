"""The session layer: login, refresh with rotation, logout, device sessions and the endpoints
that serve them, driven over a store. Builds on the HTTP layer (request views, CSRF, cookies,
the drivers), the stores and the core.
"""

__all__: list[str] = []
