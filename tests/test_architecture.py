"""The package's shape: imports between wgan's modules form no cycle, and only
rundir.py spells the names of a run directory's files."""

import ast
import os
import re

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "wgan")


def module_name(path: str) -> str:
    rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].replace(os.sep, ".")
    return rel[: -len(".__init__")] if rel.endswith(".__init__") else rel


def sources():
    for folder, _, names in os.walk(PACKAGE):
        for name in sorted(names):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def imported_modules(path: str) -> set[str]:
    """wgan modules imported anywhere in the file at ``path`` (module level or inside functions:
    a late import hides a circle, it does not remove it)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    package = module_name(path) if path.endswith("__init__.py") else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            if base.startswith("wgan"):
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("wgan"))
    return found


def test_imports_between_modules_form_no_cycle():
    modules = {module_name(p): p for p in sources()}
    graph = {m: {i for i in imported_modules(p) if i in modules and i != m} for m, p in modules.items()}
    # A package's __init__ importing its own modules is not a cycle between modules.
    for m in graph:
        graph[m] = {i for i in graph[m] if not m.startswith(i + ".") and not (i == "wgan" and m.startswith("wgan."))}
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles


@pytest.mark.parametrize("name", ["metrics.jsonl", "config.yaml", "best_generator.safetensors"])
def test_only_rundir_spells_the_run_directory_file_names(name):
    pattern = re.compile(r"[\"']" + re.escape(name) + r"[\"']")
    hits = [p for p in sources() if not p.endswith("rundir.py") and pattern.search(open(p, encoding="utf-8").read())]
    assert not hits
