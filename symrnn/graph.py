"""Unrolling: the note's RNN (10.8-10.11) as a computational graph over tau steps.

Element level: one SymPy symbol per time step, node and entry (a(t)_i, h(t)_i, o(t)_i,
y^(t)_i, L(t)), each with its local definition in terms of earlier symbols, so the size of
everything is linear in tau. Matrix level: ``MatrixSymbol`` names for the same nodes, used
for printing and code.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .functions import ACTIVATIONS, LOSSES
from .spec import RNNSpec

PARAMS = ("U", "W", "V", "b", "c")
NODES = ("a", "h", "o", "yhat", "L")


def _real(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def _vector(name: str, n: int) -> sp.Matrix:
    return sp.Matrix(n, 1, lambda i, _: _real(f"{name}[{i}]"))


def _matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: _real(f"{name}[{i},{j}]"))


@dataclass
class Graph:
    """The unrolled graph of one spec (element level).

    ``params`` maps U, W, V, b, c to matrices of symbols; ``x[t]``, ``a[t]``, ``h[t]``, ``o[t]``,
    ``yhat[t]`` are column matrices of symbols for t = 1..tau (``h[0]`` is h(0), zeros or
    symbols); ``L_t[t]`` and ``L`` are scalar symbols. ``defs`` maps every node symbol to its
    local definition and ``order`` lists node symbols so that each comes after its inputs.
    """

    spec: RNNSpec
    params: dict[str, sp.Matrix]
    x: dict[int, sp.Matrix]
    targets: dict[int, list[sp.Expr]]
    a: dict[int, sp.Matrix]
    h: dict[int, sp.Matrix]
    o: dict[int, sp.Matrix]
    yhat: dict[int, sp.Matrix]
    L_t: dict[int, sp.Symbol]
    L: sp.Symbol
    defs: dict[sp.Symbol, sp.Expr]
    order: list[sp.Symbol]

    @property
    def leaves(self) -> list[sp.Symbol]:
        """Symbols we differentiate with respect to: parameters, then h(0) if symbolic."""
        out = [s for name in PARAMS for s in self.params[name]]
        if self.spec.h0 == "symbol":
            out += list(self.h[0])
        return out

    def node(self, kind: str, t: int) -> sp.Matrix:
        """The column of symbols for node ``kind`` at step t (L as a 1x1 matrix)."""
        if kind == "L":
            return sp.Matrix([[self.L_t[t]]])
        return getattr(self, kind)[t]

    def forward_subs(self) -> dict[sp.Symbol, sp.Expr]:
        """h -> phi(a), y^ -> out(o), L(t) -> loss(out(o)): every node in terms of the basis
        a(t), o(t) and the leaves, so one ``xreplace`` reduces an expression to that basis."""
        one = {s: self.defs[s] for t in range(1, self.spec.tau + 1)
               for s in (*self.h[t], *self.yhat[t], self.L_t[t])}
        return {k: v.xreplace(one).xreplace(one) for k, v in one.items()}


def unroll(spec: RNNSpec) -> Graph:
    """Unroll ``spec`` for t = 1..tau: a(t) = b + W h(t-1) + U x(t), h(t) = phi(a(t)),
    o(t) = c + V h(t), y^(t) = out(o(t)), L(t) = loss(y^(t), y(t)), L = sum_t L(t)."""
    act, loss = ACTIVATIONS[spec.activation], LOSSES[spec.loss]
    n_in, n_h, n_out = spec.n_in, spec.n_hidden, spec.n_out
    params = {"U": _matrix("U", n_h, n_in), "W": _matrix("W", n_h, n_h),
              "V": _matrix("V", n_out, n_h), "b": _vector("b", n_h), "c": _vector("c", n_out)}
    U, W, V, b, c = (params[k] for k in PARAMS)
    h = {0: sp.zeros(n_h, 1) if spec.h0 == "zeros" else _vector("h(0)", n_h)}
    x, targets, a, o, yhat, L_t = {}, {}, {}, {}, {}, {}
    defs: dict[sp.Symbol, sp.Expr] = {}
    order: list[sp.Symbol] = []

    def define(symbols: sp.Matrix, values) -> None:
        for s, v in zip(symbols, values):
            defs[s] = v
            order.append(s)

    for t in range(1, spec.tau + 1):
        x[t] = _vector(f"x({t})", n_in)
        if loss.target == "class":
            y = spec.class_labels[t - 1]
            targets[t] = [sp.Integer(int(i == y)) for i in range(n_out)]
        else:
            targets[t] = list(_vector(f"y({t})", n_out))
        a[t] = _vector(f"a({t})", n_h)
        define(a[t], b + W * h[t - 1] + U * x[t])
        h[t] = _vector(f"h({t})", n_h)
        define(h[t], [act.phi(v) for v in a[t]])
        o[t] = _vector(f"o({t})", n_out)
        define(o[t], c + V * h[t])
        yhat[t] = _vector(f"yhat({t})", n_out)
        define(yhat[t], loss.output(list(o[t])))
        L_t[t] = _real(f"L({t})")
        define(sp.Matrix([L_t[t]]), [loss.per_step(list(yhat[t]), targets[t])])
    L = _real("L")
    define(sp.Matrix([L]), [sp.Add(*L_t.values())])
    return Graph(spec, params, x, targets, a, h, o, yhat, L_t, L, defs, order)


def compose(graph: Graph, expr: sp.Expr) -> sp.Expr:
    """``expr`` with every node symbol replaced by its definition, down to the leaves.

    The size of the result grows exponentially with tau: this is the naive route, kept as
    ground truth for small tau.
    """
    full: dict[sp.Symbol, sp.Expr] = {}
    for s in graph.order:
        full[s] = _point_derivatives(graph.defs[s]).xreplace(full)
    return _point_derivatives(sp.sympify(expr)).xreplace(full)


def _point_derivatives(expr: sp.Expr) -> sp.Expr:
    """phi'(a) as Subs(d phi(z)/dz, z, a), so that a can be replaced by an expression."""
    def point(d: sp.Derivative) -> sp.Expr:
        (var, n), = d.variable_count
        z = sp.Dummy("z", real=True)
        return sp.Subs(sp.Derivative(d.expr.xreplace({var: z}), (z, n)), z, var)

    return expr.replace(lambda e: isinstance(e, sp.Derivative) and len(e.variable_count) == 1
                        and e.variable_count[0][0].is_Symbol, point)


@dataclass(frozen=True)
class MatrixSymbols:
    """Matrix-level names of the graph: U, W, V, b, c and x(t), a(t), h(t), o(t), y^(t)."""

    spec: RNNSpec

    def param(self, name: str) -> sp.MatrixSymbol:
        s = self.spec
        shapes = {"U": (s.n_hidden, s.n_in), "W": (s.n_hidden, s.n_hidden),
                  "V": (s.n_out, s.n_hidden), "b": (s.n_hidden, 1), "c": (s.n_out, 1)}
        return sp.MatrixSymbol(name, *shapes[name])

    def node(self, kind: str, t) -> sp.MatrixSymbol:
        s = self.spec
        size = {"x": s.n_in, "a": s.n_hidden, "h": s.n_hidden, "o": s.n_out, "yhat": s.n_out,
                "y": s.n_out}[kind]
        return sp.MatrixSymbol(f"{kind}^({t})", size, 1)
