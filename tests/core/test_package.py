"""Package surface: ``__all__`` complete and sorted; the core imports no framework."""

from __future__ import annotations

import subprocess
import sys
import types

import jwtmiddleware


def test_all_is_sorted_and_complete() -> None:
    assert jwtmiddleware.__all__ == sorted(jwtmiddleware.__all__)
    public = {
        name
        for name, value in vars(jwtmiddleware).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"  # from __future__
    }
    assert public | {"__version__"} == set(jwtmiddleware.__all__)


def test_every_module_declares_all() -> None:
    import pkgutil

    for info in pkgutil.walk_packages(jwtmiddleware.__path__, "jwtmiddleware."):
        if info.name.endswith("__main__"):
            continue
        module = __import__(info.name, fromlist=["_"])
        assert isinstance(getattr(module, "__all__", None), list), info.name


FORBIDDEN = (
    "starlette",
    "fastapi",
    "flask",
    "quart",
    "django",
    "redis",
    "uvicorn",
    "werkzeug",
    "prometheus_client",
    "opentelemetry",
)


def test_importing_the_core_imports_no_framework_or_redis() -> None:
    code = (
        "import sys, jwtmiddleware, jwtmiddleware.stores, jwtmiddleware.testing;"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}];"
        "print(','.join(sorted(bad)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
