"""Fewer operations per step of a backward loop, for backends that pay per operation (torch).

Two rewrites of the backward pieces of a vjp (``symrnn.backends.vjp``), both of which keep
every value the same (the tests compare the result with the frameworks' autograd):

- **Inlining.** A gradient read by one other piece only, at its own step, and nowhere else
  (no parameter's gradient, no initial value), that is an elementwise product of one
  gradient (grad_i(t) = g(t) (.) grad_s(t), read only by grad_a_i(t) = diag(i (1 - i))
  grad_i(t)), is substituted into its reader and needs no array of its own.
- **Factors out of the loop.** In a piece computed inside a time loop, a term that is an
  elementwise product of one gradient and factors that read nothing of the loop
  (diag(i (1 - i)) (g(t) (.) grad_s(t)), or a sum of such terms of one gradient,
  diag(z (1 - z)) (h(t-1) (.) grad_h(t) - n(t) (.) grad_h(t))) becomes K(t) (.) grad(t): K
  (a ``Factor``) is computed for all steps at once before the loop, so a step multiplies
  once. A factor that is one stored value already (f(t+1)) is left as it is.

Both only regroup the products of the checked equations; no derivative is taken here.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..naming import T, At, Grad
from .rows import is_one
from .schedule import Piece, key, schedule


class Factor(At):
    """A product of stored values computed for all steps before a loop (``fuse`` names it
    k1, k2, ...); read at step t like a quantity."""

    def _sympystr(self, printer):
        return f"{self.name}({printer._print(self.step)})"

    def _mathtext(self, printer):
        return f"{self.name}({sp.sstr(self.step).replace(' ', '')})"


@dataclass(frozen=True)
class FactorPiece:
    """K(t) = ``expr`` for lo <= t <= hi."""

    factor: Factor
    lo: sp.Expr
    hi: sp.Expr
    expr: sp.MatrixExpr


def _grads(expr) -> set:
    return {g for g in expr.atoms(Grad) if isinstance(g.of, At)}


def _terms(expr) -> list:
    return list(expr.args) if isinstance(expr, sp.MatAdd) else [expr]


def linear(expr):
    """(factors, gradient) when ``expr`` is c * f1 (.) f2 (.) ... (.) grad (an elementwise
    product, diag(d) g or u (.) g, of exactly one gradient; the factors read no gradient),
    or (None, gradient) with the factor a sum (c1 a1 + c2 a2) (.) grad when ``expr`` is such a
    sum of products of one gradient; None otherwise. Factors are returned as one vector
    expression (an entrywise product, with the coefficient)."""
    if isinstance(expr, Grad):
        return sp.Integer(1), expr
    if isinstance(expr, sp.MatMul):
        coeff, factors = expr.as_coeff_matrices()
        if len(factors) == 2 and isinstance(factors[0], sp.DiagMatrix):
            inner = linear(factors[1])
            if inner is None or _grads(factors[0]):
                return None
            d = factors[0].args[0]
            if is_one(d):  # diag(1) g: the identity's derivative
                return _times(coeff, inner[0]), inner[1]
            return _times(coeff, _times(d, inner[0])), inner[1]
        if len(factors) == 1:
            inner = linear(factors[0])
            return None if inner is None else (_times(coeff, inner[0]), inner[1])
        return None
    if isinstance(expr, sp.HadamardProduct):
        inside = [a for a in expr.args if _grads(a)]
        if len(inside) != 1:
            return None
        inner = linear(inside[0])
        if inner is None:
            return None
        f = inner[0]
        for a in expr.args:
            if a is not inside[0]:
                f = _times(a, f)
        return f, inner[1]
    if isinstance(expr, sp.MatAdd):
        parts = [linear(a) for a in expr.args]
        if any(p is None for p in parts) or len({p[1] for p in parts}) != 1:
            return None
        return sp.MatAdd(*[p[0] for p in parts]), parts[0][1]
    return None


def _times(a, b):
    """The entrywise product a (.) b of vector expressions (a number scales)."""
    if a == 1:
        return b
    if b == 1:
        return a
    if not isinstance(a, sp.MatrixExpr):
        return a * b if isinstance(b, sp.MatrixExpr) else a * b
    if not isinstance(b, sp.MatrixExpr):
        return b * a
    return sp.HadamardProduct(a, b)


def _is_stored(f) -> bool:
    """A factor that is already one array: a quantity at a step, or a parameter vector."""
    return isinstance(f, sp.MatrixSymbol)


def inline(pieces: list[Piece], keep: set) -> list[Piece]:
    """Substitute each single-use elementwise gradient into its reader (module docstring);
    ``keep`` names the gradients that must stay arrays (read by parameter gradients, initial
    values, or another backend's needs)."""
    while True:
        by_target: dict = {}
        for p in pieces:
            by_target.setdefault(p.target, []).append(p)
        done = False
        for name, ps in by_target.items():
            if name in keep or len(ps) != 1:
                continue
            p = ps[0]
            if linear(p.expr) is None:
                continue
            readers = [(r, g) for r in pieces for g in _grads(r.expr) if g.of.name == name]
            if len({id(r) for r, _g in readers}) != 1 or \
                    any(sp.expand(g.of.step - T) != 0 for _r, g in readers):
                continue
            r = readers[0][0]
            if r.target == name or not (key(p.lo) <= key(r.lo) and key(r.hi) <= key(p.hi)):
                continue
            g = readers[0][1]
            new = Piece(r.target, r.lo, r.hi, r.expr.xreplace({g: p.expr}), r.note)
            pieces = [new if q is r else q for q in pieces if q is not p]
            done = True
            break
        if not done:
            return pieces


def hoist_factors(pieces: list[Piece], order: list) -> tuple[list[Piece], list[FactorPiece]]:
    """Move loop-invariant factors of the loops' pieces out of the loops (module docstring).
    Returns the pieces, now reading ``Factor``s, and the factors' pieces."""
    loops = {t for b in schedule(pieces, order, grad=True) if b.direction != 0
             for t in b.targets}
    factors: list[FactorPiece] = []
    out = []
    for p in pieces:
        if p.target not in loops or key(p.lo) == key(p.hi):
            out.append(p)
            continue
        terms = []
        for term in _terms(p.expr):
            lin = linear(term)
            if lin is None or _is_stored(lin[0]) or lin[0] == 1 or \
                    not isinstance(lin[0], sp.MatrixExpr):
                terms.append(term)
                continue
            f, g = lin
            found = next((fp for fp in factors if fp.expr == f and key(fp.lo) == key(p.lo)
                          and key(fp.hi) == key(p.hi)), None)
            if found is None:
                found = FactorPiece(Factor(f"k{len(factors) + 1}", f.shape[0], 1, T),
                                    p.lo, p.hi, f)
                factors.append(found)
            terms.append(sp.HadamardProduct(found.factor, g))
        expr = terms[0] if len(terms) == 1 else sp.MatAdd(*terms)
        out.append(Piece(p.target, p.lo, p.hi, expr, p.note))
    return out, factors
