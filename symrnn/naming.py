"""Node identity: the SymPy objects every stage uses to name a quantity at a step.

One module builds every matrix-level name, so no stage parses a name out of a string:

* ``T`` is the step t, ``TAU`` the sequence length tau (both SymPy symbols).
* ``At(name, rows, cols, step)`` is a model quantity (x, a, h, o, y^, y, ...) at ``step``, a
  SymPy expression in ``T`` and ``TAU`` (t-1, t+1, tau, 0). Shifting a whole equation in time
  is ``expr.xreplace({T: T + 1})``: the steps move inside every ``At``.
* ``Grad(of)`` is the gradient of the loss L with respect to ``of`` (an ``At`` or a parameter's
  ``MatrixSymbol``): grad_h(t+1) L is ``Grad(At("h", n, 1, T + 1))``.
* entrywise functions (``Apply``, ``Deriv``, ``Softmax``) live with their registry in
  ``symrnn.functions``.
* ``StepSum(expr, steps)`` is the sum over t in ``steps`` (a ``Steps`` range) of ``expr``.
* ``Steps(lo, hi)`` is the range of steps an equation holds for, as data (1..tau-1, tau, 0).

``.doit()`` of these nodes on explicit matrices (``sympy.ImmutableMatrix``) computes their
entries, so ``expr.xreplace({M: ImmutableMatrix(...)}).doit()`` evaluates any matrix-level
expression entry by entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions.matexpr import MatrixExpr

T = sp.Symbol("t", integer=True)
TAU = sp.Symbol("tau", integer=True, positive=True)


def _name(name) -> Str:
    return name if isinstance(name, Str) else Str(name)


class At(sp.MatrixSymbol):
    """The model quantity ``name`` at ``step`` (a column vector of ``rows`` entries)."""

    def __new__(cls, name, rows, cols, step):
        return sp.Basic.__new__(cls, _name(name), sp.sympify(rows), sp.sympify(cols),
                                sp.sympify(step))

    @property
    def step(self) -> sp.Expr:
        return self.args[3]

    def shifted(self, k) -> "At":
        return At(self.name, self.rows, self.cols, self.step + k)

    def at(self, step) -> "At":
        return At(self.name, self.rows, self.cols, step)

    def _sympystr(self, printer):
        return f"{self.name}({printer._print(self.step)})"


class Grad(MatrixExpr):
    """grad_of L: the gradient of the loss with respect to ``of`` (same shape as ``of``)."""

    def __new__(cls, of):
        if not isinstance(of, sp.MatrixSymbol):
            raise TypeError(f"Grad of a matrix symbol, got {type(of).__name__}")
        return sp.Basic.__new__(cls, of)

    @property
    def of(self) -> sp.MatrixSymbol:
        return self.args[0]

    @property
    def shape(self):
        return self.of.shape

    @property
    def free_symbols(self):
        return {self}

    def doit(self, **hints):
        return self

    def _sympystr(self, printer):
        return f"grad_{printer._print(self.of)} L"


@dataclass(frozen=True)
class Steps:
    """The steps lo..hi (SymPy expressions in ``TAU``) an equation holds for."""

    lo: sp.Expr
    hi: sp.Expr

    def __post_init__(self):
        object.__setattr__(self, "lo", sp.sympify(self.lo))
        object.__setattr__(self, "hi", sp.sympify(self.hi))

    @property
    def is_point(self) -> bool:
        return self.lo == self.hi

    def points(self, tau: int) -> list[int]:
        lo, hi = (int(e.subs(TAU, tau)) for e in (self.lo, self.hi))
        return list(range(lo, hi + 1))

    def text(self) -> str:
        if self.is_point:
            return f"t = {sp.sstr(self.lo)}"
        hi = self.hi
        upper = f"t < {sp.sstr(hi + 1)}" if (hi - TAU).is_negative and (hi + 1 - TAU) == 0 \
            else f"t <= {sp.sstr(hi)}"
        return f"{sp.sstr(self.lo)} <= {upper}"


class StepSum(MatrixExpr):
    """The sum over t = lo..hi of ``expr`` (``T`` is bound inside)."""

    def __new__(cls, expr, lo, hi):
        return sp.Basic.__new__(cls, expr, sp.sympify(lo), sp.sympify(hi))

    @property
    def expr(self):
        return self.args[0]

    @property
    def steps(self) -> Steps:
        return Steps(self.args[1], self.args[2])

    @property
    def shape(self):
        return self.expr.shape

    def terms(self, tau: int) -> list:
        """The summands with the step set to each point (``tau`` given)."""
        return [self.expr.xreplace({T: k, TAU: tau}) for k in self.steps.points(tau)]

    def doit(self, **hints):
        lo, hi = self.args[1], self.args[2]
        if lo.is_Integer and hi.is_Integer:
            terms = [self.expr.xreplace({T: k}).doit(**hints) for k in range(int(lo), int(hi) + 1)]
            if not terms:
                return sp.ZeroMatrix(*self.shape)
            out = terms[0]
            for term in terms[1:]:
                out = out + term
            return out
        return self

    def _sympystr(self, printer):
        return (f"sum_{{t={printer._print(self.args[1])}..{printer._print(self.args[2])}}} "
                f"({printer._print(self.expr)})")


def values_read(expr) -> set:
    """The ``At`` in ``expr`` that are read as values (not only as the argument of a Grad)."""
    stripped = expr.replace(lambda e: isinstance(e, Grad), lambda e: sp.ZeroMatrix(*e.shape))
    return stripped.atoms(At)


def explicit(expr, values) -> sp.Matrix:
    """``expr`` entry by entry: ``values(m)`` gives the explicit matrix of each matrix symbol
    or ``Grad`` in it (``sympy`` checks the shapes of every product and sum). Step sums with
    numeric bounds are expanded first."""
    expr = expr.replace(lambda e: isinstance(e, StepSum) and e.args[1].is_Integer
                        and e.args[2].is_Integer, lambda e: _expand_sum(e))
    leaves = {m: sp.ImmutableMatrix(values(m))
              for m in expr.atoms(sp.MatrixSymbol, Grad) if not _inside_grad(m, expr)}
    leaves.update({m: sp.ImmutableMatrix(sp.ones(*m.shape)) for m in expr.atoms(sp.OneMatrix)})
    out = _evaluate(expr.xreplace(leaves))
    if isinstance(out, sp.MatrixExpr) and not isinstance(out, sp.MatrixBase):
        out = out.as_explicit()
    return sp.Matrix(out)


def _expand_sum(e: "StepSum"):
    terms = [e.expr.xreplace({T: k}) for k in range(int(e.args[1]), int(e.args[2]) + 1)]
    if not terms:
        return sp.ZeroMatrix(*e.shape)
    return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)


def _evaluate(e):
    """Bottom-up ``doit``: every node sees explicit arguments (``DiagMatrix.doit`` and others
    do not evaluate their arguments themselves)."""
    if isinstance(e, sp.MatrixBase) or not isinstance(e, sp.MatrixExpr) or not e.args:
        return e
    args = [_evaluate(a) if isinstance(a, sp.MatrixExpr) else a for a in e.args]
    return e.func(*args).doit(deep=False)


def _inside_grad(m, expr) -> bool:
    """True when the matrix symbol ``m`` occurs in ``expr`` only as the argument of a Grad."""
    if isinstance(m, Grad):
        return False
    stripped = expr.replace(lambda e: isinstance(e, Grad), lambda e: sp.ZeroMatrix(*e.shape))
    return not stripped.has(m)
