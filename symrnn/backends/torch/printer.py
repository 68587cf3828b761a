"""A PyTorch printer for matrix-level equations in batched layout: SymPy's ``TorchPrinter``
with the row algebra of ``symrnn.backends.rows`` (W h -> h @ W.T, diag(d) g -> d * g, ...).

A function is printed from its SymPy definition: exp and log as SymPy's printer maps them,
1/(1 + exp(-u)) as ``torch.sigmoid(u)``, Piecewise((u, u > 0), (0, True)) as
``torch.relu(u)``, and tanh as the module's ``_tanh(u)``: on the CPU 2 sigmoid(2 u) - 1,
since torch's CPU tanh takes several times its sigmoid's time (measured: 6.6 against 0.85 ns
per float32 entry, benchmarks/bench_backends.py's machine), on other devices torch.tanh.
``inplace_method`` names the in-place method (``tanh_``, ``sigmoid_``, ``relu_``) that
applies a function to a tensor holding its argument, and ``apply_inplace`` writes it.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.pytorch import TorchPrinter

from ...functions import FUNCTIONS, Apply, Deriv
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

    def _print_OneMatrix(self, expr):
        return "_ONE"  # the module's 1 as a tensor: no number wrapped at every step

    def _print_tanh(self, expr):
        return f"_tanh({unparen(self._print(expr.args[0]))})"



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


def apply_inplace(method: str, code: str) -> str:
    """The line applying the in-place ``method`` to the tensor ``code``."""
    if method == "tanh_":
        return f"_tanh_({code})"
    return f"{code}.{method}()"


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
                    return [apply_inplace(method, target)] if method else []
                if method:
                    return [f"{target}.copy_({unparen(arg)})", apply_inplace(method, target)]
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


# ---------------------------------------------------------------- elementwise, in place

class Filler:
    """Lines computing an elementwise vector expression (entrywise products, sums, the
    functions and their derivatives of stored values) into an existing tensor with in-place
    operations, so a factor over all steps costs one allocation and no temporaries::

        k = (1 - tanh(s)^2) (.) q   ->  k.copy_(s); _tanh_(k); k.square_(); k.neg_().add_(1);
                                        k.mul_(q)

    ``scratch`` gives the code of a tensor of the target's shape when a second one is needed
    (a product of two computed factors)."""

    def __init__(self, names: dict, scratch):
        self.p = TorchRowPrinter({"names": names})
        self.names = names
        self._scratch, self.depth = scratch, 0

    def take(self) -> str:
        """A scratch tensor for the current depth (released by ``give``)."""
        self.depth += 1
        return self._scratch(self.depth)

    def give(self) -> None:
        self.depth -= 1

    def leaf(self, e) -> bool:
        return isinstance(e, sp.MatrixSymbol) and e in self.names

    def fill(self, e, out: str) -> list[str]:
        if self.leaf(e):
            return [f"{out}.copy_({self.names[e]})"]
        if isinstance(e, sp.OneMatrix):
            return [f"{out}.fill_(1)"]
        if isinstance(e, sp.HadamardProduct):
            args = sorted(e.args, key=self.leaf)  # a computed factor first, into out
            lines = self.fill(args[0], out)
            for a in args[1:]:
                if self.leaf(a):
                    lines.append(f"{out}.mul_({self.names[a]})")
                else:
                    tmp = self.take()
                    lines += self.fill(a, tmp) + [f"{out}.mul_({tmp})"]
                    self.give()
            return lines
        if isinstance(e, sp.MatMul):
            coeff, factors = e.as_coeff_matrices()
            if len(factors) == 1:
                return self.fill(factors[0], out) + ([] if coeff == 1 else
                                                     [f"{out}.mul_({self.p._print(coeff)})"])
        if isinstance(e, sp.MatAdd):
            terms = sorted(e.args, key=lambda t: bool(coeff_of(t).is_negative))
            lines = self.fill(terms[0], out)
            for t in terms[1:]:
                c = coeff_of(t)
                core = -t if c.is_negative else t
                op = "sub_" if c.is_negative else "add_"
                if self.leaf(core):
                    lines.append(f"{out}.{op}({self.names[core]})")
                elif isinstance(core, sp.OneMatrix):
                    lines.append(f"{out}.{op}(1)")
                else:
                    tmp = self.take()
                    lines += self.fill(core, tmp) + [f"{out}.{op}({tmp})"]
                    self.give()
            return lines
        if isinstance(e, (Deriv, Apply)) and self.leaf(e.arg):
            z = sp.Dummy("z", real=True)
            scalar = e.scalar(z) if isinstance(e, Deriv) else FUNCTIONS[e.f].phi(z)
            chain = self.chain(scalar, z, self.names[e.arg], out)
            if chain is not None:
                return chain
        if isinstance(e, Apply):
            method = inplace_method(e.f)
            if method is not None:
                return self.fill(e.arg, out) + ([apply_inplace(method, out)] if method else [])
        return [f"{out}.copy_({unparen(self.p.doprint(e))})"]

    def chain(self, e, z, zcode: str, out: str) -> list[str] | None:
        """Lines leaving the scalar expression ``e`` of ``z`` (entrywise, ``z`` the tensor
        ``zcode``) in ``out``, or None for a form not handled here."""
        if e == z:
            return [f"{out}.copy_({zcode})"]
        if e.is_Number:
            return [f"{out}.fill_({self.p._print(e)})"]
        # a first operation that reads z and writes out, not a copy and an operation in place
        if e == z**2:
            return [f"torch.mul({zcode}, {zcode}, out={out})"]
        if e == 1 - z**2:
            return [f"torch.addcmul(_ONE, {zcode}, {zcode}, value=-1, out={out})"]
        if e == 1 - z:
            return [f"torch.sub(_ONE, {zcode}, out={out})"]
        if e == sp.tanh(z):
            return [f"_tanh_to({zcode}, {out})"]
        if isinstance(e, sp.tanh):
            inner = self.chain(e.args[0], z, zcode, out)
            return None if inner is None else inner + [f"_tanh_({out})"]
        if isinstance(e, (sp.exp, sp.log)):
            inner = self.chain(e.args[0], z, zcode, out)
            return None if inner is None else inner + [f"{out}.{type(e).__name__}_()"]
        if e.is_Pow and e.exp.is_Integer and e.exp > 0:
            inner = self.chain(e.base, z, zcode, out)
            return None if inner is None else inner + [f"{out}.square_()" if e.exp == 2
                                                       else f"{out}.pow_({int(e.exp)})"]
        if e.is_Pow and e.exp == -1 and isinstance(e.base, sp.Add) and 1 in e.base.args:
            other = [a for a in e.base.args if a != 1]
            if len(other) == 1 and isinstance(other[0], sp.exp) and \
                    other[0].args[0].could_extract_minus_sign():  # 1/(1 + exp(-u))
                inner = self.chain(-other[0].args[0], z, zcode, out)
                return None if inner is None else inner + [f"{out}.sigmoid_()"]
        if e.is_Add:
            const = sum((a for a in e.args if a.is_Number), sp.Integer(0))
            rest = [a for a in e.args if not a.is_Number]
            if len(rest) != 1:
                return None
            t = rest[0]
            if const == 1 and (-t).is_Pow and (-t).exp == 2:  # 1 - X^2: one operation
                inner = self.chain((-t).base, z, zcode, out)
                return None if inner is None else \
                    inner + [f"torch.addcmul(_ONE, {out}, {out}, value=-1, out={out})"]
            if const == 1 and t.could_extract_minus_sign():  # 1 - X: one operation
                inner = self.chain(-t, z, zcode, out)
                return None if inner is None else inner + [f"torch.sub(_ONE, {out}, out={out})"]
            neg = t.could_extract_minus_sign()
            inner = self.chain(-t if neg else t, z, zcode, out)
            if inner is None:
                return None
            tail = (".neg_()" if neg else "") + (f".add_({self.p._print(const)})" if const else "")
            return inner + ([f"{out}{tail}"] if tail else [])
        if e.is_Mul:
            coeff, factors = e.as_coeff_mul()
            if not factors:
                return None
            lines = self.chain(factors[0], z, zcode, out)
            if lines is None:
                return None
            for f in factors[1:]:
                if f == z:
                    lines.append(f"{out}.mul_({zcode})")
                    continue
                tmp = self.take()
                inner = self.chain(f, z, zcode, tmp)
                self.give()
                if inner is None:
                    return None
                lines += inner + [f"{out}.mul_({tmp})"]
            if coeff != 1:
                lines.append(f"{out}.mul_({self.p._print(coeff)})")
            return lines
        return None
