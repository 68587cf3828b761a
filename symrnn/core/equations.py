"""BPTT in matrix form, derived from the model's equations and checked against the derivation.

The matrix-level rules of reverse accumulation turn each per-step equation N(t) = R into the
contributions R makes to the gradients of what it reads:

    R = A v          ->  v gets A^T g,  a parameter A gets g v^T (an outer product)
    R = f(v)         ->  v gets diag(f'(v)) g  (f' written with N(t) where f allows: 1 - h^2)
    R = u (.) v      ->  u gets v (.) g, v gets u (.) g
    R = u + v        ->  both get g

with g = grad_N(t) L. A quantity q(s) read as q(t+k) by N(t) receives its contribution at
t = s - k (the whole expression is shifted in time, ``T -> T - k``), when N(s - k) exists.
So the steps of q split into ranges by which readers exist (grad_h(tau) L has no a(tau+1) to
feed), and each range gets one equation; these ranges are data (``Steps``). A parameter's
gradient is the sum over its readers' steps (``StepSum``). The output o(t) also feeds the
loss: grad_o(t) L gets y^(t) - y(t) from the loss entry.

Every equation is checked, entry by entry and exactly, against the element-level derivation
(``check``) at the spec's instance.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..functions import FUNCTIONS
from ..models.base import DIMS, Equation, Model, Param, Quantity, steps_of
from ..naming import TAU, T, At, Grad, Steps, StepSum, explicit
from ..functions import Apply, Deriv
from .derive import Derivation
from .zero import ZeroTest

#: The loss, as the reader of the output (for titles: "o(t) feeds L(t)").
LOSS_NAME = "L"


@dataclass(frozen=True)
class MatrixEquation:
    """``lhs = rhs``: the gradient of the loss with respect to ``about`` (a quantity at the
    steps ``steps``, or a parameter, whose ``rhs`` is a sum over steps), and the readers
    whose contributions make up ``rhs`` (``At`` of each reader, L for the loss)."""

    about: object  # Quantity or Param
    lhs: Grad
    rhs: sp.MatrixExpr
    steps: Steps | None  # None for a parameter
    readers: tuple[At, ...]
    generic: sp.MatrixExpr | None = None  # rhs at the generic step t (also for a point)

    @property
    def is_param(self) -> bool:
        return isinstance(self.about, Param)

    @property
    def label(self) -> str:
        """A name for people: grad_h, grad_h(tau), grad_h(0), grad_W."""
        base = f"grad_{self.about.name}"
        if self.steps is None or not self.steps.is_point:
            return base
        return f"{base}({sp.sstr(self.steps.lo)})"

    def at(self, step: int, tau: int):
        """(lhs, rhs) with the step and tau set."""
        rep = {T: step, TAU: tau}
        return self.lhs.xreplace(rep), self.rhs.xreplace(rep)

    def _repr_latex_(self) -> str:
        from ..document.printer import equation_repr_latex  # lazy: documents read this
        return equation_repr_latex(self)


# ---------------------------------------------------------------------- reverse rules

def _is_leaf(m) -> bool:
    return isinstance(m, sp.MatrixSymbol)


def pullback(expr, g, out=None) -> list[tuple[sp.MatrixSymbol, sp.MatrixExpr]]:
    """(leaf, contribution) for every quantity or parameter ``expr`` reads, given the
    gradient ``g`` of ``expr``'s value; ``out`` is the node ``expr`` defines (for f')."""
    if _is_leaf(expr):
        return [(expr, g)]
    if isinstance(expr, (sp.ZeroMatrix, sp.OneMatrix, sp.Identity)):
        return []
    if isinstance(expr, sp.MatAdd):
        return [pair for a in expr.args for pair in pullback(a, g)]
    if isinstance(expr, sp.MatMul):
        coeff, factors = expr.as_coeff_matrices()
        *mats, v = factors
        out_pairs = []
        gv = sp.MatMul(*[m.T for m in reversed(mats)], g) if mats else g
        out_pairs += pullback(v, coeff * gv if coeff != 1 else gv)
        for i, m in enumerate(mats):
            left, right = mats[:i], mats[i + 1:] + [v]
            r = right[0] if len(right) == 1 else sp.MatMul(*right)
            # (r (.) h)^T stays one transposed vector (SymPy would spread it over the factors)
            rT = r.T if _is_leaf(r) or isinstance(r, sp.MatMul) else sp.Transpose(r)
            gm = sp.MatMul(*[l.T for l in reversed(left)], g, rT)
            gm = coeff * gm if coeff != 1 else gm
            if _is_leaf(m):
                out_pairs.append((m, gm))
            elif isinstance(m, sp.Transpose) and _is_leaf(m.arg):
                out_pairs.append((m.arg, gm.T))
            else:
                raise NotImplementedError(f"a product with the compound matrix factor {m}")
        return out_pairs
    if isinstance(expr, sp.HadamardProduct):
        pairs = []
        for i, a in enumerate(expr.args):
            others = expr.args[:i] + expr.args[i + 1:]
            pairs += pullback(a, sp.HadamardProduct(*others, g))
        return pairs
    if isinstance(expr, Apply):
        act = FUNCTIONS[expr.f]
        if out is not None and act.dphi_from_h is not None:
            d = Deriv(expr.f, out, True)
        else:
            d = Deriv(expr.f, expr.arg, False)
        return pullback(expr.arg, sp.DiagMatrix(d) * g)
    raise NotImplementedError(f"no reverse rule for {type(expr).__name__}: {expr}")


# ---------------------------------------------------------------------- step ranges

def _key(e: sp.Expr) -> tuple:
    """Order of step bounds for large tau: by the coefficient of tau, then the constant."""
    e = sp.expand(sp.sympify(e))
    return (e.coeff(TAU), e.subs(TAU, 0))


@dataclass(frozen=True)
class _Reader:
    """One contribution to grad_q(s): ``expr`` (written at s = T) valid for lo <= s <= hi."""

    lo: sp.Expr
    hi: sp.Expr
    expr: sp.MatrixExpr
    who: At


def _ranges(lo, hi, readers: list[_Reader]) -> list[tuple[sp.Expr, sp.Expr, list[_Reader]]]:
    """Split lo..hi at every reader's bounds; consecutive pieces with the same readers merge."""
    cuts = {lo, hi + 1}
    for r in readers:
        for c in (r.lo, r.hi + 1):
            if _key(lo) <= _key(c) <= _key(hi + 1):
                cuts.add(c)
    cuts = sorted(cuts, key=_key)
    pieces = []
    for a, b in zip(cuts, cuts[1:]):
        active = [r for r in readers if _key(r.lo) <= _key(a) and _key(b - 1) <= _key(r.hi)]
        if pieces and [id(r) for r in pieces[-1][2]] == [id(r) for r in active]:
            pieces[-1] = (pieces[-1][0], b - 1, active)
        else:
            pieces.append((a, b - 1, active))
    return pieces


def _sum(terms):
    """One flat sum of the terms (a nested sum is spread out)."""
    flat = [a for t in terms for a in (t.args if isinstance(t, sp.MatAdd) else (t,))]
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else sp.MatAdd(*flat)


# ---------------------------------------------------------------------- the equations

def derive_equations(model: Model, activation: str, loss_grad, initial_symbolic: bool
                     ) -> list[MatrixEquation]:
    """The matrix-form BPTT equations of ``model`` (see the module docstring).

    ``loss_grad(yhat, y)`` is grad_o(t) L of the loss entry; ``initial_symbolic`` adds the
    gradients of the initial values (h(0), ...) the model reads.
    """
    equations = model.with_activation(activation)
    readers: dict[str, list[_Reader]] = {q.name: [] for q in model.quantities}
    param_terms: dict[str, list[tuple[Equation, sp.MatrixExpr]]] = {p.name: [] for p in model.params}
    for eq in equations:
        lo, hi = steps_of(eq.when)
        g = Grad(eq.target.now)
        for leaf, contrib in pullback(eq.rhs, g, out=eq.target.now):
            p = model.param_of(leaf)
            if p is not None:
                param_terms[p.name].append((eq, contrib))
                continue
            q = model.quantity_of(leaf)
            if q.role in ("input", "target"):
                continue
            k = sp.expand(leaf.step - T)
            readers[q.name].append(_Reader(lo + k, hi + k, contrib.xreplace({T: T - k}),
                                           eq.target.at(T - k)))
    out = model.output
    lo, hi = steps_of(model.loss_when)
    yhat, y = At("yhat", out.size.symbol, 1, T), model.target.now
    readers[out.name].append(_Reader(lo, hi, loss_grad(yhat, y), At(LOSS_NAME, 1, 1, T)))

    starts = {q.name for q, side in model.initial_values() if side == "start"}
    ends = {q.name for q, side in model.initial_values() if side == "end"}
    result: list[MatrixEquation] = []
    initial: list[MatrixEquation] = []
    for eq in reversed(equations):  # the order of back-propagation: o, then h, then a
        q = eq.target
        lo, hi = steps_of(eq.when)
        if initial_symbolic and q.name in starts:
            lo = lo - 1
        if initial_symbolic and q.name in ends:
            hi = hi + 1
        for a, b, active in reversed(_ranges(lo, hi, readers[q.name])):
            steps = Steps(a, b)
            terms = [r.expr for r in active]
            generic = _sum(terms) if terms else sp.ZeroMatrix(*q.now.shape)
            who = tuple(r.who for r in active)
            if steps.is_point:
                terms = [e.xreplace({T: a}) for e in terms]
                who = tuple(w.xreplace({T: a}) for w in who)
                lhs = Grad(q.at(a))
            else:
                lhs = Grad(q.now)
            rhs = _sum(terms) if terms else sp.ZeroMatrix(*lhs.shape)
            outside = steps.is_point and not (_key(1) <= _key(a) <= _key(TAU))
            (initial if outside else result).append(
                MatrixEquation(q, lhs, rhs, steps, who, generic))
    for p in reversed(model.params):  # c, b, V, W, U: the note's order
        sums, generic = [], []
        for eq, contrib in param_terms[p.name]:
            lo, hi = steps_of(eq.when)
            sums.append(contrib.xreplace({T: lo}) if lo == hi else StepSum(contrib, lo, hi))
            generic.append(StepSum(contrib, lo, hi))
        rhs = _sum(sums) if sums else sp.ZeroMatrix(*p.symbol.shape)
        readers_p = tuple(eq.target.now for eq, _ in param_terms[p.name])
        result.append(MatrixEquation(p, Grad(p.symbol), rhs, None, readers_p,
                                     _sum(generic) if generic else rhs))
    return result + initial


# ---------------------------------------------------------------------- the exact check

def instance(expr, spec):
    """``expr`` with the sizes of ``spec`` (and tau) put into every shape."""
    rep = {d.symbol: getattr(spec, d.name) for d in DIMS}
    rep[TAU] = spec.tau
    return expr.xreplace(rep)


def explicit_at(expr, derivation: Derivation, step: int | None):
    """``expr`` at ``step`` (and the spec's tau and sizes) as an explicit matrix of the
    graph's symbols and gradient symbols."""
    g, d = derivation.graph, derivation
    e = instance(expr if step is None else expr.xreplace({T: step}), g.spec)

    def values(m):
        if isinstance(m, Grad):
            of = m.of
            if isinstance(of, At):
                k = int(of.step)
                if not g.has(of.name, k):
                    return sp.zeros(*of.shape)
                return d.node_grad(of.name, k)
            return d.grad(of.name)
        if isinstance(m, At):
            k = int(m.step)
            return g.value(m.name, k) if g.has(m.name, k) else sp.zeros(*m.shape)
        return g.params[m.name]

    return explicit(e, values)


def check(eq: MatrixEquation, derivation: Derivation, zero: ZeroTest | None = None,
          forward: dict | None = None) -> bool:
    """Exactly: does ``eq`` agree with the element-level gradients at every step it covers?"""
    d = derivation
    g = d.graph
    zero = zero or ZeroTest(g.canonical)
    fwd = forward if forward is not None else g.forward_subs()
    steps = [None] if eq.steps is None else eq.steps.points(g.tau)
    for s in steps:
        if eq.steps is not None and eq.steps.is_point:
            lhs, rhs = explicit_at(eq.lhs, d, None), explicit_at(eq.rhs, d, None)
        else:
            lhs, rhs = explicit_at(eq.lhs, d, s), explicit_at(eq.rhs, d, s)
        if lhs.shape != rhs.shape:
            return False
        keep = {v for v in rhs.free_symbols if v in d.defs}
        for l, r in zip(lhs, rhs):
            if not zero(d.reduce(l - r, keep, fwd)):
                return False
    return True


class EquationMismatch(AssertionError):
    """A derived matrix equation disagrees with the element-level derivation (a bug)."""


def checked_equations(model: Model, derivation: Derivation, zero: ZeroTest | None = None
                      ) -> list[MatrixEquation]:
    """``derive_equations`` for the derivation's spec, each checked exactly against it."""
    from ..functions import LOSSES
    spec = derivation.graph.spec
    eqs = derive_equations(model, spec.activation, LOSSES[spec.loss].grad_matrix,
                           spec.h0 == "symbol")
    zero = zero or ZeroTest(derivation.graph.canonical)
    fwd = derivation.graph.forward_subs()
    for eq in eqs:
        if not check(eq, derivation, zero, fwd):
            raise EquationMismatch(f"matrix equation {eq.label} ({sp.sstr(eq.lhs)} = "
                                   f"{sp.sstr(eq.rhs)}) disagrees with sympy.diff")
    return eqs
