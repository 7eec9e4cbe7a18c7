"""zoo's modules import each other without cycles, imports inside functions included."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "zoo"


def module_names() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """``{module: modules of zoo it imports}`` from every import statement, wherever it stands."""
    modules = module_names()
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets |= {f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    # zoo.models imports its family files by discovery (importlib), which no import statement shows
    graph["zoo.models"] |= {m for m in modules if m.startswith("zoo.models.") and not m.rpartition(".")[2].startswith("_")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_the_graph_is_read():
    graph = import_graph()
    assert "zoo.registry" in graph["zoo.weights"] and "zoo.hub" in graph["zoo.weights"]


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_among_zoos_modules():
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("lower, upper", [
    ("zoo.errors", "zoo.registry"), ("zoo.registry", "zoo.hub"), ("zoo.registry", "zoo.models"),
    ("zoo.registry", "zoo.manifest"), ("zoo.registry", "zoo.weights"), ("zoo.hub", "zoo.weights"),
])
def test_lower_layers_do_not_import_upper_ones(lower, upper):
    graph = import_graph()
    reach, todo = set(), [lower]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in reach:
                reach.add(nxt)
                todo.append(nxt)
    assert not any(m == upper or m.startswith(upper + ".") for m in reach), f"{lower} reaches {upper}"


def test_the_library_imports_nothing_from_scripts_or_tests():
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            assert not any(n.split(".")[0] in ("scripts", "tests") for n in names), path


#: Developer scripts that read the test suite's helpers: the GluonCV timing runs in the GluonCV venv
#: with the parity harness; the int8 agreement uses the fast-path tests' per-family inputs.
_SCRIPTS_READING_TESTS = {"gluoncv_timing.py", "int8_agreement.py"}


def test_user_scripts_run_against_the_installed_package():
    """A script imports the installed ``zoo``: none puts the checkout on ``sys.path``, which could shadow it."""
    scripts = sorted((PACKAGE.parent / "scripts").glob("*.py"))
    assert len(scripts) > 5
    for path in scripts:
        if path.name in _SCRIPTS_READING_TESTS:
            continue
        calls = [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Attribute)
                 and node.attr in ("insert", "append") and ast.unparse(node.value) == "sys.path"]
        assert not calls, f"{path.name} edits sys.path"
