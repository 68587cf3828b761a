"""Derivation: BPTT by the chain rule over the unrolled graph, every partial from ``sympy.diff``.

Element level (``derive``): walking the graph in reverse order, the adjoint of each symbol s is
    grad_s L = sum over the consumers c of s of  grad_c L * d(def c)/ds,
one new symbol per adjoint, so the derivation stays linear in tau.

Matrix level (``matrix_equations``): the same adjoints written in the textbook's shape
(W^T, diag(...), outer products). Each matrix equation is checked, entry by entry and exactly,
against the element-level adjoints before it is returned.
"""

from __future__ import annotations

import contextlib
import gc
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .functions import ACTIVATIONS, LOSSES
from .graph import PARAMS, Graph, compose, unroll
from .spec import RNNSpec


def adjoint_name(s: sp.Symbol) -> str:
    return f"grad_{s.name}"


@dataclass
class Derivation:
    """Adjoint symbols ``adj[s]`` (grad_s L) with definitions ``defs[adj[s]]``.

    ``seeds`` maps each L(t) to the weight its adjoint starts from (1 for the total loss L).
    """

    graph: Graph
    adj: dict[sp.Symbol, sp.Symbol]
    defs: dict[sp.Symbol, sp.Expr]
    order: list[sp.Symbol] = field(default_factory=list)  # adjoint symbols, in computing order
    partial: "Callable[[sp.Symbol, sp.Symbol], sp.Expr] | None" = None  # d(def c)/ds, cached

    def grad(self, name: str) -> sp.Matrix:
        """grad_P L for a parameter P (or "h0") as a matrix of adjoint symbols."""
        g = self.graph
        m = g.h[0] if name == "h0" else g.params[name]
        return m.applyfunc(lambda s: self.adj[s])

    def node_grad(self, kind: str, t: int) -> sp.Matrix:
        return self.graph.node(kind, t).applyfunc(lambda s: self.adj[s])

    def expand_adjoints(self, expr: sp.Expr, keep: set[sp.Symbol] = frozenset()) -> sp.Expr:
        """Replace adjoint symbols not in ``keep`` by their definitions until none is left."""
        expr = sp.sympify(expr)
        while True:
            todo = {s: self.defs[s] for s in expr.free_symbols if s in self.defs and s not in keep}
            if not todo:
                return expr
            expr = expr.xreplace(todo)

    def reduce(self, expr: sp.Expr, keep: set[sp.Symbol], forward: dict) -> sp.Expr:
        """``expr`` with the adjoints not in ``keep`` expanded and the nodes written in the
        basis a(t), o(t) (``forward`` is ``Graph.forward_subs()``): what the checks compare."""
        return self.expand_adjoints(expr, keep).xreplace(forward)

    def size(self) -> int:
        """Number of operations in all adjoint definitions (linear in tau)."""
        return sum(sp.count_ops(e) for e in self.defs.values())


def _step_renaming(graph: Graph) -> dict[sp.Symbol, tuple[int, str]]:
    """Each node or input symbol -> (its step, its name with the step written as T)."""
    out = {}
    for kind in ("x", "a", "h", "o", "yhat"):
        for t, m in getattr(graph, kind).items():
            for s in m:
                if isinstance(s, sp.Symbol) and s.name.startswith(f"{kind}({t})"):
                    out[s] = (t, kind + "(T)" + s.name[len(f"{kind}({t})"):])
    for t, y in graph.targets.items():
        for s in y:
            if isinstance(s, sp.Symbol):
                out[s] = (t, "y(T)" + s.name[len(f"y({t})"):])
    for t, s in graph.L_t.items():
        out[s] = (t, "L(T)")
    return out


class _Partials:
    """d(def c)/ds by ``sympy.diff``, computed once per step pattern.

    Every step's local definitions are the same up to renaming of the step's symbols, so the
    partial is taken on the definition renamed to a canonical step and renamed back.
    """

    def __init__(self, graph: Graph):
        self.graph = graph
        self.rename = _step_renaming(graph)
        self.cache: dict[tuple, sp.Expr] = {}

    def __call__(self, c: sp.Symbol, s: sp.Symbol) -> sp.Expr:
        expr = self.graph.defs[c]
        if c == self.graph.L or c not in self.rename:
            return sp.diff(expr, s)
        t = self.rename[c][0]
        fwd, back = {}, {}
        for v in expr.free_symbols | {s}:
            if v in self.rename:
                k, name = self.rename[v]
                canon = sp.Symbol(name.replace("T", "T" if k == t else "T-1"), real=True)
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
    partial = _Partials(graph)
    adj: dict[sp.Symbol, sp.Symbol] = {}
    defs: dict[sp.Symbol, sp.Expr] = {}
    order: list[sp.Symbol] = []

    def emit(s: sp.Symbol, value: sp.Expr) -> None:
        adj[s] = sp.Symbol(adjoint_name(s), real=True)
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


def naive_gradient(graph: Graph, name: str) -> sp.Matrix:
    """grad_P L by differentiating the fully composed loss (exponential in tau; ground truth)."""
    loss = compose(graph, graph.L)
    m = graph.h[0] if name == "h0" else graph.params[name]
    return m.applyfunc(lambda s: sp.diff(loss, s))


_STEP = re.compile(r"\((\d+)\)")
_ZERO_CACHE: dict[sp.Expr, bool] = {}


def shift_steps(expr: sp.Expr) -> sp.Expr:
    """``expr`` with its step indices renamed relative to the earliest (h(7), h(8) -> h(T), h(T+1)).

    Identities are invariant under renaming symbols, so checks that repeat at every step are
    proved once per pattern.
    """
    syms = [(s, _STEP.search(s.name)) for s in expr.free_symbols]
    steps = [int(m.group(1)) for _, m in syms if m]
    if not steps:
        return expr
    base = min(steps)
    return expr.xreplace({s: sp.Symbol(_STEP.sub(lambda k: f"(T+{int(k.group(1)) - base})",
                                                   s.name, count=1), **s.assumptions0)
                          for s, m in syms if m})


def is_zero(expr: sp.Expr) -> bool:
    """True when SymPy proves ``expr`` identically zero (expand, then cancel, then simplify)."""
    key = shift_steps(sp.sympify(expr))
    if key in _ZERO_CACHE:
        return _ZERO_CACHE[key]
    result = _prove_zero(key)
    _ZERO_CACHE[key] = result
    return result


def _probe(expr: sp.Expr) -> sp.Expr:
    """``expr`` at a fixed rational point (undefined functions taken as sin), 30 digits.

    A clearly nonzero value shows ``expr`` is not identically zero; a probe never confirms.
    """
    rng = random.Random(1729)
    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    e = expr.xreplace({s: sp.Rational(rng.randint(-97, 97), 101) for s in syms})
    funcs = {f.func for f in e.atoms(sp.core.function.AppliedUndef)}
    if funcs:
        z = sp.Dummy("z")
        e = e.subs({f: sp.Lambda(z, sp.sin(z)) for f in funcs}).doit()
    return sp.N(e, 30)


def _prove_zero(expr: sp.Expr) -> bool:
    expr = sp.expand(expr)
    if expr == 0:
        return True
    try:
        if abs(_probe(expr)) > 1e-15:
            return False
    except (TypeError, ValueError, ZeroDivisionError):
        pass
    for step in (lambda e: sp.cancel(sp.together(e)), sp.simplify):
        expr = step(expr)
        if expr == 0:
            return True
    return False


# ---------------------------------------------------------------- matrix level

def msym(kind: str, t, rows: int, cols: int = 1) -> sp.MatrixSymbol:
    """A matrix-level node named ``kind^(t)``; t is an int or a label such as "t+1"."""
    return sp.MatrixSymbol(f"{kind}^({t})", rows, cols)


@dataclass(frozen=True)
class MatrixEquation:
    """``lhs = rhs`` at step t (``summed``: lhs = sum over t = 1..tau of rhs)."""

    name: str
    lhs: sp.MatrixExpr
    rhs: sp.MatrixExpr
    summed: bool
    steps: str  # which t the equation holds for, e.g. "t < tau"
    comment: str

    def _repr_latex_(self) -> str:
        """The equation in the textbook's notation, for Jupyter (printed by symrnn.latex)."""
        from .document import equation_repr_latex  # lazy: the printer imports this module
        return equation_repr_latex(self)


def dphi_vector(spec: RNNSpec, t) -> sp.MatrixExpr:
    """phi'(a(t)) as a vector: written with h(t) where the activation allows (1 - h^2 for tanh)."""
    act = ACTIVATIONS[spec.activation]
    z = sp.Dummy("z", real=True)
    if act.dphi_from_h is not None:
        return ElementwiseApplyFunction(sp.Lambda(z, act.dphi_from_h(z)), msym("h", t, spec.n_hidden))
    return ElementwiseApplyFunction(sp.Lambda(z, sp.diff(act.phi(z), z)), msym("a", t, spec.n_hidden))


def _equations(spec: RNNSpec) -> list[MatrixEquation]:
    n_in, n_h, n_out, tau = spec.n_in, spec.n_hidden, spec.n_out, spec.tau
    U, W, V, b, c = (sp.MatrixSymbol(k, *s) for k, s in zip(
        PARAMS, ((n_h, n_in), (n_h, n_h), (n_out, n_h), (n_h, 1), (n_out, 1))))
    go = lambda t: msym("grad_o", t, n_out)
    gh = lambda t: msym("grad_h", t, n_h)
    ga = lambda t: msym("grad_a", t, n_h)
    eqs = [
        MatrixEquation("grad_o", go("t"), msym("yhat", "t", n_out) - msym("y", "t", n_out),
                       False, "1 <= t <= tau", "softmax and loss: grad_o(t) L = y^(t) - y(t)"),
        MatrixEquation("grad_h_last", gh("tau"), V.T * go("tau"), False, "t = tau",
                       "h(tau) feeds only o(tau)"),
        MatrixEquation("grad_h", gh("t"), W.T * ga("t+1") + V.T * go("t"), False, "1 <= t < tau",
                       "h(t) feeds a(t+1) and o(t)"),
        MatrixEquation("grad_a", ga("t"), sp.DiagMatrix(dphi_vector(spec, "t")) * gh("t"), False,
                       "1 <= t <= tau", "back through the activation: diag(phi'(a(t)))"),
        MatrixEquation("grad_c", sp.MatrixSymbol("grad_c", n_out, 1), go("t"), True, "sum", "c"),
        MatrixEquation("grad_b", sp.MatrixSymbol("grad_b", n_h, 1), ga("t"), True, "sum", "b"),
        MatrixEquation("grad_V", sp.MatrixSymbol("grad_V", n_out, n_h),
                       go("t") * msym("h", "t", n_h).T, True, "sum", "V: outer products"),
        MatrixEquation("grad_W", sp.MatrixSymbol("grad_W", n_h, n_h),
                       ga("t") * msym("h", "t-1", n_h).T, True, "sum", "W: outer products"),
        MatrixEquation("grad_U", sp.MatrixSymbol("grad_U", n_h, n_in),
                       ga("t") * msym("x", "t", n_in).T, True, "sum", "U: outer products"),
    ]
    if spec.h0 == "symbol":
        eqs.append(MatrixEquation("grad_h0", msym("grad_h", 0, n_h), W.T * ga(1), False, "t = 0",
                                  "h(0) feeds a(1)"))
    return eqs


def to_explicit(expr, rep) -> sp.Matrix:
    """Evaluate a matrix expression entry by entry, ``rep`` giving each MatrixSymbol's entries.

    Products are checked for shape by ``sympy.Matrix`` (ShapeError when they do not match).
    """
    if isinstance(expr, sp.MatrixSymbol):
        return rep(expr)
    if isinstance(expr, sp.MatAdd):
        parts = [to_explicit(a, rep) for a in expr.args]
        out = parts[0]
        for p in parts[1:]:
            out = out + p
        return out
    if isinstance(expr, sp.MatMul):
        scalar, factors = sp.Integer(1), []
        for a in expr.args:
            if isinstance(a, sp.MatrixExpr):
                factors.append(to_explicit(a, rep))
            else:
                scalar *= a
        out = factors[0]
        for f in factors[1:]:
            out = out * f
        return scalar * out
    if isinstance(expr, sp.Transpose):
        return to_explicit(expr.arg, rep).T
    if isinstance(expr, sp.DiagMatrix):
        v = to_explicit(expr.args[0], rep)
        return sp.diag(*list(v))
    if isinstance(expr, ElementwiseApplyFunction):
        return to_explicit(expr.expr, rep).applyfunc(expr.function)
    if isinstance(expr, sp.HadamardProduct):
        parts = [to_explicit(a, rep) for a in expr.args]
        out = parts[0]
        for p in parts[1:]:
            out = out.multiply_elementwise(p)
        return out
    if isinstance(expr, sp.HadamardPower):
        return to_explicit(expr.base, rep).applyfunc(lambda v: v ** expr.exp)
    if isinstance(expr, sp.OneMatrix):
        return sp.ones(*expr.shape)
    raise TypeError(f"to_explicit: unsupported matrix expression {type(expr).__name__}")


def _explicit(expr: sp.MatrixExpr, t: int, d: Derivation) -> sp.Matrix:
    """Replace every matrix-level name in ``expr`` by the element-level matrix at step t."""
    g, spec = d.graph, d.graph.spec

    def rep(m: sp.MatrixSymbol) -> sp.Matrix:
        if m.name in g.params:
            return g.params[m.name]
        if m.name.startswith("grad_") and "^" not in m.name:
            return d.grad(m.name[5:])
        kind, tag = m.name[:-1].split("^(")
        k = int(sp.sympify(tag).subs({sp.Symbol("t"): t, sp.Symbol("tau"): spec.tau}))
        if kind == "y":
            return sp.Matrix(g.targets[k])
        if kind.startswith("grad_"):
            node = kind[5:]
            if k == spec.tau + 1 or (node == "h" and k == 0 and spec.h0 == "zeros"):
                return sp.zeros(*m.shape)
            return d.grad("h0") if (node == "h" and k == 0) else d.node_grad(node, k)
        if kind == "h" and k == 0:
            return g.h[0]
        return g.node(kind, k)

    return to_explicit(expr, rep)


def equation_steps(eq: MatrixEquation, tau: int) -> list[int]:
    if eq.summed or eq.steps == "1 <= t <= tau":
        return list(range(1, tau + 1))
    if eq.steps == "1 <= t < tau":
        return list(range(1, tau))
    return [tau] if eq.steps == "t = tau" else [0]


def check_equation(eq: MatrixEquation, d: Derivation) -> bool:
    """Exactly: does ``eq`` agree with the element-level adjoints at every step it covers?"""
    g, tau = d.graph, d.graph.spec.tau
    fwd = g.forward_subs()
    steps = equation_steps(eq, tau)
    if eq.summed:
        lhs = _explicit(eq.lhs, 1, d)
        terms = [_explicit(eq.rhs, t, d) for t in steps]
        rhs = sp.Matrix(*lhs.shape, lambda i, j: sp.Add(*[m[i, j] for m in terms]))
        pairs = [(lhs, rhs)]
    else:
        pairs = [(_explicit(eq.lhs, t, d), _explicit(eq.rhs, t, d)) for t in steps]
    for lhs, rhs in pairs:
        keep = {s for s in rhs.free_symbols if s in d.defs}
        for l, r in zip(lhs, rhs):
            if not is_zero(d.reduce(l - r, keep, fwd)):
                return False
    return True


def matrix_equations(spec: RNNSpec, derivation: Derivation | None = None) -> list[MatrixEquation]:
    """BPTT in matrix form for ``spec``, each equation checked exactly against ``derive``."""
    d = derivation or derive(unroll(spec))
    eqs = _equations(spec)
    for eq in eqs:
        if not check_equation(eq, d):
            raise AssertionError(f"matrix equation {eq.name} disagrees with sympy.diff")
    return eqs
