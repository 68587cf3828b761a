"""The chain rule written out: paths through the unrolled graph, and Jacobians between states.

``chain_paths`` lists every path from the loss at one step down to a parameter, through the
quantities a reader follows (the states and the output; the nodes in between are folded into
the Jacobians). ``jacobian`` writes d out(t) / d in(s) in matrix form by the forward rules of
differentiation through one step's equations (h(t) = phi(a(t)), a(t) = b + W h(t-1) + U x(t)
give diag(phi'(a(t))) W), for the documents.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sympy as sp

from ..functions import FUNCTIONS
from ..models.base import Model
from ..naming import T, At
from ..functions import Apply, Deriv
from .graph import Graph

Node = tuple[str, int | None]
J = sp.Symbol("j", integer=True)  # the step of a one-step Jacobian in a product over j  # (quantity or parameter name, step); ("L", t) for the loss


def followed(model: Model) -> set[str]:
    """The quantities a path is written with: the output and every state (a quantity some
    equation reads at another step); the loss L."""
    states = {m.name for e in model.equations for m in e.rhs.atoms(At)
              if m.step != T and model.quantity_of(m).role == "node"}
    return states | {model.output.name, "L"}


class Paths:
    """Paths through one unrolled graph (its parent links are built once)."""

    def __init__(self, graph: Graph):
        self.keep = followed(graph.model)
        node_of: dict[sp.Symbol, Node] = {}
        for s, w in graph.where.items():
            if w.name == "L" and w.step is None:
                continue
            node_of[s] = (w.name, w.step)
        self.parents: dict[Node, set] = defaultdict(set)
        for s, d in graph.defs.items():
            if s in node_of:
                for v in d.free_symbols:
                    if v in node_of:
                        self.parents[node_of[s]].add(node_of[v])

    def __call__(self, step: int, param: str, limit: int = 10_000) -> list[list[Node]]:
        """Every path from L(step) down to ``param``, written with the followed quantities
        only, shortest first (at most ``limit`` paths)."""
        target, paths = (param, None), []
        stack = [[("L", step)]]
        while stack and len(paths) < limit:
            path = stack.pop()
            for p in sorted(self.parents[path[-1]],
                            key=lambda n: (n[0], -1 if n[1] is None else n[1])):
                if p == target:
                    paths.append(path + [p])
                elif p[1] is not None:
                    stack.append(path + [p])
        kept = [[n for n in path if n[0] in self.keep or n[1] is None] for path in paths]
        return sorted(kept, key=lambda p: (len(p), [(n[0], n[1] or 0) for n in p]))


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


def jacobian(model: Model, activation: str, out: At, wrt: At):
    """d out / d wrt through the model's equations at the step of ``out`` (the quantities of
    other steps than ``wrt`` held fixed), in matrix form."""
    defs = {}
    for eq in model.with_activation(activation):
        k = sp.expand(out.step - T)
        defs[eq.target.at(out.step)] = eq.rhs.xreplace({T: T + k})
    return _tangent(out, wrt, defs)


@dataclass(frozen=True)
class StateJacobian:
    """d out(t) / d wrt(s) in matrix form (for the documents)."""

    out: At
    wrt: At
    value: sp.MatrixExpr


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
