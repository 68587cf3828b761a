"""Matrix algebra printed for row-batched arrays, for the framework backends' printers.

The derivation writes column vectors (n x 1); generated code holds a batch of sequences as
rows, an array of shape (..., batch, n). ``RowAlgebra`` is a mixin for a SymPy code printer
(torch's, JAX's) that prints the matrix-level expressions in that layout:

    W * h              ->  h @ W.T            (A v)^T = v^T A^T
    W.T * g            ->  g @ W
    DiagMatrix(d) * g  ->  d * g              elementwise, no diagonal matrix is formed
    u (.) v            ->  u * v              (HadamardProduct)
    f(a) (Apply)       ->  the function, printed from its SymPy definition by the printer
    1 (OneMatrix)      ->  1                  broadcasts

With ``summed=True`` an expression is read as a sum over every row of arrays that stack all
steps and sequences (a parameter's gradient, sum_t g(t) h(t)^T), by default 2-D:

    g * h.T            ->  g.T @ h            one product over all steps
    g                  ->  g.sum(0)

(a printer for (steps, batch, n) arrays overrides ``_sum_outer`` and ``_sum_rows``).

Array names come from ``names``, a dict keyed by the matrix-level objects themselves (``At``,
``Grad``, ``Cotangent``, parameter symbols, and the scalar placeholders of elementwise
bodies); ``transposes`` may name a stored A^T. The printer recognises a function by its SymPy
definition, not its name: 1/(1 + exp(-u)) is the framework's sigmoid (``_sigmoid``), and
Piecewise((u, u > 0), (0, True)) its relu (``_relu``). Anything else raises
``NotImplementedError``; nothing falls back to a guess.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.precedence import precedence

from ..functions import FUNCTIONS, Deriv
from ..naming import Grad

_ATOM_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.[]\"'")


def _balanced(code: str) -> bool:
    depth = 0
    for ch in code:
        depth += ch in "(["
        depth -= ch in ")]"
        if depth < 0:
            return False
    return depth == 0


def paren(code: str) -> str:
    """``code`` in parentheses unless it is a name, call, subscript or parenthesized group."""
    if code.startswith("(") and code.endswith(")") and _balanced(code[1:-1]):
        return code
    depth = 0
    for ch in code:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and ch not in _ATOM_CHARS:
            return f"({code})"
    return code


def unparen(code: str) -> str:
    """``code`` without one pair of enclosing parentheses (an argument of a call)."""
    if code.startswith("(") and code.endswith(")") and _balanced(code[1:-1]):
        return code[1:-1]
    return code


def is_one(d) -> bool:
    """diag(1): the derivative of the identity."""
    return isinstance(d, Deriv) and d.scalar(sp.Dummy("z")) == 1


def coeff_of(term):
    return term.as_coeff_mmul()[0] if isinstance(term, sp.MatMul) else sp.Integer(1)


def rank(term) -> tuple:
    """Terms of a sum in a stable order: vectors first, then products, then the rest."""
    if isinstance(term, (sp.MatrixSymbol, Grad)):
        kind = 0 if type(term) is sp.MatrixSymbol else 2
    elif isinstance(term, sp.MatMul):
        kind = 1
    else:
        kind = 3
    return (kind, sp.default_sort_key(term))


def ordered(terms) -> list:
    return sorted(terms, key=rank)


def is_vector(expr) -> bool:
    return isinstance(expr, sp.MatrixExpr) and expr.shape[1] == 1


class RowAlgebra:
    """Mixin for a SymPy ``CodePrinter`` (see the module docstring). A backend sets
    ``_default_settings`` with ``names``, ``summed``, ``transposes`` and implements
    ``_sigmoid(code)``, ``_relu(code)`` and ``_sum_rows(code)``."""

    # ------------------------------------------------------------ hooks

    def _sigmoid(self, code: str) -> str:
        raise NotImplementedError

    def _relu(self, code: str) -> str:
        raise NotImplementedError

    def _sum_rows(self, code: str) -> str:
        """The sum over the rows of a 2-D array (a bias gradient)."""
        return f"{paren(code)}.sum(0)"


    def _sum_outer(self, g: str, v: str) -> str:
        """sum over the rows of g v^T (a weight gradient): one product."""
        return f"{paren(g)}.T @ {paren(v)}"

    # ------------------------------------------------------------ entry

    def doprint(self, expr, assign_to=None):
        if self._settings["summed"] and is_vector(expr):
            return self._sum_rows(self.flat().doprint(expr))
        return super().doprint(expr, assign_to)

    def flat(self):
        """This printer without ``summed``."""
        return self.__class__({**self._settings, "summed": False})

    def with_names(self, extra: dict):
        return self.__class__({**self._settings, "names": {**self._settings["names"], **extra}})

    # ------------------------------------------------------------ leaves

    def _lookup(self, key, what: str) -> str:
        names = self._settings["names"]
        if key not in names:
            raise NotImplementedError(f"no array name for {what} {sp.sstr(key)}")
        return names[key]

    def _print_MatrixSymbol(self, expr):
        return self._lookup(expr, "matrix")

    _print_At = _print_MatrixSymbol
    _print_Cotangent = _print_MatrixSymbol

    def _print_Grad(self, expr):
        return self._lookup(expr, "gradient")

    def _print_Symbol(self, expr):
        return self._lookup(expr, "scalar")

    _print_Dummy = _print_Symbol

    def _print_OneMatrix(self, expr):
        return "1"

    # ------------------------------------------------------------ matrix algebra in rows

    def transposed(self, m) -> str:
        """Code for A^T, A a matrix acting from the left on a column vector."""
        if isinstance(m, sp.Transpose) and isinstance(m.arg, sp.MatrixSymbol):
            return self._print(m.arg)
        if isinstance(m, sp.MatrixSymbol):
            t = self._settings["transposes"]
            return t[m] if m in t else f"{self._print(m)}.T"
        raise NotImplementedError(f"cannot print {m} as a matrix acting on batched rows")

    def _print_MatMul(self, expr):
        coeff, factors = expr.as_coeff_matrices()
        if self._settings["summed"] and len(factors) == 2 and is_vector(factors[0]) \
                and factors[1].shape[0] == 1 and is_vector(factors[1].T):
            flat = self.flat()  # g v^T summed over the stacked steps: one product
            code = self._sum_outer(flat._print(factors[0]), flat._print(factors[1].T))
        elif self._settings["summed"]:
            raise NotImplementedError(f"summed printing supports g and g * h.T, got {expr}")
        elif len(factors) == 2 and isinstance(factors[0], sp.DiagMatrix) \
                and is_vector(factors[1]):
            d, g = factors[0].args[0], factors[1]
            code = self._print(g) if is_one(d) else \
                f"{paren(self._print(d))} * {paren(self._print(g))}"
        elif is_vector(factors[-1]) and all(
                isinstance(f, (sp.MatrixSymbol, sp.Transpose)) for f in factors[:-1]):
            parts = [paren(self._print(factors[-1]))]
            parts += [self.transposed(f) for f in reversed(factors[:-1])]
            code = " @ ".join(parts)
        else:
            raise NotImplementedError(f"cannot print matrix product {expr} in batched layout")
        if coeff == 1:
            return code
        if coeff == -1:
            return f"-{paren(code)}"
        return f"{self._print(coeff)} * {paren(code)}"

    def _print_MatAdd(self, expr):
        if self._settings["summed"]:
            return " + ".join(self._print(a) for a in ordered(expr.args))
        plus, minus = [], []
        for term in ordered(expr.args):
            c = coeff_of(term)
            if c.is_number and c < 0:
                minus.append(self._print(-term))
            else:
                plus.append(self._print(term))
        code = " + ".join(plus) if plus else f"-{paren(minus.pop(0))}"
        for m in minus:
            code += f" - {paren(m)}"
        return code

    def _print_HadamardProduct(self, expr):
        return " * ".join(paren(self._print(a)) for a in expr.args)

    def _print_Apply(self, expr):
        act = FUNCTIONS[expr.f]
        if act.symbolic_only:
            raise NotImplementedError(f"{act.name} has no numeric value")
        z = sp.Dummy("z", real=True)
        return self.with_names({z: paren(self._print(expr.arg))})._print(act.phi(z))

    def _print_Deriv(self, expr):
        z = sp.Dummy("z", real=True)
        return self.with_names({z: paren(self._print(expr.arg))})._print(expr.scalar(z))

    def _print_Transpose(self, expr):
        raise NotImplementedError(f"a bare transpose {expr} has no batched form")

    def _print_DiagMatrix(self, expr):
        raise NotImplementedError(f"diag(...) {expr} is printed only as a factor of d * g")

    def _print_ZeroMatrix(self, expr):
        raise NotImplementedError(f"a zero matrix {expr} is printed by the emitter")

    def _print_MatrixBase(self, expr):
        raise NotImplementedError("explicit matrices are not printed in batched layout")

    def emptyPrinter(self, expr):
        raise NotImplementedError(f"{type(self).__name__} cannot print "
                                  f"{type(expr).__name__}: {expr}")

    _print_not_supported = emptyPrinter

    # ------------------------------------------------------------ scalar elementwise bodies

    def _print_Integer(self, expr):
        return str(int(expr))

    def _print_Rational(self, expr):
        return repr(float(expr))

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        if exp == -1 and isinstance(base, sp.Add) and len(base.args) == 2 and 1 in base.args:
            other = [a for a in base.args if a != 1][0]
            if isinstance(other, sp.exp):
                u = other.args[0]
                if u.could_extract_minus_sign():  # 1/(1 + exp(-x)) = sigmoid(x)
                    return self._sigmoid(self._print(-u))
                return self._sigmoid(f"-{paren(self._print(u))}")
        if exp == -1:
            return f"1 / {self.parenthesize(base, precedence(expr))}"
        if exp.is_Integer and exp > 0:
            return f"{self.parenthesize(base, precedence(expr))}**{int(exp)}"
        raise NotImplementedError(f"power {expr}")

    def _print_Relational(self, expr):
        if expr.rel_op not in ("==", "!=", "<", "<=", ">", ">="):
            raise NotImplementedError(f"relation {expr.rel_op}")
        return f"({self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)})"

    def _print_Piecewise(self, expr):
        """relu, Piecewise((u, u > 0), (0, True)), is the framework's; Piecewise((e, c),
        (0, True)) is c * e (the boolean mask takes the dtype of e)."""
        if len(expr.args) == 2 and expr.args[1].cond == sp.true and expr.args[1].expr == 0:
            e, c = expr.args[0]
            if isinstance(c, sp.StrictGreaterThan) and c.rhs == 0 and c.lhs == e:
                return self._relu(self._print(e))
            cond = self._print(c)
            return cond if e == 1 else f"{cond} * {self.parenthesize(e, precedence(sp.Mul(2, e)))}"
        raise NotImplementedError(f"Piecewise with more than one nonzero branch: {expr}")


def print_rows(printer_class, expr, names: dict, summed: bool = False,
               transposes: dict | None = None) -> str:
    return printer_class({"names": names, "summed": summed,
                          "transposes": transposes or {}}).doprint(expr)
