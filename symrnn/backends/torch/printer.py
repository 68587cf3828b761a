"""A PyTorch printer for matrix-level equations in batched layout: SymPy's ``TorchPrinter``
with the row algebra of ``symrnn.backends.rows`` (W h -> h @ W.T, diag(d) g -> d * g, ...).

A function is printed from its SymPy definition: tanh, exp and log as SymPy's printer maps
them, 1/(1 + exp(-u)) as ``torch.sigmoid(u)``, Piecewise((u, u > 0), (0, True)) as
``torch.relu(u)``. ``inplace_method`` names the in-place method (``tanh_``, ``sigmoid_``,
``relu_``) that applies a function to an array holding its argument.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.pytorch import TorchPrinter

from ...functions import FUNCTIONS, Apply
from ...naming import Grad
from ..rows import RowAlgebra, coeff_of, is_one, is_vector, ordered, unparen


class TorchRowPrinter(RowAlgebra, TorchPrinter):
    printmethod = "_symrnn_torchcode"
    _default_settings = {**TorchPrinter._default_settings, "names": {}, "summed": False,
                         "transposes": {}, "torch_version": "any"}

    def _sigmoid(self, code: str) -> str:
        return f"torch.sigmoid({unparen(code)})"

    def _relu(self, code: str) -> str:
        return f"torch.relu({unparen(code)})"

    def _print_Integer(self, expr):
        return str(int(expr))

    def _print_Rational(self, expr):
        return repr(float(expr))

    def _print_Float(self, expr):
        return repr(float(expr))


#: SymPy functions whose torch counterpart has an in-place method of the same name.
_INPLACE = {sp.tanh: "tanh_", sp.exp: "exp_", sp.log: "log_"}


def inplace_method(f: str) -> str | None:
    """The in-place tensor method applying the registered function ``f`` ("" for the
    identity), from its SymPy definition; None when there is none (print it whole)."""
    z = sp.Dummy("z", real=True)
    e = FUNCTIONS[f].phi(z)
    if e == z:
        return ""
    if type(e) in _INPLACE and e.args == (z,):
        return _INPLACE[type(e)]
    if e == 1 / (1 + sp.exp(-z)):
        return "sigmoid_"
    if e == sp.Piecewise((z, z > 0), (0, True)):
        return "relu_"
    return None


def print_torch(expr, names: dict, summed: bool = False, transposes: dict | None = None) -> str:
    return TorchRowPrinter({"names": names, "summed": summed,
                            "transposes": transposes or {}}).doprint(expr)


# ---------------------------------------------------------------- statements in place

def _gemm(term):
    """(coefficient, matrix factors, vector) of A v or A^T v, else None."""
    if not isinstance(term, sp.MatMul):
        return None
    coeff, factors = term.as_coeff_matrices()
    if len(factors) == 2 and isinstance(factors[0], (sp.MatrixSymbol, sp.Transpose)) \
            and not isinstance(factors[0], sp.DiagMatrix) and is_vector(factors[1]):
        return coeff, factors[0], factors[1]
    return None


def _product(term):
    """(coefficient, u, v) of an elementwise product of two factors: diag(d) g or u (.) v."""
    coeff = coeff_of(term)
    core = -term if coeff == -1 else term
    if coeff not in (1, -1):
        return None
    if isinstance(core, sp.MatMul):
        factors = core.as_coeff_matrices()[1]
        if len(factors) == 2 and isinstance(factors[0], sp.DiagMatrix) and is_vector(factors[1]):
            d = factors[0].args[0]
            return None if is_one(d) else (coeff, d, factors[1])
    if isinstance(core, sp.HadamardProduct):
        u, *rest = core.args
        v = rest[0] if len(rest) == 1 else sp.HadamardProduct(*rest)
        return coeff, u, v
    return None


class Statements:
    """Lines that write an expression into an existing array (``into``) or add terms to it
    (``add``), with torch's in-place and ``out=`` operations::

        target = A v + B w + u    ->  torch.mm(v, A.T, out=target); target.addmm_(w, B.T); ...
        target = u (.) v          ->  torch.mul(u, v, out=target)
        target += diag(d) g       ->  target.addcmul_(d, g)
        target = f(target)        ->  target.tanh_()

    A term whose code is the target itself is already in place. Rows are 2-D (batch, n)."""

    def __init__(self, names: dict, transposes: dict | None = None):
        self.p = TorchRowPrinter({"names": names, "transposes": transposes or {}})

    def code(self, e) -> str:
        return self.p.doprint(e)

    def into(self, expr, target: str) -> list[str]:
        if isinstance(expr, sp.MatAdd):
            terms = ordered(expr.args)
            held = [x for x in terms if isinstance(x, (sp.MatrixSymbol, Grad))
                    and self.p._settings["names"].get(x) == target]
            if held:
                return self.add([x for x in terms if x is not held[0]], target)
            first = next((x for x in terms if _gemm(x) and _gemm(x)[0] == 1), None) or \
                next((x for x in terms if not coeff_of(x).is_negative), terms[0])
            return self.into(first, target) + self.add([x for x in terms if x is not first],
                                                       target)
        g = _gemm(expr)
        if g is not None and g[0] == 1:
            return [f"torch.mm({self.code(g[2])}, {self.p.transposed(g[1])}, out={target})"]
        prod = _product(expr)
        if prod is not None and prod[0] == 1:
            u, v = unparen(self.code(prod[1])), unparen(self.code(prod[2]))
            if v == target:
                return [f"{target}.mul_({u})"]
            if u == target:
                return [f"{target}.mul_({v})"]
            return [f"torch.mul({u}, {v}, out={target})"]
        if isinstance(expr, Apply):
            method = inplace_method(expr.f)
            arg = self.code(expr.arg)
            if method is not None:
                if arg == target:
                    return [f"{target}.{method}()"] if method else []
                if method:
                    return [f"torch.{method[:-1]}({unparen(arg)}, out={target})"]
        code = self.code(expr)
        return [] if code == target else [f"{target}.copy_({unparen(code)})"]

    def add(self, terms, target: str) -> list[str]:
        lines = []
        vectors = [t for t in terms if type(t) is sp.MatrixSymbol and t.shape[1] == 1]
        if len(vectors) > 1:  # two biases (b_i* + b_h*): summed first, one pass over target
            lines.append(f"{target}.add_({' + '.join(self.code(b) for b in vectors)})")
            terms = [t for t in terms if t not in vectors]
        for term in ordered(terms):
            g = _gemm(term)
            if g is not None:
                alpha = "" if g[0] == 1 else f", alpha={self.p._print(g[0])}"
                lines.append(f"{target}.addmm_({self.code(g[2])}, {self.p.transposed(g[1])}"
                             f"{alpha})")
                continue
            prod = _product(term)
            if prod is not None:
                value = "" if prod[0] == 1 else ", value=-1"
                lines.append(f"{target}.addcmul_({unparen(self.code(prod[1]))}, "
                             f"{unparen(self.code(prod[2]))}{value})")
                continue
            c = coeff_of(term)
            if c.is_number and c < 0:
                lines.append(f"{target}.sub_({unparen(self.code(-term))})")
            else:
                lines.append(f"{target}.add_({unparen(self.code(term))})")
        return lines
