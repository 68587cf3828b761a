"""The chain rule written out: paths through the unrolled graph, and Jacobians between states.

``Paths`` folds the unrolled graph onto the quantities a reader follows (the states, the output
and the loss; the nodes in between are folded into the Jacobians), so that each path is one
term of the chain rule and two element-level routes through the same followed quantities are
one term, not two. Counting the paths is one pass over the folded graph (linear in tau);
listing them is shortest first and stops at a limit, so a gated cell, whose number of paths
grows exponentially with tau, costs only what is shown. ``jacobian`` writes d out(t) / d in(s)
in matrix form by the forward rules of differentiation through one step's equations
(h(t) = phi(a(t)), a(t) = b + W h(t-1) + U x(t) give diag(phi'(a(t))) W), and
``path_jacobians`` lists the factors the paths are made of, each once.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass

import sympy as sp

from ..functions import FUNCTIONS
from ..models.base import Model
from ..naming import T, At
from ..functions import Apply, Deriv
from .graph import Graph

Node = tuple[str, int | None]  # (quantity or parameter name, step); ("L", t) for the loss
J = sp.Symbol("j", integer=True)  # the step of a one-step Jacobian in a product over j
#: The paths a document lists (the shortest); more are counted, not listed.
SHOWN_PATHS = 12


def followed(model: Model) -> set[str]:
    """The quantities a path is written with: the output and every state (a quantity some
    equation reads at another step); the loss L."""
    states = {m.name for e in model.equations for m in e.rhs.atoms(At)
              if m.step != T and model.quantity_of(m).role == "node"}
    return states | {model.output.name, "L"}


def _key(path) -> tuple:
    return (len(path), [(n[0], -1 if n[1] is None else n[1]) for n in path])


class Paths:
    """Paths through one unrolled graph, folded onto the followed quantities (built once)."""

    def __init__(self, graph: Graph, extra: tuple[str, ...] = ()):
        """``extra``: more quantities to stop at (the inputs, for a drawing)."""
        self.keep = followed(graph.model)
        stop = self.keep | set(extra)
        node_of: dict[sp.Symbol, Node] = {}
        for s, w in graph.where.items():
            if w.name == "L" and w.step is None:
                continue
            node_of[s] = (w.name, w.step)
        parents: dict[Node, set] = defaultdict(set)
        for s, d in graph.defs.items():
            if s in node_of:
                for v in d.free_symbols:
                    if v in node_of:
                        parents[node_of[s]].add(node_of[v])
        self.parents = parents
        # the folded graph: from a followed node, the followed nodes and parameters it reads
        # through nodes that are not followed
        self.folded: dict[Node, tuple[Node, ...]] = {}
        for node in list(parents):
            if node[0] not in stop:
                continue
            seen, found, stack = set(), set(), list(parents[node])
            while stack:
                p = stack.pop()
                if p in seen:
                    continue
                seen.add(p)
                if p[1] is None or p[0] in stop:
                    found.add(p)
                else:
                    stack.extend(parents.get(p, ()))
            self.folded[node] = tuple(sorted(found, key=lambda n: (n[0], -1 if n[1] is None
                                                                   else n[1])))
        self._counts: dict[str, dict[Node, int]] = {}

    def count(self, step: int, param: str) -> int:
        """How many paths lead from L(step) down to ``param`` (one pass, memoised)."""
        memo = self._counts.setdefault(param, {})
        target = (param, None)
        start = ("L", step)
        stack = [start]
        while stack:  # iterative post-order: no recursion limit at large tau
            node = stack[-1]
            if node in memo:
                stack.pop()
                continue
            todo = [p for p in self.folded.get(node, ()) if p[1] is not None and p not in memo]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            memo[node] = sum(1 if p == target else memo.get(p, 0)
                             for p in self.folded.get(node, ()) if p == target or p[1] is not None)
        return memo[start]

    def __call__(self, step: int, param: str, limit: int = 10_000) -> list[list[Node]]:
        """The paths from L(step) down to ``param`` through the followed quantities, each
        once, shortest first (then by name and step), at most ``limit`` of them."""
        target = (param, None)
        heap = [(_key([("L", step)]), [("L", step)], False)]
        out: list[list[Node]] = []
        while heap and len(out) < limit:
            _k, path, done = heapq.heappop(heap)
            if done:
                out.append(path)
                continue
            for p in self.folded.get(path[-1], ()):
                if p == target:
                    heapq.heappush(heap, (_key(path + [p]), path + [p], True))
                elif p[1] is not None and p[0] != "L":
                    heapq.heappush(heap, (_key(path + [p]), path + [p], False))
        return out

    def edges(self) -> list[tuple[Node, Node]]:
        """Every edge of the folded graph between followed quantities (no parameters)."""
        return [(a, b) for a, bs in self.folded.items() for b in bs if b[1] is not None]


def chain_paths(graph: Graph, step: int, param: str, limit: int = 10_000) -> list[list[Node]]:
    """Every path from L(step) down to ``param`` in the unrolled graph (see ``Paths``)."""
    return Paths(graph)(step, param, limit)


def _tangent(expr, wrt, defs: dict, out=None):
    """d expr / d wrt in matrix form (None when expr does not depend on wrt); ``wrt`` is a
    quantity at a step or a parameter vector (a bias)."""
    if expr == wrt:
        return sp.Identity(wrt.rows)
    if isinstance(expr, At):
        if expr in defs:
            return _tangent(defs[expr], wrt, defs, out=expr)
        return None
    if isinstance(expr, (sp.MatrixSymbol, sp.OneMatrix, sp.ZeroMatrix)):
        return None
    if isinstance(expr, sp.MatAdd):
        parts = [p for p in (_tangent(a, wrt, defs) for a in expr.args) if p is not None]
        return None if not parts else (parts[0] if len(parts) == 1 else sp.MatAdd(*parts))
    if isinstance(expr, sp.MatMul):
        coeff, factors = expr.as_coeff_matrices()
        *mats, v = factors
        d = _tangent(v, wrt, defs)
        if d is None:
            return None
        out_expr = sp.MatMul(*mats, d).doit() if mats else d
        return coeff * out_expr if coeff != 1 else out_expr
    if isinstance(expr, sp.HadamardProduct):
        parts = []
        for i, a in enumerate(expr.args):
            d = _tangent(a, wrt, defs)
            if d is not None:
                others = expr.args[:i] + expr.args[i + 1:]
                other = others[0] if len(others) == 1 else sp.HadamardProduct(*others)
                parts.append(sp.DiagMatrix(other) * d)
        return None if not parts else (parts[0] if len(parts) == 1 else sp.MatAdd(*parts))
    if isinstance(expr, Apply):
        d = _tangent(expr.arg, wrt, defs)
        if d is None:
            return None
        act = FUNCTIONS[expr.f]
        deriv = Deriv(expr.f, out, True) if out is not None and act.dphi_from_h is not None \
            else Deriv(expr.f, expr.arg, False)
        return sp.DiagMatrix(deriv) * d
    raise NotImplementedError(f"no forward rule for {type(expr).__name__}")


def jacobian(model: Model, activation: str, out: At, wrt: At, fixed=()):
    """d out / d wrt through the model's equations at the step of ``out`` (the quantities of
    other steps than ``wrt`` held fixed, and those named in ``fixed`` at every step), in
    matrix form."""
    defs = {}
    for eq in model.with_activation(activation):
        k = sp.expand(out.step - T)
        target = eq.target.at(out.step)
        if eq.target.name in fixed and target != out:
            continue
        defs[target] = eq.rhs.xreplace({T: T + k})
    return _tangent(out, wrt, defs)


@dataclass(frozen=True)
class StateJacobian:
    """d out(t) / d wrt(s) in matrix form (for the documents)."""

    out: At
    wrt: At
    value: sp.MatrixExpr


def path_jacobians(model: Model, activation: str, loss, paths: Paths) -> list[StateJacobian]:
    """The factors the chain rule's paths are made of, each once: one Jacobian for each kind
    of edge of the folded graph (dL(t)/do(t), do(t)/dh(t), dh(j)/ds(j), dh(j)/dh(j-1), ...),
    each taken with every other followed quantity held fixed, so that a path's product counts
    each route once. Edges from the loss and the output within a step are written at step t,
    the others (a step to an earlier or later one) at step j."""
    keep = paths.keep
    o = model.output
    by_name = {q.name: q for q in model.quantities}
    kinds: dict[tuple, tuple[Node, Node]] = {}
    for a, b in paths.edges():
        kinds.setdefault((a[0], b[0], b[1] - a[1]), (a, b))
    order = lambda k: (0 if k[0] == "L" else 1 if k[0] == o.name else 2, k)
    out = []
    for name, wrt_name, offset in sorted(kinds, key=order):
        step = T if name == "L" or (name == o.name and offset == 0) else J
        wrt = by_name[wrt_name].at(step + offset)
        if name == "L":
            yhat = At("yhat", o.size.symbol, 1, T)
            out.append(StateJacobian(At("L", 1, 1, T), wrt,
                                     loss.grad_matrix(yhat, model.target.now).T))
            continue
        at = {T: step}
        value = jacobian(model, activation, by_name[name].now, by_name[wrt_name].at(T + offset),
                         fixed=keep - {name})
        if value is not None:
            out.append(StateJacobian(by_name[name].at(step), wrt, value.xreplace(at)))
    return out


def state_jacobians(model: Model, activation: str, loss) -> list[StateJacobian]:
    """d o(t)/d s(t) for each state s the output reads, d s(j)/d s(j+k) for each state read
    at another step (at a step j), and dL(t)/do(t) of the loss: the Jacobians a chain of the
    unrolled graph is made of."""
    out = []
    keep = followed(model)
    o = model.output.now
    for eq in model.equations:
        for m in sorted(eq.rhs.atoms(At), key=sp.default_sort_key):
            q = model.quantity_of(m)
            if q.role != "node" or q.name not in keep:
                continue
            if m.step == T and eq.target is model.output:
                out.append(StateJacobian(o, m, jacobian(model, activation, o, m)))
    for eq in model.equations:
        for m in sorted(eq.rhs.atoms(At), key=sp.default_sort_key):
            q = model.quantity_of(m)
            if m.step != T and q.role == "node":
                target = q.now
                if any(x.out == target and x.wrt == m for x in out):
                    continue
                j = jacobian(model, activation, target, m)
                if j is not None:
                    at_j = {T: J}
                    out.append(StateJacobian(target.xreplace(at_j), m.xreplace(at_j),
                                             j.xreplace(at_j)))
    yhat = At("yhat", model.output.size.symbol, 1, T)
    out.append(StateJacobian(At("L", 1, 1, T), o,
                             loss.grad_matrix(yhat, model.target.now).T))
    return out
