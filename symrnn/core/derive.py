"""Derivation: BPTT by the chain rule over the unrolled graph, every partial from ``sympy.diff``.

Walking the graph in reverse order, the gradient of the loss with respect to each symbol s is

    grad_s L = sum over the consumers c of s of  grad_c L * d(def c)/ds,

one new symbol per gradient, so the derivation stays linear in tau.
"""

from __future__ import annotations

import contextlib
import gc
from collections import defaultdict
from dataclasses import dataclass, field

import sympy as sp

from .graph import Graph


@dataclass
class Derivation:
    """Gradient symbols ``adj[s]`` (grad_s L) with definitions ``defs[adj[s]]``."""

    graph: Graph
    adj: dict[sp.Symbol, sp.Symbol]
    defs: dict[sp.Symbol, sp.Expr]
    order: list[sp.Symbol] = field(default_factory=list)  # gradient symbols, computing order
    partial: "Partials | None" = None  # d(def c)/ds, cached per step pattern

    def grad(self, name: str) -> sp.Matrix:
        """grad_P L for a parameter P as a matrix of gradient symbols."""
        return self.graph.params[name].applyfunc(lambda s: self.adj[s])

    def node_grad(self, name: str, t: int) -> sp.Matrix:
        """grad L with respect to a quantity at step t (zeros for a constant initial value)."""
        return self.graph.value(name, t).applyfunc(
            lambda s: self.adj.get(s, sp.Integer(0)) if isinstance(s, sp.Symbol) else sp.Integer(0))

    def expand(self, expr: sp.Expr, keep=frozenset()) -> sp.Expr:
        """Replace gradient symbols not in ``keep`` by their definitions until none is left."""
        expr = sp.sympify(expr)
        while True:
            todo = {s: self.defs[s] for s in expr.free_symbols if s in self.defs and s not in keep}
            if not todo:
                return expr
            expr = expr.xreplace(todo)

    def reduce(self, expr: sp.Expr, keep, forward: dict) -> sp.Expr:
        """``expr`` with the gradients not in ``keep`` expanded and the nodes written in the
        basis of ``Graph.forward_subs()``: what the checks compare."""
        return self.expand(expr, keep).xreplace(forward)

    def size(self) -> int:
        """Number of operations in all gradient definitions (linear in tau)."""
        return sum(sp.count_ops(e) for e in self.defs.values())


class Partials:
    """d(def c)/ds by ``sympy.diff``, computed once per step pattern.

    Every step's local definitions are the same up to renaming of the step's symbols, so the
    partial is taken on the definition renamed to a canonical step and renamed back.
    """

    def __init__(self, graph: Graph):
        self.graph = graph
        self.cache: dict[tuple, sp.Expr] = {}

    def __call__(self, c: sp.Symbol, s: sp.Symbol) -> sp.Expr:
        g = self.graph
        expr = g.defs[c]
        wc = g.where[c]
        if wc.step is None:  # the total loss L
            return sp.diff(expr, s)
        fwd, back = {}, {}
        for v in expr.free_symbols | {s}:
            w = g.where.get(v)
            if w is not None and w.step is not None:
                canon = sp.Symbol(f"{w.name}(T{w.step - wc.step:+d})[{w.entry}]", real=True)
                fwd[v], back[canon] = canon, v
        key = (expr.xreplace(fwd), s.xreplace(fwd))
        if key not in self.cache:
            self.cache[key] = sp.diff(*key)
        return self.cache[key].xreplace(back)


@contextlib.contextmanager
def gc_paused():
    """SymPy builds millions of small objects that live to the end; the cyclic collector
    would rescan them again and again (a cost that grows faster than tau)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def derive(graph: Graph, seeds: dict[int, sp.Expr] | None = None) -> Derivation:
    """Reverse-mode chain rule over ``graph``; ``seeds`` weights L(t) (default: L = sum L(t))."""
    with gc_paused():
        return _derive(graph, seeds)


def _derive(graph: Graph, seeds: dict[int, sp.Expr] | None) -> Derivation:
    consumers: dict[sp.Symbol, list[sp.Symbol]] = defaultdict(list)
    for c in graph.order:
        for s in sorted(graph.defs[c].free_symbols, key=lambda v: v.name):
            consumers[s].append(c)
    partial = Partials(graph)
    adj: dict[sp.Symbol, sp.Symbol] = {}
    defs: dict[sp.Symbol, sp.Expr] = {}
    order: list[sp.Symbol] = []

    def emit(s: sp.Symbol, value: sp.Expr) -> None:
        adj[s] = sp.Symbol(f"grad_{s.name}", real=True)
        defs[adj[s]] = value
        order.append(adj[s])

    step_of_loss = {v: k for k, v in graph.L_t.items()}
    emit(graph.L, sp.Integer(1))
    for s in reversed(graph.order[:-1]):
        if seeds is not None and s in step_of_loss:
            emit(s, sp.sympify(seeds.get(step_of_loss[s], 0)))
            continue
        emit(s, sp.Add(*[adj[c] * partial(c, s) for c in consumers[s]]))
    for s in graph.leaves:
        emit(s, sp.Add(*[adj[c] * partial(c, s) for c in consumers[s]]))
    return Derivation(graph, adj, defs, order, partial)
