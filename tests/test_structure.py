"""The codebase's shape: family knowledge only in archs/ (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

from imgrestore import archs

PACKAGE = Path(__file__).parents[1] / "imgrestore"


def _sources(exclude: str | None = None) -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py"))
            if exclude is None or exclude not in p.relative_to(PACKAGE).parts]


def family_names_in(source: str) -> list[tuple[int, str]]:
    """(line, name) of every string constant that is exactly a family's name: a
    comparison, a dict key, a default, a ``Literal``. Prose in docstrings is not."""
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and node.value in archs.FAMILIES]


def test_nothing_outside_archs_names_a_family() -> None:
    """A family's name outside imgrestore/archs/ is knowledge about that family, which
    belongs in its descriptor."""
    found = [f"{p.relative_to(PACKAGE)}:{line}: {name!r}"
             for p in _sources(exclude="archs")
             for line, name in family_names_in(p.read_text(encoding="utf-8"))]
    assert not found, "\n".join(found)


def test_the_check_sees_a_family_name() -> None:
    assert family_names_in('if family == "mprnet":\n    pass') == [(1, "mprnet")]
    assert family_names_in("KEY = {'mirnetv2': 1}") == [(1, "mirnetv2")]
    assert family_names_in('x: Literal["mirnet"] = "mirnet"') == [(1, "mirnet"), (1, "mirnet")]
    assert family_names_in('spec("mprnet_deblurring")\n"""MPRNet and mirnet."""') == []


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_modules_and_functions_are_small() -> None:
    """Modules under 400 lines, functions under 60 (decorators included)."""
    long_modules, long_functions = [], []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(PACKAGE)
        if len(text.splitlines()) > 400:
            long_modules.append(f"{where}: {len(text.splitlines())} lines")
        for fn in _functions(ast.parse(text)):
            start = min([d.lineno for d in fn.decorator_list] + [fn.lineno])
            if fn.end_lineno - start + 1 > 60:
                long_functions.append(f"{where}:{fn.lineno} {fn.name}")
    assert not long_modules and not long_functions, long_modules + long_functions


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the imgrestore modules it imports anywhere (functions included; imports
    only for type checkers left out)."""
    modules = {_module_name(p): p for p in _sources()}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        found: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                          else node.module for a in node.names}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_between_modules_or_packages() -> None:
    graph = import_graph()
    assert cycles(graph) == []
    top = {}  # imgrestore.<package or module> -> what it imports
    for module, imported in graph.items():
        a = ".".join(module.split(".")[:2])
        top.setdefault(a, set()).update(".".join(m.split(".")[:2]) for m in imported)
    for a in top:
        top[a] -= {a, "imgrestore"}
    assert cycles({a: b for a, b in top.items() if a != "imgrestore"}) == []


def test_the_cycle_check_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_boundaries_of_docs_architecture() -> None:
    """archs import nothing of ours; imaging has no torch; only the CLI knows a screen."""
    graph = import_graph()
    for module, imported in graph.items():
        if module.startswith("imgrestore.archs"):
            assert all(m.startswith("imgrestore.archs") for m in imported), module
        if not module.startswith(("imgrestore.cli", "imgrestore.__main__")):
            assert not any(m.startswith("imgrestore.cli") for m in imported), module
    for path in _sources(exclude="cli"):
        source = path.read_text(encoding="utf-8")
        assert "from rich" not in source and "import rich" not in source, path
    for path in PACKAGE.joinpath("imaging").glob("*.py"):
        assert "torch" not in {a.name.split(".")[0] for node in ast.walk(ast.parse(
            path.read_text(encoding="utf-8"))) if isinstance(node, ast.Import)
            for a in node.names}, path
        assert "import torch" not in path.read_text(encoding="utf-8"), path
