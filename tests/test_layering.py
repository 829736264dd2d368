"""The server's modules import each other without a cycle (docs/architecture.md, "Layers"):
a cycle means two modules cannot be understood, tested or moved apart. Every import counts,
including those inside functions, since a late import hides a cycle without removing it."""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parents[1] / "server"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SERVER).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The paycore server modules `path` imports (`from a import b` counts `a.b` when it is a
    module, else `a`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in known
                else node.module
                for alias in node.names
            ]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in SERVER.rglob("*.py")}
    known = set(paths)
    return {name: imports_of(path, known) - {name} for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = pop_component(stack, on_stack, node)
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def pop_component(stack: list[str], on_stack: set[str], root: str) -> list[str]:
    """The strongly connected component whose root is `root`: the stack down to it."""
    component: list[str] = []
    while not component or component[-1] != root:
        member = stack.pop()
        on_stack.discard(member)
        component.append(member)
    return component


def test_no_module_imports_itself_through_others() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_serving_package_does_not_import_the_tools() -> None:
    graph = import_graph()
    serving = [name for name in graph if not name.startswith("paycore.tools")]
    offenders = {
        name: sorted(t for t in graph[name] if t.startswith("paycore.tools"))
        for name in serving
        if name != "paycore.cli"
    }
    assert {name: found for name, found in offenders.items() if found} == {}
