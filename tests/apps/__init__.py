"""Tiny framework-free apps behind jwtmiddleware, loaded by the real servers the tests start.

Each module has a ``create_app(settings=None)`` factory (settings default to
``Settings.from_env()``), so importing a module never needs ``JWTMIDDLEWARE_*`` variables:
``uvicorn --factory tests.apps.asgi_echo:create_app``, ``hypercorn
"tests.apps.asgi_echo:create_app()"``, ``gunicorn "tests.apps.wsgi_echo:create_app()"``.
"""
