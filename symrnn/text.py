"""Plain-text math (code comments, the command line): grad_h(t+1) L, W^T, diag(1 - h(t)^2).

The one printer of matrix-level expressions as ASCII text; LaTeX has its own printer in
``symrnn.document.printer``.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.str import StrPrinter

from .naming import TAU, T, At, Grad, StepSum

from .functions import Apply, Deriv


def step_text(step) -> str:
    """t+1, tau, 0: a step as the note writes it (no spaces)."""
    return sp.sstr(sp.sympify(step)).replace(" ", "")


class MathText(StrPrinter):
    """Plain text for math: products by spaces, ^T for transposes, ^2 for powers."""

    printmethod = "_mathtext"  # not the objects' own _sympystr

    def _print_At(self, expr):
        name = "y^" if expr.name == "yhat" else expr.name
        return f"{name}({step_text(expr.step)})"

    def _print_Grad(self, expr):
        of = expr.of
        inner = self._print_At(of) if isinstance(of, At) else of.name
        return f"grad_{inner} L"

    def _print_MatrixSymbol(self, expr):
        return expr.name

    def _print_Transpose(self, expr):
        arg = self._print(expr.arg)
        return f"{arg}^T" if isinstance(expr.arg, (sp.MatrixSymbol,)) else f"({arg})^T"

    def _print_MatAdd(self, expr):
        """Terms in the order given (later steps first), subtracted terms last."""
        terms = sorted(expr.args, key=lambda a: bool(a.could_extract_minus_sign()))
        text = ""
        for term in terms:
            part = self._print(term)
            if text:
                text += " - " + part[1:] if part.startswith("-") else " + " + part
            else:
                text = part
        return text

    def _print_MatMul(self, expr):
        coeff, factors = expr.as_coeff_matrices()
        parts = []
        for f in factors:
            s = self._print(f)
            parts.append(f"({s})" if isinstance(f, (sp.MatAdd, sp.HadamardProduct)) else s)
        text = " ".join(parts)
        return text if coeff == 1 else ("-" + text if coeff == -1 else f"{coeff} {text}")

    def _print_HadamardProduct(self, expr):
        return " (.) ".join(f"({self._print(a)})" if isinstance(a, sp.MatAdd) else self._print(a)
                            for a in expr.args)

    def _print_HadamardPower(self, expr):  # h(t)^2, entry by entry, as the note writes it
        base = self._print(expr.base)
        if not isinstance(expr.base, (sp.MatrixSymbol, At)):
            base = f"({base})"
        return f"{base}^{self._print(expr.exp)}"

    def _print_DiagMatrix(self, expr):
        return f"diag({self._print(expr.args[0])})"

    def _print_OneMatrix(self, expr):
        return "1"

    def _print_Apply(self, expr):
        return f"{expr.f}({self._print(expr.arg)})"

    def _print_Deriv(self, expr):
        if not expr.from_output:
            return f"{expr.f}'({self._print(expr.arg)})"
        z = sp.Symbol(self._print(expr.arg))
        body = expr.scalar(z)
        if isinstance(body, sp.Piecewise) and len(body.args) == 2 and body.args[1].cond == sp.true:
            return f"[{self._print(body.args[0].cond)}]"
        return self._print(body)

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        b = self._print(base)
        if not (base.is_Symbol or base.is_Atom):
            b = f"({b})"
        return f"{b}^{self._print(exp)}"

    def _print_StepSum(self, expr):
        s = expr.steps
        inner = self._print(expr.expr)
        if isinstance(expr.expr, sp.MatAdd):
            inner = f"({inner})"
        lo, hi = step_text(s.lo), step_text(s.hi)
        rng = "" if (lo, hi) == ("1", "tau") else f"_{{t={lo}..{hi}}}"
        return f"sum_t{rng} {inner}"

    def _print_Symbol(self, expr):
        return expr.name


def math_text(expr) -> str:
    return MathText().doprint(expr)


def equation_text(lhs, rhs) -> str:
    return f"{math_text(lhs)} = {math_text(rhs)}"


__all__ = ["math_text", "equation_text", "step_text", "T", "TAU", "Grad", "StepSum", "Apply",
           "Deriv"]
