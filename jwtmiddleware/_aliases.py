"""Old module paths, still importable: ``jwtmiddleware.flow`` is ``jwtmiddleware.http.decision``.

Until version 0.2 the package was flat; the modules moved into the layers (``core``,
``keysets``, ``stores``, ``telemetry``, ``http``, ``sessions``, ``cli``). Code that imported a
module by its old path (``from jwtmiddleware.manager import SessionManager``, as earlier
READMEs showed) keeps working: a finder on ``sys.meta_path`` answers the old name with the
module itself (the same object, so patching either name patches both). Nothing is imported
before it is asked for.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

__all__ = ["MOVED"]

_P = "jwtmiddleware."
#: Old module path → where it lives now.
MOVED: dict[str, str] = {
    _P + old: _P + new
    for old, new in {
        **{
            name: "core." + name
            for name in (
                "reasons",
                "settings",
                "_validate",
                "_coerce",
                "keys",
                "_jwk",
                "_pem",
                "_hmac",
                "_json",
                "_text",
                "verifier",
                "claims",
                "identity",
                "effects",
                "issuer",
                "_lru",
            )
        },
        "sources": "http.sources",
        "cookies": "http.cookies",
        "csrf": "http.csrf",
        "responses": "http.responses",
        "_drive": "http.drive",
        "refresh": "http.refresh",
        "flow": "http.decision",
        "_http": "http.middleware",
        "asgi": "http.asgi",
        "wsgi": "http.wsgi",
        "_websocket": "http.websocket",
        "_status": "http.status",
        "_refusals": "http.refusals",
        "lifecycle": "sessions.lifecycle",
        "manager": "sessions.manager",
        "endpoints": "sessions.endpoints",
        "plans": "sessions.plans",
        "remote_keys": "keysets",
        "remote_keys._cache": "keysets._cache",
        "remote_keys._fetch": "keysets._fetch",
        "remote_keys._parse": "keysets._parse",
        "remote_keys._refresh": "keysets._refresh",
        "remote_keys._types": "keysets._types",
        "remote_keys._url": "core._urls",
        "jwks": "keysets.publish",
        "_cli_keys": "cli.keys",
        "_cli_settings": "cli.settings",
        "events": "telemetry.events",
    }.items()
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an old module path with the module at its new one."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(MOVED[spec.name])
        self._specs[module.__name__] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system just set __spec__ to the alias's: the module keeps its own.
        module.__spec__ = self._specs.pop(module.__name__, module.__spec__)


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    # First: before the path finder, which would load an old submodule path a second time.
    sys.meta_path.insert(0, _MovedModules())
