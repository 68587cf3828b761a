"""A NumPy printer for the matrix-level BPTT equations in batched layout.

The derivation writes column vectors (n x 1). Generated code works on a batch of sequences at
once, so a column vector v becomes an array of shape (..., batch, n), one row per sequence
(row layout: the row is v^T). The printer turns the matrix algebra into that layout:

    W * h              ->  h @ W.T            (A v)^T = v^T A^T
    W.T * g            ->  g @ W
    DiagMatrix(f(h))*g ->  f(h) * g           elementwise, no diagonal matrix is formed
    b (a parameter)    ->  b                  a 1-D array broadcasts over the rows

With ``summed=True`` the printer reads the expression as a sum over every row of 2-D arrays
that stack all time steps and sequences (the summed equations grad_V = sum_t g(t) h(t)^T):

    g * h.T            ->  g.T @ h            one GEMM over all steps
    g                  ->  g.sum(axis=0)

Array names come from ``names`` (MatrixSymbol name -> code); ``transposes`` may name a stored
contiguous copy of A^T (``{"W": "WT"}`` prints ``h @ WT`` for W h). Anything the printer does
not know raises ``NotImplementedError``; nothing falls back to a guess.

Statements can also be printed in place (``print_batched_into``): the value of the expression
is written into an existing array with ``out=`` and augmented assignments, so the time loops
allocate no temporaries for their results:

    target = A v + B w + u      ->  numpy.matmul(v, A.T, out=target); target += w @ B.T; target += u
    target = diag(d) g          ->  numpy.multiply(d, g, out=target)
    target = f(a), f a ufunc    ->  numpy.f(a, out=target)

With a ``scratch`` array, an elementwise factor d = f(h) built from +, -, * and integer powers
is computed into the scratch by a chain of ufuncs, so no temporary is allocated for it:

    target = diag(1 - h^2) g    ->  numpy.square(h, out=scratch)
                                    numpy.subtract(1, scratch, out=scratch)
                                    numpy.multiply(scratch, g, out=target)

A term of a sum whose code is the target itself is already in place (the caller stored it
there earlier); the other terms are added to it. With a ``scratch`` array, a product added
so is computed into the scratch first, so a time loop allocates nothing:

    target = target + A v       ->  numpy.matmul(v, A.T, out=scratch); target += scratch
    target = target - y         ->  target -= y
    target = target - y, y one-hot with labels (``onehot``)
                                ->  target[numpy.arange(len(target)), labels] -= 1

``onehot`` maps a symbol to the code of its integer labels, one per row of the target (a
one-hot vector has no dense array; it can only be subtracted in place).
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import precedence

_ATOM_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.[]")


def _is_atomic(code: str) -> bool:
    """True when ``code`` is a name, attribute, subscript or parenthesized group."""
    if code.startswith("(") and code.endswith(")") and _balanced(code[1:-1]):
        return True
    if not code or not set(code) <= _ATOM_CHARS | {" ", "+", "-", ":", ","}:
        return False
    depth = 0
    for ch in code:  # operators are fine only inside [...]
        depth += ch == "["
        depth -= ch == "]"
        if depth == 0 and ch in " +-:,":
            return False
    return True


def _balanced(code: str) -> bool:
    depth = 0
    for ch in code:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


def _paren(code: str) -> str:
    return code if _is_atomic(code) else f"({code})"


def _term_order(term) -> tuple:
    """Terms of a sum in the note's order: biases, then W, V, U terms, then the rest."""
    names = sorted(m.name for m in term.atoms(sp.MatrixSymbol))
    rank = min(("bcWVU".index(n) for n in names if n in ("b", "c", "W", "V", "U")), default=9)
    return (rank, sp.sstr(term))


class BatchedNumPyPrinter(NumPyPrinter):
    """``NumPyPrinter`` for matrix expressions over row-batched arrays (see module docstring).

    Settings: ``names`` maps MatrixSymbol names to code (and scalar Symbols to code, for
    elementwise bodies); ``summed`` prints the sum over all rows of the expression.
    """

    printmethod = "_batched_numpycode"
    _default_settings = {**NumPyPrinter._default_settings, "names": {}, "summed": False,
                         "strict": True, "transposes": {}, "scratch": None,
                         "onehot": {}}

    def __init__(self, settings=None):
        super().__init__(settings)
        self._names = dict(self._settings["names"])

    def doprint(self, expr, assign_to=None):
        if self._settings["summed"] and self._is_vector(expr) and not isinstance(expr, sp.MatMul):
            # sum over rows r of g_r: a column sum of the stacked 2-D array
            inner = self.__class__({**self._settings, "summed": False})
            return f"{_paren(inner.doprint(expr))}.sum(axis=0)"
        return super().doprint(expr, assign_to)

    # ------------------------------------------------------------ leaves

    def _lookup(self, name: str, what: str) -> str:
        if name not in self._names:
            known = ", ".join(sorted(self._names)) or "none"
            raise NotImplementedError(f"no array name for {what} {name!r} (known: {known})")
        return self._names[name]

    def _print_MatrixSymbol(self, expr):
        if expr.name in self._settings["onehot"]:
            raise NotImplementedError(f"one-hot {expr.name!r} has no dense array; it can only "
                                      f"be subtracted in place")
        return self._lookup(expr.name, "matrix symbol")

    def _print_Symbol(self, expr):
        if expr.name in self._names:
            return self._names[expr.name]
        raise NotImplementedError(f"no code name for scalar symbol {expr.name!r}")

    _print_Dummy = _print_Symbol

    # ------------------------------------------------------------ batched matrix algebra

    @staticmethod
    def _is_vector(expr) -> bool:
        return isinstance(expr, sp.MatrixExpr) and expr.shape[1] == 1

    def _transposed_param(self, expr) -> str:
        """Code for A^T where A is a matrix acting from the left on a column vector."""
        if isinstance(expr, sp.Transpose) and isinstance(expr.arg, sp.MatrixSymbol):
            return self._print(expr.arg)
        if isinstance(expr, sp.MatrixSymbol):
            if expr.name in self._settings["transposes"]:
                return self._settings["transposes"][expr.name]
            return f"{self._print(expr)}.T"
        raise NotImplementedError(f"cannot print {expr} as a matrix acting on batched rows")

    def _print_MatMul(self, expr):
        coeff, factors = expr.as_coeff_matrices()
        if self._settings["summed"] and len(factors) == 2 and self._is_vector(factors[0]) \
                and isinstance(factors[1], sp.Transpose) and self._is_vector(factors[1].arg):
            # sum over rows r of u_r v_r^T = U^T V with U, V stacking the rows: one GEMM
            code = f"{_paren(self._print(factors[0]))}.T @ {_paren(self._print(factors[1].arg))}"
        elif self._settings["summed"]:
            raise NotImplementedError(f"summed printing supports g and g * h.T, got {expr}")
        elif len(factors) == 2 and isinstance(factors[0], sp.DiagMatrix) \
                and self._is_vector(factors[1]):
            # diag(d) g = d * g, elementwise
            d, g = factors[0].args[0], factors[1]
            if isinstance(d, ElementwiseApplyFunction) and d.function.expr == 1:
                code = self._print(g)  # diag(1) g = g (identity activation)
            else:
                code = f"{_paren(self._print(d))} * {_paren(self._print(g))}"
        elif self._is_vector(factors[-1]) and all(
                isinstance(f, (sp.MatrixSymbol, sp.Transpose)) for f in factors[:-1]):
            # (A B v)^T = v^T B^T A^T
            parts = [_paren(self._print(factors[-1]))]
            parts += [self._transposed_param(f) for f in reversed(factors[:-1])]
            code = " @ ".join(parts)
        else:
            raise NotImplementedError(f"cannot print matrix product {expr} in batched layout")
        if coeff == 1:
            return code
        if coeff == -1:
            return f"-{_paren(code)}"
        return f"{self._print(coeff)} * {_paren(code)}"

    def _print_MatAdd(self, expr):
        if self._settings["summed"]:
            raise NotImplementedError(f"summed printing of a sum {expr}: print each term")
        plus, minus = [], []
        for term in sorted(expr.args, key=_term_order):
            coeff = term.as_coeff_mmul()[0] if isinstance(term, sp.MatMul) else sp.Integer(1)
            if coeff.is_number and coeff < 0:
                minus.append(self._print(-term))
            else:
                plus.append(self._print(term))
        code = " + ".join(plus) if plus else "0"
        for m in minus:
            code += f" - {_paren(m)}"
        return code

    def _print_ElementwiseApplyFunction(self, expr):
        """f applied to every entry: the Lambda body printed with the argument's code."""
        z, body = expr.function.variables[0], expr.function.expr
        arg = _paren(self._print(expr.expr))
        sub = self.__class__({**self._settings, "names": {**self._names, z.name: arg}})
        return sub._print(body)

    def _print_Transpose(self, expr):
        raise NotImplementedError(f"a bare transpose {expr} has no batched form")

    def _print_DiagMatrix(self, expr):
        raise NotImplementedError(f"diag(...) {expr} is printed only as a factor of d * g")

    def _print_MatrixBase(self, expr):
        raise NotImplementedError("explicit matrices are not printed in batched layout")

    def _print_not_supported(self, expr):
        raise NotImplementedError(f"BatchedNumPyPrinter cannot print {type(expr).__name__}: {expr}")

    def emptyPrinter(self, expr):
        raise NotImplementedError(f"BatchedNumPyPrinter cannot print {type(expr).__name__}: {expr}")

    # ------------------------------------------------------------ scalar elementwise bodies

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        if exp == -1 and isinstance(base, sp.Add) and len(base.args) == 2 and 1 in base.args:
            other = [a for a in base.args if a != 1][0]
            if isinstance(other, sp.exp):
                # 1/(1 + exp(u)) = exp(-log(1 + exp(u))): no overflow for large u
                return f"numpy.exp(-numpy.logaddexp(0, {self._print(other.args[0])}))"
        if exp == -1:
            return f"1 / {self.parenthesize(base, precedence(expr))}"
        if exp.is_Integer and exp > 0:
            return f"{self.parenthesize(base, precedence(expr))}**{int(exp)}"
        return super()._print_Pow(expr, rational=rational)

    def _print_Relational(self, expr):
        ops = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
        if expr.rel_op not in ops:
            raise NotImplementedError(f"relation {expr.rel_op}")
        return f"({self._print(expr.lhs)} {ops[expr.rel_op]} {self._print(expr.rhs)})"

    def _print_Piecewise(self, expr):
        """Piecewise((e, c), (0, True)) -> c * e: the boolean mask keeps the dtype of e."""
        if len(expr.args) == 2 and expr.args[1].cond == sp.true and expr.args[1].expr == 0:
            e, c = expr.args[0]
            cond = self._print(c)
            return cond if e == 1 else f"{cond} * {self.parenthesize(e, precedence(sp.Mul(2, e)))}"
        raise NotImplementedError(f"Piecewise with more than one nonzero branch: {expr}")


    # ------------------------------------------------------------ statements in place

    def _single_ufunc(self, code: str, arg: str) -> str | None:
        """``numpy.f`` when ``code`` is exactly ``numpy.f(arg)``, else None."""
        head = code.split("(", 1)[0]
        if code == f"{head}({arg})" and head.startswith("numpy.") and "." not in head[6:]:
            return head
        return None

    def print_into(self, expr, target: str, new: bool = False) -> list[str]:
        """Lines that write the value of ``expr`` into the existing array ``target`` (with
        ``new``: the first GEMM creates ``target``, the other terms are added in place)."""
        if self._settings["summed"]:
            raise NotImplementedError("summed expressions are printed as expressions")
        if isinstance(expr, sp.MatAdd):
            held = [x for x in expr.args
                    if isinstance(x, sp.MatrixSymbol) and x.name in self._names
                    and self._names[x.name] == target]
            if held and not new:
                return self._add_into([x for x in expr.args if x is not held[0]], target)
            terms = sorted(expr.args, key=_term_order)
            gemms = [x for x in terms if isinstance(x, sp.MatMul)
                     and x.as_coeff_matrices()[0] == 1 and not isinstance(
                         x.as_coeff_matrices()[1][0], sp.DiagMatrix)]
            first = gemms[0] if gemms else None
            rest = [x for x in terms if x is not first]
            if first is not None and new:
                lines = [f"{target} = {self._print(first)}"]
            elif first is not None:
                lines = self.print_into(first, target)
            else:
                lines = [f"{target}[...] = {self._print(rest.pop(0))}"]
            for term in rest:
                coeff = term.as_coeff_mmul()[0] if isinstance(term, sp.MatMul) else sp.Integer(1)
                if coeff.is_number and coeff < 0:
                    lines.append(f"{target} -= {self._print(-term)}")
                else:
                    lines.append(f"{target} += {self._print(term)}")
            return lines
        if isinstance(expr, sp.MatMul) and expr.as_coeff_matrices()[0] == 1:
            factors = expr.as_coeff_matrices()[1]
            if len(factors) == 2 and isinstance(factors[0], sp.DiagMatrix) \
                    and self._is_vector(factors[1]):
                d, g = factors[0].args[0], factors[1]
                if not (isinstance(d, ElementwiseApplyFunction) and d.function.expr == 1):
                    chain = self._chain_into(d, self._settings["scratch"])
                    if chain is not None:
                        scratch = self._settings["scratch"]
                        return chain + [f"numpy.multiply({scratch}, {self._print(g)}, out={target})"]
                    return [f"numpy.multiply({_paren(self._print(d))}, {self._print(g)}, out={target})"]
            elif len(factors) == 2 and self._is_vector(factors[1]) \
                    and isinstance(factors[0], (sp.MatrixSymbol, sp.Transpose)):
                v, a = self._print(factors[1]), self._transposed_param(factors[0])
                return [f"numpy.matmul({v}, {a}, out={target})"]
        if isinstance(expr, ElementwiseApplyFunction):
            arg = _paren(self._print(expr.expr))
            code = self._print(expr)
            head = self._single_ufunc(code, arg)
            if head is not None:
                return [f"{head}({arg}, out={target})"]
        return [f"{target}[...] = {self._print(expr)}"]

    def _chain_into(self, d, scratch: str | None) -> list[str] | None:
        """Lines computing the elementwise f(a) = ``d`` into ``scratch`` with ufuncs and out=,
        or None when f has another form (it is then printed as an expression)."""
        if scratch is None or not isinstance(d, ElementwiseApplyFunction):
            return None
        z, arg = d.function.variables[0], _paren(self._print(d.expr))

        def chain(e):  # lines leaving e in scratch, evaluated as the expression printer orders it
            if e.is_Pow and e.base == z and e.exp.is_Integer and e.exp > 1:
                return [f"numpy.square({arg}, out={scratch})" if e.exp == 2
                        else f"numpy.power({arg}, {int(e.exp)}, out={scratch})"]
            if e.is_Add and len(e.args) == 2 and e.args[0].is_Number:
                c, rest = e.args
                neg = rest.could_extract_minus_sign()
                rest = -rest if neg else rest
                ufunc = "subtract" if neg else "add"
                if rest == z:
                    return [f"numpy.{ufunc}({self._print(c)}, {arg}, out={scratch})"]
                inner = chain(rest)
                return None if inner is None else \
                    inner + [f"numpy.{ufunc}({self._print(c)}, {scratch}, out={scratch})"]
            if e.is_Mul and len(e.args) == 2 and z in e.args:
                other = e.args[1] if e.args[0] == z else e.args[0]
                inner = chain(other)
                return None if inner is None else \
                    inner + [f"numpy.multiply({arg}, {scratch}, out={scratch})"]
            return None

        return chain(d.function.expr)

    def _add_into(self, terms, target: str) -> list[str]:
        """Lines adding ``terms`` to ``target``, which already holds the rest of the sum."""
        lines = []
        for term in sorted(terms, key=_term_order):
            coeff = term.as_coeff_mmul()[0] if isinstance(term, sp.MatMul) else sp.Integer(1)
            negative = coeff.is_number and coeff < 0
            positive_term = -term if negative else term
            op = "-=" if negative else "+="
            if isinstance(positive_term, sp.MatrixSymbol) \
                    and positive_term.name in self._settings["onehot"]:
                if not negative:
                    raise NotImplementedError(f"a one-hot {term} is only subtracted in place")
                labels = self._settings["onehot"][positive_term.name]
                lines.append(f"{target}[numpy.arange(len({target})), {labels}] -= 1")
                continue
            scratch = self._settings["scratch"]
            if scratch is not None and isinstance(positive_term, sp.MatMul):
                product = self.print_into(positive_term, scratch)
                if len(product) == 1 and product[0].startswith("numpy.matmul("):
                    lines += [product[0], f"{target} {op} {scratch}"]
                    continue
            lines.append(f"{target} {op} {self._print(positive_term)}")
        return lines


def print_batched(expr, names: dict[str, str], summed: bool = False,
                  transposes: dict[str, str] | None = None) -> str:
    """Print ``expr`` for row-batched arrays named by ``names`` (see ``BatchedNumPyPrinter``)."""
    return BatchedNumPyPrinter({"names": names, "summed": summed,
                                "transposes": transposes or {}}).doprint(expr)


def print_batched_into(expr, target: str, names: dict[str, str],
                       transposes: dict[str, str] | None = None, new: bool = False,
                       scratch: str | None = None,
                       onehot: dict[str, str] | None = None) -> list[str]:
    """Lines writing ``expr`` into the existing array ``target`` (no temporary for the result);
    ``new``: a sum's first GEMM creates ``target``; a term named as ``target`` is already in
    place; ``scratch``: an array for products added in place; ``onehot``: symbols given by
    integer labels (see the module docstring)."""
    return BatchedNumPyPrinter({"names": names, "transposes": transposes or {},
                                "scratch": scratch, "onehot": onehot or {}}).print_into(
        expr, target, new=new)
