"""Imports run one way: no cycle anywhere in `rnn_zoo/`, and export writers import leaves only.

The graph is read from the source with `ast`, so imports inside functions
count as much as top-level ones (a function-local import hides a cycle from
Python, not from the design). Edges:

* `import rnn_zoo.a.b` -> module `rnn_zoo.a.b`;
* `from rnn_zoo.a import b` -> `rnn_zoo.a.b` when `b` is a submodule, else the
  package `rnn_zoo.a` (its `__init__.py`, where the name lives);
* relative imports, resolved against the importing module's package;
* `importlib.import_module("rnn_zoo....")` with a string literal.

Importing `rnn_zoo.a.b` also runs `rnn_zoo/a/__init__.py` first; that implicit
step is not an edge (else every package that re-exports its children would be
a cycle). An explicit `from rnn_zoo.a import name` in a child of `rnn_zoo.a`,
where `name` is not a submodule, is an edge to the package's `__init__` and
counts: when the package imports that child, the child reading back from it
is a real cycle.

Runs once, on any backend (unmarked): it reads files and imports nothing.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = "rnn_zoo"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE

# What the export writers may import inside `rnn_zoo.export`: the shared leaves
# and the writers' own internals (the graph rebuilder, the fused kernels, the
# converter); never a sibling writer, the orchestrator or the predictor.
EXPORT_WRITERS = ("saved_model", "tflite", "streaming")
EXPORT_ALLOWED_FOR_WRITERS = {
    f"{PACKAGE}.export.{name}"
    for name in ("serving", "parity", "results", "manifest", "verify", "supported",
                 "converter", "graph", "fused")
}


def _module_name(path):
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    return {_module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _resolve_from(node, module, is_package, known):
    """Module names a `from X import a, b` statement in `module` depends on."""
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module
    if not source or not (source == PACKAGE or source.startswith(PACKAGE + ".")):
        return []
    targets = []
    for alias in node.names:
        submodule = f"{source}.{alias.name}"
        # `from pkg import sub` means the submodule; any other name lives in pkg.
        targets.append(submodule if submodule in known else source)
    return targets


def module_edges(tree, module, is_package, known):
    """The rnn_zoo modules one parsed module imports, anywhere in its source.

    Args:
        tree: the module's `ast` tree.
        module: its dotted name.
        is_package: whether it is a package's `__init__.py`.
        known: every module name under rnn_zoo.

    Returns:
        A set of module names (itself excluded).
    """
    edges = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            edges.update(alias.name for alias in node.names
                         if alias.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            edges.update(_resolve_from(node, module, is_package, known))
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and node.args[0].value.startswith(PACKAGE + ".")
              and (getattr(node.func, "attr", None) == "import_module"
                   or getattr(node.func, "id", None) == "import_module")):
            edges.add(node.args[0].value)
    edges.discard(module)
    return {edge for edge in edges if edge in known}


def import_graph():
    """Module -> set of rnn_zoo modules it imports (anywhere in its source)."""
    modules = _modules()
    known = set(modules)
    return {
        module: module_edges(ast.parse(path.read_text(encoding="utf-8"), str(path)), module,
                             path.name == "__init__.py", known)
        for module, path in modules.items()
    }


def strongly_connected(graph):
    """The strongly connected components with more than one module (Tarjan)."""
    index, lowlink, on_stack, stack, components = {}, {}, set(), [], []
    counter = [0]

    def connect(node):
        # Iterative Tarjan: the graph is small, but recursion depth is not ours to spend.
        work = [(node, iter(sorted(graph[node])))]
        index[node] = lowlink[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        while work:
            current, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = lowlink[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    lowlink[current] = min(lowlink[current], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowlink[parent] = min(lowlink[parent], lowlink[current])
                if lowlink[current] == index[current]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == current:
                            break
                    if len(component) > 1:
                        components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return components


def find_cycles(graph):
    """One concrete cycle `[a, b, ..., a]` through each strongly connected component."""
    return [_cycle_through(graph, component) for component in strongly_connected(graph)]


def _describe(graph):
    return "\n".join(
        f"  {' -> '.join(_cycle_through(graph, component))}"
        f"  (modules in this knot: {', '.join(sorted(component))})"
        for component in strongly_connected(graph))


def _cycle_through(graph, component):
    """A shortest cycle through the component's first module (breadth first)."""
    start = min(component)
    parents, seen, frontier = {}, {start}, [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return path[::-1] + [start]
                if child not in seen:
                    seen.add(child)
                    parents[child] = node
                    following.append(child)
        frontier = following
    return sorted(component)


def _reachable(graph, start):
    seen, todo = set(), [start]
    while todo:
        for child in graph[todo.pop()]:
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def test_the_graph_sees_function_local_imports_and_resolves_submodules():
    graph = import_graph()
    export = f"{PACKAGE}.export"
    # Imported inside `read_request`, not at the top of the module.
    assert f"{PACKAGE}.saving" in graph[f"{export}.cross_backend"]
    # `from rnn_zoo.export import manifest` is the submodule, not the package.
    assert f"{export}.manifest" in graph[f"{export}.saved_model"]
    assert export not in graph[f"{export}.saved_model"]
    # The orchestrator sees its leaves (the package itself loads its children
    # lazily, by name, so that running a .tflite file needs no TensorFlow).
    assert f"{export}.serving" in graph[f"{export}.api"]
    known = {PACKAGE, f"{PACKAGE}.a", f"{PACKAGE}.a.b", f"{PACKAGE}.a.c", f"{PACKAGE}.d"}
    source = (
        "import os\n"
        "from . import c\n"
        "from .. import d\n"
        "def later():\n"
        "    importlib.import_module('rnn_zoo.d')\n"
        "    from rnn_zoo.a import some_name\n"
    )
    assert module_edges(ast.parse(source), f"{PACKAGE}.a.b", False, known) == {
        f"{PACKAGE}.a.c", f"{PACKAGE}.d", f"{PACKAGE}.a"}
    assert module_edges(ast.parse("from . import c"), f"{PACKAGE}.a", True, known) == {
        f"{PACKAGE}.a.c"}


def test_cycle_finder_reports_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_rnn_zoo():
    graph = import_graph()
    if find_cycles(graph):
        pytest.fail("import cycles (counting imports inside functions):\n" + _describe(graph))


def test_no_import_cycles_in_rnn_zoo_export():
    graph = import_graph()
    inside = {module: {edge for edge in edges if edge.startswith(f"{PACKAGE}.export")}
              for module, edges in graph.items() if module.startswith(f"{PACKAGE}.export")}
    if find_cycles(inside):
        pytest.fail("import cycles inside rnn_zoo.export:\n" + _describe(inside))


def test_export_writers_import_only_leaves():
    graph = import_graph()
    for writer in EXPORT_WRITERS:
        module = f"{PACKAGE}.export.{writer}"
        reached = {name for name in _reachable(graph, module)
                   if name == f"{PACKAGE}.export" or name.startswith(f"{PACKAGE}.export.")}
        assert reached <= EXPORT_ALLOWED_FOR_WRITERS, (
            f"{module} reaches {sorted(reached - EXPORT_ALLOWED_FOR_WRITERS)}")


def test_export_leaves_import_no_writer():
    graph = import_graph()
    leaves = ("serving", "parity", "results", "manifest", "verify", "supported")
    for leaf in leaves:
        module = f"{PACKAGE}.export.{leaf}"
        reached = {name for name in _reachable(graph, module)
                   if name == f"{PACKAGE}.export" or name.startswith(f"{PACKAGE}.export.")}
        allowed = {f"{PACKAGE}.export.{name}" for name in leaves}
        assert reached <= allowed, f"{module} reaches {sorted(reached - allowed)}"


def test_nothing_imports_the_subprocess_entry_point():
    graph = import_graph()
    entry = f"{PACKAGE}.export.__main__"
    assert [module for module, edges in graph.items() if entry in edges] == []
