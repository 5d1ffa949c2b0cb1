"""The layout's rules, checked on the source (see ARCHITECTURE.md).

- no import circles in ``jwtmiddleware/`` or ``adapters/`` (imports under ``TYPE_CHECKING``
  excluded; imports inside functions count);
- a layer never imports a higher one: core < keysets < stores < telemetry < http < sessions <
  the top-level modules (``integration``, ``testing``, ``cli``, ``demo``, ...);
- the core imports no web framework, no store client and no clock;
- the adapters import only the public surface: ``jwtmiddleware``, ``jwtmiddleware.errors``,
  ``jwtmiddleware.integration`` and ``jwtmiddleware.stores``;
- no function longer than 60 lines and no module over 300 lines in the package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "jwtmiddleware"
ADAPTERS = sorted(p for p in (ROOT / "adapters").iterdir() if (p / "__init__.py").exists())
LAYERS = ("core", "keysets", "stores", "telemetry", "http", "sessions")
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 300
#: Modules allowed to be longer than MAX_MODULE_LINES, each with the reason. Empty: every
#: module fits; an entry needs a reason a reviewer agrees with.
LONG_MODULES: dict[str, str] = {}
#: Functions allowed to be longer than MAX_FUNCTION_LINES ("module:function": reason).
LONG_FUNCTIONS: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    target: str
    line: int


def _module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found = {_module_name(p, ROOT): p for p in PACKAGE.rglob("*.py")}
    for adapter in ADAPTERS:
        found.update({_module_name(p, adapter.parent): p for p in adapter.rglob("*.py")})
    return found


SOURCES = _sources()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, skipping ``if TYPE_CHECKING:`` bodies."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _import_nodes(other)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        else:
            yield from _import_nodes(child)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    parts = module.split(".")
    if not is_package:
        parts.pop()
    if node.level > 1:
        parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, *([node.module] if node.module else [])])


def _known(name: str) -> str | None:
    """The module of ours ``name`` refers to (a module, or a name inside one), if any."""
    while name and name not in SOURCES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> list[Import]:
    """The modules of ours that ``module`` imports at run time."""
    path = SOURCES[module]
    out: list[Import] = []
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = _resolve(module, path.name == "__init__.py", node)
            names = [f"{base}.{alias.name}" for alias in node.names] or [base]
        for name in names:
            target = _known(name)
            if target is not None and target != module:
                out.append(Import(target, node.lineno))
    return out


GRAPH = {module: imports_of(module) for module in SOURCES}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for edge in GRAPH[node]:
            if edge.target not in index:
                visit(edge.target)
                low[node] = min(low[node], low[edge.target])
            elif edge.target in on_stack:
                low[node] = min(low[node], index[edge.target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def layer(module: str) -> int:
    parts = module.split(".")
    if parts[0] == "jwtmiddleware" and len(parts) > 1 and parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return len(LAYERS)  # the top-level modules, cli, demo


def test_the_graph_sees_every_module_and_their_imports() -> None:
    # Guards the checks below against walking nothing.
    assert len(SOURCES) > 150
    targets = {edge.target for edge in GRAPH["jwtmiddleware.http.decision"]}
    assert {"jwtmiddleware.core.errors", "jwtmiddleware.http.results"} <= targets
    assert "jwtmiddleware.integration" in {e.target for e in GRAPH["flask_jwtmiddleware._views"]}
    # A function-level import counts; one under TYPE_CHECKING does not.
    assert "jwtmiddleware.keysets" in {e.target for e in GRAPH["jwtmiddleware.http.decision"]}
    assert "jwtmiddleware.stores.mirror" not in targets


def test_there_are_no_import_circles() -> None:
    assert _cycles() == []


def test_a_circle_would_be_found() -> None:
    GRAPH["jwtmiddleware.core.errors"].append(Import("jwtmiddleware.core.keys", 0))
    try:
        assert _cycles()
    finally:
        GRAPH["jwtmiddleware.core.errors"].pop()


def test_no_layer_imports_a_higher_one() -> None:
    upward = [
        f"{module}:{edge.line} imports {edge.target}"
        for module, edges in GRAPH.items()
        if module.startswith("jwtmiddleware.")
        for edge in edges
        if edge.target.startswith("jwtmiddleware") and layer(edge.target) > layer(module)
    ]
    assert upward == []


_NOT_IN_THE_CORE = (
    "starlette", "fastapi", "flask", "quart", "django", "werkzeug", "redis", "sqlite3",
    "socket", "asyncio", "anyio", "time", "urllib.request", "http.client",
)  # fmt: skip


def _absolute_imports(path: Path) -> Iterator[tuple[str, int]]:
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif node.level == 0 and node.module:
            yield node.module, node.lineno


def test_the_core_imports_no_framework_store_client_or_clock() -> None:
    offending = [
        f"{module}:{line} imports {name}"
        for module, path in SOURCES.items()
        if module.startswith("jwtmiddleware.core")
        for name, line in _absolute_imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in _NOT_IN_THE_CORE)
    ]
    assert offending == []


_ADAPTER_SURFACE = {
    "jwtmiddleware",
    "jwtmiddleware.errors",
    "jwtmiddleware.integration",
    "jwtmiddleware.stores",
}


def test_adapters_use_only_the_public_surface() -> None:
    inward = [
        f"{module}:{edge.line} imports {edge.target}"
        for module, edges in GRAPH.items()
        if not module.startswith("jwtmiddleware")
        for edge in edges
        if edge.target.startswith("jwtmiddleware") and edge.target not in _ADAPTER_SURFACE
    ]
    assert inward == []


def _package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _package_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_stay_short(path: Path) -> None:
    relative = str(path.relative_to(ROOT))
    text = path.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    if relative not in LONG_MODULES:
        assert lines <= MAX_MODULE_LINES, f"{relative} has {lines} lines: split it"
    long = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            key = f"{relative}:{node.name}"
            if length > MAX_FUNCTION_LINES and key not in LONG_FUNCTIONS:
                long.append(f"{key} ({length} lines)")
    assert long == []


def test_the_allow_lists_name_only_what_exists_and_is_long() -> None:
    for relative in LONG_MODULES:
        assert len((ROOT / relative).read_text().splitlines()) > MAX_MODULE_LINES, relative
    for key in LONG_FUNCTIONS:
        assert (ROOT / key.partition(":")[0]).exists(), key
