"""The package's shape: no import circle between its modules, and one run unrolls and derives
once (every later stage reuses the run's graph, derivation and checked equations)."""

from __future__ import annotations

import ast
from pathlib import Path

from support import ROOT

PACKAGE = "symrnn"
SOURCE = ROOT / PACKAGE


# ---------------------------------------------------------------- the import graph

def _modules() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its ``__init__``)."""
    out = {}
    for path in sorted(SOURCE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _enclosing(name: str, path: Path) -> str:
    """The package a module's relative imports start from."""
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _resolve(node: ast.ImportFrom, name: str, path: Path) -> str | None:
    """The absolute module an ``from X import ...`` names (None outside the package)."""
    if node.level == 0:
        base = node.module or ""
    else:
        pkg = _enclosing(name, path).split(".")
        if node.level - 1 > len(pkg) - 1:
            raise AssertionError(f"{path}: relative import beyond the top-level package")
        pkg = pkg[:len(pkg) - (node.level - 1)]
        base = ".".join(pkg + ([node.module] if node.module else []))
    return base if base == PACKAGE or base.startswith(PACKAGE + ".") else None


def _owner(target: str, modules: dict) -> str:
    """The module that ``target`` (a module, or a name inside one) is defined in."""
    while target not in modules:
        target = target.rpartition(".")[0]
    return target


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports, anywhere in its body (function-level imports
    count). ``from P import m`` is an edge to the submodule P.m when there is one, else to P.
    Importing one's own enclosing package (``from .. import x`` for a name of ``symrnn``) is
    not an edge: Python has that package loaded already."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                        targets.add(_owner(alias.name, modules))
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node, name, path)
                if base is None:
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else _owner(base, modules))
        ancestors = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
        graph[name] = {t for t in targets if t != name and t not in ancestors}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle (its modules, first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_import_graph_reads_every_module_and_its_function_level_imports():
    graph = import_graph()
    assert {"symrnn", "symrnn.core.graph", "symrnn.certificate.engine", "symrnn.cli",
            "symrnn.models.rnn", "symrnn.pipeline"} <= set(graph)
    assert "symrnn.models.base" in graph["symrnn.core.graph"]  # from ..models.base import
    assert "symrnn.certificate.note" in graph["symrnn.models.rnn"]
    assert "symrnn.certificate.engine" in graph["symrnn.pipeline"]  # inside analyse()
    assert "symrnn.certificate.engine" in graph["symrnn.pipeline.__init__"] \
        if "symrnn.pipeline.__init__" in graph else True
    assert "symrnn.functions" in graph["symrnn.certificate.indexform"]
    assert graph["symrnn.naming"] == set()  # node identity depends on nothing else
    assert {"symrnn.cli.run", "symrnn.cli.verify"} <= graph["symrnn.cli"]  # from . import run
    for m, targets in graph.items():  # never an edge to oneself or an enclosing package
        assert m not in targets, m
        assert not any(m.startswith(t + ".") for t in targets), m


def test_find_cycle_finds_a_planted_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle_in_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


# ---------------------------------------------------------------- one unroll, one derive

def _count_everywhere(monkeypatch, real, spec_of, calls: list) -> None:
    """Replace ``real`` by a counting wrapper under every name a loaded symrnn module binds
    it to (``symrnn.pipeline.unroll``, ``symrnn.api._unroll``, ...; function-level imports
    read the defining module's attribute, which is replaced too)."""
    import sys

    def wrapper(*args, **kwargs):
        calls.append(spec_of(*args, **kwargs))
        return real(*args, **kwargs)

    for name, module in list(sys.modules.items()):
        if module is None or not (name == PACKAGE or name.startswith(PACKAGE + ".")):
            continue
        for attr, value in list(vars(module).items()):
            if value is real:
                monkeypatch.setattr(module, attr, wrapper)


def test_run_unrolls_derives_and_checks_equations_once(tmp_path, monkeypatch):
    """``symrnn run``: one unroll, one derivation and one set of checked equations for the
    run's spec; code generation reuses the run's equations (no second analysis)."""
    import symrnn.pipeline as pipeline
    from symrnn.cli import main
    from symrnn.spec import RNNSpec

    calls: dict[str, list] = {"unroll": [], "derive": [], "checked_equations": []}
    _count_everywhere(monkeypatch, pipeline.unroll, lambda model, spec: spec, calls["unroll"])
    _count_everywhere(monkeypatch, pipeline.derive, lambda graph, *a, **k: graph.spec,
                      calls["derive"])
    _count_everywhere(monkeypatch, pipeline.checked_equations,
                      lambda model, derivation, *a, **k: derivation.graph.spec,
                      calls["checked_equations"])
    # the names the pipeline module imported are among those replaced
    assert all(getattr(pipeline, n).__name__ == "wrapper"
               for n in ("unroll", "derive", "checked_equations"))

    out = tmp_path / "out"
    assert main(["run", "--out", str(out), "--no-pdf", "--quiet"]) == 0
    spec = RNNSpec()  # the run's spec: the defaults of every option
    # once each for the run's spec; the certificate also unrolls two small instances of its
    # own (the lemma's cross-check against the composed sympy.diff, and the point that
    # refutes the ascending product order), each once, and checks no equations on them
    for stage, seen in calls.items():
        assert seen.count(spec) == 1, (stage, seen)
    others = [s for s in calls["unroll"] if s != spec]
    assert len(others) == len(set(others)) and all(s.tau <= 4 for s in others), others
    assert calls["checked_equations"] == [spec]
    written = sorted(p.name for p in out.iterdir())
    assert any(n.endswith(".py") for n in written), written  # codegen ran, on those equations
    assert any(n.endswith("_certificate.json") for n in written), written
