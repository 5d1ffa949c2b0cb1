"""What the distribution promises: the license file, the metadata, a core without web
frameworks, and adapters that say how to install their framework when it is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# (what the user imports, the framework module missing, the extra that brings it)
ADAPTERS = [
    ("import flask_jwtmiddleware", "flask", "flask"),
    ("import quart_jwtmiddleware", "quart", "quart"),
    ("import django_jwtmiddleware", "django", "django"),
    ("import django_jwtmiddleware.rest_framework", "rest_framework", "drf"),
    ("import starlette_jwtmiddleware", "starlette", "starlette"),
    ("from starlette_jwtmiddleware import IdentityDep", "fastapi", "fastapi"),
]


def _pyproject() -> dict[str, object]:
    tomllib = pytest.importorskip("tomllib")
    data: dict[str, object] = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    return data


@pytest.mark.parametrize(("statement", "missing", "extra"), ADAPTERS)
def test_an_adapter_without_its_framework_says_what_to_install(
    statement: str, missing: str, extra: str
) -> None:
    # sys.modules[name] = None makes "import name" fail as if the package were not installed.
    code = f"import sys; sys.modules[{missing!r}] = None\n{statement}\n"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False,
        cwd=REPO_ROOT,
    )  # fmt: skip
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: ")  # an ImportError: `except ImportError` works
    assert f"pip install 'jwtmiddleware[{extra}]'" in last


def test_the_core_source_never_imports_werkzeug() -> None:
    import re

    imports = re.compile(r"^\s*(?:import|from)\s+werkzeug\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in (REPO_ROOT / "jwtmiddleware").rglob("*.py")
        if imports.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_werkzeug_comes_with_the_flask_and_quart_extras_only() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    assert not any(dep.startswith("werkzeug") for dep in project["dependencies"])
    extras = project["optional-dependencies"]
    for name in ("flask", "quart"):
        assert any(dep.startswith("werkzeug") for dep in extras[name]), name


def test_license_file_is_the_mit_text_the_metadata_declares() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    assert project["license"] == "MIT"
    text = (REPO_ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) The jwtmiddleware developers\n")
    assert "Permission is hereby granted, free of charge" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text


def test_classifiers_urls_and_security_policy() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    classifiers = set(project["classifiers"])
    for version in ("3.10", "3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    for framework in ("Django", "Flask", "FastAPI"):
        assert f"Framework :: {framework}" in classifiers
    assert "Typing :: Typed" in classifiers
    assert {"Homepage", "Changelog", "Issues", "Security"} <= set(project["urls"])
    policy = (REPO_ROOT / "SECURITY.md").read_text()
    assert "## Supported versions" in policy
    assert "## Reporting a vulnerability" in policy


def test_every_adapter_ships_a_py_typed_marker() -> None:
    for name in ("flask", "quart", "django", "starlette"):
        assert (REPO_ROOT / "adapters" / f"{name}_jwtmiddleware" / "py.typed").is_file()
