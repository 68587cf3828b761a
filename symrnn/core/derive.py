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
    _inner: tuple | None = field(default=None, repr=False, compare=False)  # see reduce

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
        basis of ``Graph.forward_subs()``: what the checks compare.

        A forward value may read another substituted node inside a function's argument when
        a model writes h(t) = phi(W h(t-1) + U x(t)) without an a(t) node (h(t+1)'s value
        reads h(t)). One ``xreplace`` does not revisit what it puts in, so h(t) would stay a
        symbol inside h(t+1)'s value and become tanh(...) inside the partials of ``expr``.
        Such nodes are therefore kept as symbols inside function arguments, and replaced
        elsewhere, in ``expr`` as in the values: the two sides stay alike. (Replacing a node by
        its own value is exact wherever it is done.)"""
        expr = self.expand(expr, keep)
        if self._inner is None or self._inner[0] is not forward:  # once per forward dict
            self._inner = (forward, frozenset(r for v in forward.values()
                                              for r in v.free_symbols if r in forward))
        inner = self._inner[1]
        if not inner:  # no value reads a substituted node: the plain substitution
            return expr.xreplace(forward)
        return _replace_outside_arguments(expr, forward, inner)

    def size(self) -> int:
        """Number of operations in all gradient definitions (linear in tau)."""
        return sum(sp.count_ops(e) for e in self.defs.values())


def _replace_outside_arguments(expr: sp.Expr, forward: dict, inner: frozenset) -> sp.Expr:
    """``expr`` with every node of ``forward`` replaced by its value, except the nodes of
    ``inner`` inside the arguments of a function (phi(...), Subs(phi'(z), z, ...))."""
    memo: dict = {}

    def walk(e, in_argument: bool):
        key = (e, in_argument)
        if key in memo:
            return memo[key]
        if e.is_Symbol:
            out = forward[e] if e in forward and not (in_argument and e in inner) else e
        elif not e.args:
            out = e
        else:
            deeper = in_argument or isinstance(e, (sp.Function, sp.Derivative, sp.Subs))
            args = [walk(a, deeper) for a in e.args]
            out = e.func(*args) if any(a is not b for a, b in zip(args, e.args)) else e
        memo[key] = out
        return out

    return walk(sp.sympify(expr), False)


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
