"""The package's import graph: no cycle, no module importing its own package.

Every ``import`` and ``from ... import`` inside ``svlearn`` (at module level
and inside functions alike) is an edge from the importing module to the
module it names; ``docs/architecture.md`` draws this graph.
"""

import ast
from pathlib import Path

import svlearn

ROOT = Path(svlearn.__file__).parent

# Imports of a package by one of its own modules, each with its reason.
UPWARD_ALLOWED = {
    # all_estimators walks the installed package, as scikit-learn's does.
    ("svlearn.utils.discovery", "svlearn"),
}


def _modules():
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imported(name, path, node, modules):
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in modules]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    if node.level:
        package = package[: len(package) - node.level + 1]
        base = ".".join(package + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    found = []
    for alias in node.names:
        target = f"{base}.{alias.name}"
        target = target if target in modules else base
        if target in modules:
            found.append(target)
    return found


def import_graph():
    """Module name to the set of svlearn modules it imports."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(_imported(name, path, node, modules))
        edges.discard(name)
        graph[name] = edges
    return graph


def _is_upward(source, target):
    return source.startswith(target + ".")


def test_import_graph_sees_the_known_edges():
    graph = import_graph()
    assert "svlearn._route" in graph["svlearn._regressor"]
    assert "svlearn._lean" in graph["svlearn._route"]
    assert "svlearn._validation" in graph["svlearn.datasets._splits"]


def test_no_module_imports_its_own_package():
    graph = import_graph()
    upward = {
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if _is_upward(source, target)
    }
    assert upward <= UPWARD_ALLOWED, sorted(upward - UPWARD_ALLOWED)


def test_import_graph_has_no_cycle():
    graph = {
        source: {t for t in targets if not _is_upward(source, t)}
        for source, targets in import_graph().items()
    }
    state, path, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, [" -> ".join(cycle) for cycle in cycles]
