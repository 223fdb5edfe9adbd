"""The layers hold: imports go ui -> core, and inside core shells -> workflows -> engine, never back."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _imports() -> dict[str, set[str]]:
    """Each project module and the modules it imports (those for type checking only too)."""
    graph: dict[str, set[str]] = {}
    for path in sorted([*ROOT.glob("core/**/*.py"), *ROOT.glob("ui/**/*.py")]):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[_module_name(path)] = names
    return graph


def _project(names: set[str]) -> set[str]:
    """The imported names that are project modules."""
    return {name for name in names if name in _imports()}


def _within(name: str, *packages: str) -> bool:
    """True when module `name` is one of `packages` or inside one."""
    return any(name == package or name.startswith(package + ".") for package in packages)


def test_core_never_imports_gradio_or_the_ui():
    offenders = {
        module: sorted(n for n in names if n.split(".")[0] in ("gradio", "gradio_client", "ui"))
        for module, names in _imports().items()
        if _within(module, "core")
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_the_simulator_needs_only_the_catalog_and_sizes():
    allowed = {"core.catalog", "core.sizes", "core.errors"}
    outside = {
        module: sorted(n for n in _project(names) if not _within(n, "core.simulator") and n not in allowed)
        for module, names in _imports().items()
        if _within(module, "core.simulator")
    }
    assert {module: names for module, names in outside.items() if names} == {}


def test_the_engine_never_reaches_up_into_workflows_or_the_command_line():
    up = ("core.workflows", "core.cli")
    engine = {m: n for m, n in _imports().items() if _within(m, "core") and not _within(m, *up, "core.simulator")}
    reaching = {module: sorted(n for n in _project(names) if _within(n, *up)) for module, names in engine.items()}
    assert {module: names for module, names in reaching.items() if names} == {}
    workflows = {m: n for m, n in _imports().items() if _within(m, "core.workflows")}
    assert not any(_within(n, "core.cli") for names in workflows.values() for n in _project(names))


def test_no_module_imports_itself_back_through_others():
    graph = {module: _project(names) - {module} for module, names in _imports().items()}
    # A package's __init__ re-exporting its own modules is not a cycle of concepts.
    graph = {module: {n for n in names if not _within(module, n)} for module, names in graph.items()}
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for name in sorted(graph.get(module, ())):
            if state.get(name) == "open":
                cycles.append([*path[path.index(name) :], name] if name in path else [*path, name])
            elif name not in state:
                visit(name, [*path, name])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
