"""A NumPy printer for matrix-level equations in batched layout.

The derivation writes column vectors (n x 1). Generated code works on a batch of sequences at
once, so a column vector v becomes an array of shape (..., batch, n), one row per sequence
(row layout: the row is v^T). The printer turns the matrix algebra into that layout:

    W * h              ->  h @ W.T            (A v)^T = v^T A^T
    W.T * g            ->  g @ W
    DiagMatrix(d) * g  ->  d * g              elementwise, no diagonal matrix is formed
    u (.) v            ->  u * v              (HadamardProduct)
    f(a) (Apply)       ->  the activation's NumPy kernel
    b (a parameter)    ->  b                  a 1-D array broadcasts over the rows

With ``summed=True`` the printer reads the expression as a sum over every row of 2-D arrays
that stack all time steps and sequences (a parameter's gradient, sum_t g(t) h(t)^T):

    g * h.T            ->  g.T @ h            one GEMM over all steps
    g                  ->  g.sum(axis=0)

Array names come from ``names``: a dict keyed by the matrix-level objects themselves (``At``,
``Grad`` and parameter symbols, and the scalar placeholders of elementwise bodies); nothing
is looked up by parsing a name. ``transposes`` may name a stored contiguous copy of A^T.
Anything the printer does not know raises ``NotImplementedError``; nothing falls back to a
guess.

Statements can also be printed in place (``print_into``): the value is written into an
existing array with ``out=`` and augmented assignments, so time loops allocate nothing:

    target = A v + B w + u      ->  numpy.matmul(v, A.T, out=target); target += w @ B.T; ...
    target = diag(d) g          ->  numpy.multiply(d, g, out=target)
    target = f(a), f a ufunc    ->  numpy.f(a, out=target)

A term of a sum whose code is the target itself is already in place (held there earlier);
the other terms are added to it, and a value whose code is the target itself needs no line
(identity(a), diag(1) g). With a ``scratch`` array, a product added so is computed into the
scratch first, and an elementwise factor d = f(h) built from +, -, * and integer powers is
computed into the scratch by a chain of ufuncs:

    target = diag(1 - h^2) g    ->  numpy.square(h, out=scratch)
                                    numpy.subtract(1, scratch, out=scratch)
                                    numpy.multiply(scratch, g, out=target)

``onehot`` maps a matrix object to the code of its integer labels, one per row of the target
(a one-hot vector has no dense array; it can only be subtracted in place).

``index`` names the inputs that are integer class indices (x(t) is the one-hot vector of an
index): such an input is read only by a matrix product, as a gather of rows of A^T, and a
weight gradient over it is a sum of rows by index (the module's ``_index_sum``):

    U x(t)                 ->  U.T[x_all]           numpy.take(U.T, x_all, axis=0, out=target)
    sum_t g(t) x(t)^T      ->  _index_sum(g_all, x_all, N_IN).T
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import precedence

from ...functions import FUNCTIONS
from ...naming import At, Grad
from ...functions import Apply, Deriv

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


def paren(code: str) -> str:
    return code if _is_atomic(code) else f"({code})"


def _is_leaf(e) -> bool:
    return isinstance(e, (sp.MatrixSymbol, Grad))


def _coeff(term):
    return term.as_coeff_mmul()[0] if isinstance(term, sp.MatMul) else sp.Integer(1)


class BatchedNumPyPrinter(NumPyPrinter):
    """``NumPyPrinter`` for matrix expressions over row-batched arrays (module docstring)."""

    printmethod = "_batched_numpycode"
    _default_settings = {**NumPyPrinter._default_settings, "names": {}, "summed": False,
                         "strict": True, "transposes": {}, "scratch": None, "onehot": {},
                         "index": {}}

    def __init__(self, settings=None):
        super().__init__(settings)
        self._names = dict(self._settings["names"])

    def doprint(self, expr, assign_to=None):
        if self._settings["summed"] and self._is_vector(expr):
            return f"{paren(self._unsummed().doprint(expr))}.sum(axis=0)"
        return super().doprint(expr, assign_to)

    def _unsummed(self):
        return self.__class__({**self._settings, "summed": False})

    # ------------------------------------------------------------ leaves

    def _lookup(self, key, what: str) -> str:
        if key not in self._names:
            raise NotImplementedError(f"no array name for {what} {sp.sstr(key)}")
        return self._names[key]

    def _is_index(self, expr) -> bool:
        return isinstance(expr, At) and expr.name in self._settings["index"]

    def _print_MatrixSymbol(self, expr):
        if self._is_index(expr):
            raise NotImplementedError(f"{sp.sstr(expr)} is a class index: it is read only as "
                                      f"A {sp.sstr(expr)} (a gather), got it elsewhere")
        if expr in self._settings["onehot"]:
            raise NotImplementedError(f"one-hot {sp.sstr(expr)} has no dense array; it can only "
                                      f"be subtracted in place")
        return self._lookup(expr, "matrix")

    _print_At = _print_MatrixSymbol

    def _print_Grad(self, expr):
        return self._lookup(expr, "gradient")

    def _print_Symbol(self, expr):
        if expr in self._names:
            return self._names[expr]
        raise NotImplementedError(f"no code name for scalar symbol {expr.name!r}")

    _print_Dummy = _print_Symbol

    def _print_OneMatrix(self, expr):
        return "1"

    # ------------------------------------------------------------ batched matrix algebra

    @staticmethod
    def _is_vector(expr) -> bool:
        return isinstance(expr, sp.MatrixExpr) and expr.shape[1] == 1

    def _transposed_param(self, expr) -> str:
        """Code for A^T where A is a matrix acting from the left on a column vector."""
        if isinstance(expr, sp.Transpose) and isinstance(expr.arg, sp.MatrixSymbol):
            return self._print(expr.arg)
        if isinstance(expr, sp.MatrixSymbol):
            if expr in self._settings["transposes"]:
                return self._settings["transposes"][expr]
            return f"{self._print(expr)}.T"
        raise NotImplementedError(f"cannot print {expr} as a matrix acting on batched rows")

    def _elementwise_factor(self, d) -> str:
        """diag(d) as the elementwise factor d."""
        return paren(self._print(d))

    def _print_MatMul(self, expr):
        coeff, factors = expr.as_coeff_matrices()
        if self._settings["summed"] and len(factors) == 2 and self._is_vector(factors[0]) \
                and factors[1].shape[0] == 1 and self._is_index(factors[1].T):
            # g x^T, x(t) the one-hot vector of an index: the rows of g summed by index
            x, flat = factors[1].T, self._unsummed()
            code = (f"_index_sum({flat._print(factors[0])}, {self._lookup(x, 'index')}, "
                    f"{self._settings['index'][x.name]}).T")
        elif self._settings["summed"] and len(factors) == 2 and self._is_vector(factors[0]) \
                and factors[1].shape[0] == 1 and self._is_vector(factors[1].T):
            # g v^T, v a vector expression (h(t-1), or f(t) (.) h(t-1) whose transpose SymPy
            # writes as f(t)^T (.) h(t-1)^T): one product over the stacked steps
            flat = self._unsummed()
            code = f"{paren(flat._print(factors[0]))}.T @ {paren(flat._print(factors[1].T))}"
        elif self._settings["summed"] and len(factors) > 2 and factors[-1].shape[0] == 1 \
                and self._is_vector(factors[-1].T):
            # (c A^T diag(d) g) v^T flattened by SymPy (a number in the cell's equation)
            flat = self._unsummed()
            code = (f"{paren(flat._chain(factors[:-1], expr))}.T @ "
                    f"{paren(flat._print(factors[-1].T))}")
        elif self._settings["summed"]:
            raise NotImplementedError(f"summed printing supports g and g * h.T, got {expr}")
        elif len(factors) == 2 and isinstance(factors[0], sp.DiagMatrix) \
                and self._is_vector(factors[1]):
            d, g = factors[0].args[0], factors[1]
            if _is_one(d):
                code = self._print(g)  # diag(1) g = g (identity activation)
            else:
                code = f"{self._elementwise_factor(d)} * {paren(self._print(g))}"
        elif len(factors) == 2 and self._is_index(factors[1]) and \
                isinstance(factors[0], (sp.MatrixSymbol, sp.Transpose)):
            # A x(t), x(t) the one-hot vector of an index: rows of A^T
            code = f"{self._transposed_param(factors[0])}[{self._lookup(factors[1], 'index')}]"
        elif self._is_vector(factors[-1]) and all(
                isinstance(f, (sp.MatrixSymbol, sp.Transpose)) for f in factors[:-1]):
            parts = [paren(self._print(factors[-1]))]
            parts += [self._transposed_param(f) for f in reversed(factors[:-1])]
            code = " @ ".join(parts)
        else:
            code = self._chain(factors, expr)
        if coeff == 1:
            return code
        if coeff == -1:
            return f"-{paren(code)}"
        return f"{self._print(coeff)} * {paren(code)}"

    def _chain(self, factors, expr) -> str:
        """A^T ... diag(d1) diag(d2) ... g (nested functions, or a number that made SymPy
        flatten the product): the diagonals as elementwise factors, then the matrices."""
        k = len(factors) - 1
        while k > 0 and isinstance(factors[k - 1], sp.DiagMatrix):
            k -= 1
        if not self._is_vector(factors[-1]) or not all(
                isinstance(f, (sp.MatrixSymbol, sp.Transpose)) for f in factors[:k]):
            raise NotImplementedError(f"cannot print matrix product {expr} in batched layout")
        ds = [f.args[0] for f in factors[k:-1] if not _is_one(f.args[0])]
        code = " * ".join([self._elementwise_factor(d) for d in ds]
                          + [paren(self._print(factors[-1]))]) if ds else self._print(factors[-1])
        return " @ ".join([paren(code)] + [self._transposed_param(f) for f in
                                           reversed(factors[:k])])

    def _print_MatAdd(self, expr):
        if self._settings["summed"]:
            raise NotImplementedError(f"summed printing of a sum {expr}: print each term")
        plus, minus = [], []
        for term in ordered_terms(expr.args):
            c = _coeff(term)
            if c.is_number and c < 0:
                minus.append(self._print(-term))
            else:
                plus.append(self._print(term))
        code = " + ".join(plus) if plus else "0"
        for m in minus:
            code += f" - {paren(m)}"
        return code

    def _print_HadamardProduct(self, expr):
        return " * ".join(paren(self._print(a)) for a in expr.args)

    def _print_Apply(self, expr):
        act = FUNCTIONS[expr.f]
        if act.symbolic_only:
            raise NotImplementedError(f"{act.name} has no numeric value")
        arg = paren(self._print(expr.arg))
        if act.numpy is not None:
            return f"{act.numpy}({arg})"
        if act.numpy_helper:
            return f"{helper_name(act)}({self._print(expr.arg)})"
        z = sp.Dummy("z", real=True)
        sub = self.__class__({**self._settings, "names": {**self._names, z: arg}})
        return sub._print(act.phi(z))

    def _print_Deriv(self, expr):
        z = sp.Dummy("z", real=True)
        act = FUNCTIONS[expr.f]
        if not expr.from_output and act.dphi_from_h is not None and \
                (act.numpy is not None or act.numpy_helper):
            # f'(a) written with f(a), computed by f's stable kernel (sigma(1 - sigma), not
            # exp(-a) / (1 + exp(-a))^2, which overflows to inf / inf)
            out = self._print(Apply(expr.f, expr.arg))
            sub = self.__class__({**self._settings, "names": {**self._names, z: out}})
            return sub._print(act.dphi_from_h(z))
        arg = paren(self._print(expr.arg))
        sub = self.__class__({**self._settings, "names": {**self._names, z: arg}})
        return sub._print(expr.scalar(z))

    def _print_Transpose(self, expr):
        raise NotImplementedError(f"a bare transpose {expr} has no batched form")

    def _print_DiagMatrix(self, expr):
        raise NotImplementedError(f"diag(...) {expr} is printed only as a factor of d * g")

    def _print_MatrixBase(self, expr):
        raise NotImplementedError("explicit matrices are not printed in batched layout")

    def _print_not_supported(self, expr):
        raise NotImplementedError(f"BatchedNumPyPrinter cannot print {type(expr).__name__}: "
                                  f"{expr}")

    def emptyPrinter(self, expr):
        raise NotImplementedError(f"BatchedNumPyPrinter cannot print {type(expr).__name__}: "
                                  f"{expr}")

    # ------------------------------------------------------------ scalar elementwise bodies

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        if exp == -1 and isinstance(base, sp.Add) and len(base.args) == 2 and 1 in base.args:
            other = [a for a in base.args if a != 1][0]
            if isinstance(other, sp.exp):
                # 1/(1 + exp(u)) = sigmoid(-u), by the sigmoid's stable kernel (no overflow,
                # a few ulp of relative accuracy for every u)
                return f"{helper_name(FUNCTIONS['sigmoid'])}({self._print(-other.args[0])})"
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

    def print_into(self, expr, target: str, new: bool = False) -> list[str]:
        """Lines that write the value of ``expr`` into the existing array ``target`` (with
        ``new``: the first GEMM creates ``target``, the other terms are added in place)."""
        if self._settings["summed"]:
            raise NotImplementedError("summed expressions are printed as expressions")
        if isinstance(expr, sp.MatAdd):
            held = [x for x in expr.args if _is_leaf(x) and self._names.get(x) == target]
            if held and not new:
                return self._add_into([x for x in expr.args if x is not held[0]], target)
            terms = ordered_terms(expr.args)
            gemms = [x for x in terms if isinstance(x, sp.MatMul) and _coeff(x) == 1
                     and not isinstance(x.as_coeff_matrices()[1][0], sp.DiagMatrix)]
            first = gemms[0] if gemms else None
            rest = [x for x in terms if x is not first]
            if first is None:  # start from a term that is not subtracted or one-hot
                first = next((x for x in rest if not (_coeff(x).is_number and _coeff(x) < 0)),
                             rest[0])
                rest = [x for x in rest if x is not first]
                lines = [f"{target}{'' if new else '[...]'} = {self._print(first)}"]
            elif new:
                lines = [f"{target} = {self._print(first)}"]
            else:
                lines = self.print_into(first, target)
            return lines + self._add_into(rest, target)
        if isinstance(expr, sp.MatMul) and _coeff(expr) == 1:
            factors = expr.as_coeff_matrices()[1]
            if len(factors) == 2 and isinstance(factors[0], sp.DiagMatrix) \
                    and self._is_vector(factors[1]):
                d, g = factors[0].args[0], factors[1]
                if not _is_one(d):
                    return self._elementwise_into(d, g, target)
            elif len(factors) == 2 and self._is_index(factors[1]) \
                    and isinstance(factors[0], (sp.MatrixSymbol, sp.Transpose)):
                x, a = self._lookup(factors[1], "index"), self._transposed_param(factors[0])
                if new:
                    return [f"{target} = {a}[{x}]"]
                return [f"numpy.take({a}, {x}, axis=0, out={target})"]
            elif len(factors) == 2 and self._is_vector(factors[1]) \
                    and isinstance(factors[0], (sp.MatrixSymbol, sp.Transpose)):
                v, a = self._print(factors[1]), self._transposed_param(factors[0])
                if new:
                    return [f"{target} = {v} @ {a}"]
                return [f"numpy.matmul({v}, {a}, out={target})"]
        if isinstance(expr, sp.ZeroMatrix):  # a gradient nothing feeds (u(tau) in a GRU)
            return [f"{target}{'' if new else '[...]'} = 0"]
        if isinstance(expr, sp.HadamardProduct) and len(expr.args) == 2:
            return self._elementwise_into(expr.args[0], expr.args[1], target)
        if isinstance(expr, Apply):
            act = FUNCTIONS[expr.f]
            if act.numpy is not None and not act.symbolic_only:
                return [f"{act.numpy}({self._print(expr.arg)}, out={target})"]
        code = self._print(expr)
        if new:
            return [f"{target} = {code}"]
        if code == target:  # already in place: identity(a), diag(1) g in the storage of g
            return []
        return [f"{target}[...] = {code}"]

    def _elementwise_into(self, d, g, target: str) -> list[str]:
        """target = d * g, with d computed into the scratch by ufuncs where it can be."""
        scratch = self._settings["scratch"]
        chain = self._chain_into(d, scratch)
        if chain is not None:
            return chain + [f"numpy.multiply({scratch}, {self._print(g)}, out={target})"]
        return [f"numpy.multiply({paren(self._print(d))}, {self._print(g)}, out={target})"]

    def _chain_into(self, d, scratch: str | None) -> list[str] | None:
        """Lines computing the elementwise ``d`` (a ``Deriv``) into ``scratch`` with ufuncs
        and out=, or None when it has another form (it is then printed as an expression)."""
        if scratch is None or not isinstance(d, Deriv):
            return None
        z = sp.Dummy("z", real=True)
        arg = paren(self._print(d.arg))

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

        return chain(d.scalar(z))

    def _add_into(self, terms, target: str) -> list[str]:
        """Lines adding ``terms`` to ``target``, which already holds the rest of the sum.
        Two or more parameter vectors (biases b_i* + b_h*) are summed first: one pass over the
        target instead of one each."""
        terms = ordered_terms(terms)
        vectors = [t for t in terms if isinstance(t, sp.MatrixSymbol) and not isinstance(t, At)
                   and t.shape[1] == 1 and t not in self._settings["onehot"]]
        lines = []
        if len(vectors) > 1:
            lines.append(f"{target} += {' + '.join(self._print(v) for v in vectors)}")
            terms = [t for t in terms if t not in vectors]
        for term in terms:
            c = _coeff(term)
            negative = c.is_number and c < 0
            positive_term = -term if negative else term
            op = "-=" if negative else "+="
            if _is_leaf(positive_term) and positive_term in self._settings["onehot"]:
                if not negative:
                    raise NotImplementedError(f"a one-hot {term} is only subtracted in place")
                labels = self._settings["onehot"][positive_term]
                lines.append(f"{target}[numpy.arange(len({target})), {labels}] -= 1")
                continue
            scratch = self._settings["scratch"]
            if scratch is not None and isinstance(positive_term, sp.MatMul):
                product = self.print_into(positive_term, scratch)
                if len(product) == 1 and product[0].startswith(("numpy.matmul(", "numpy.take(")):
                    lines += [product[0], f"{target} {op} {scratch}"]
                    continue
            lines.append(f"{target} {op} {self._print(positive_term)}")
        return lines


def helper_name(act) -> str:
    """The generated module's function for ``act`` (``numpy_helper``): _sigmoid."""
    return f"_{act.name}"


def helpers_used(code: str) -> list[tuple[str, tuple[str, ...]]]:
    """(name, body lines) of every activation helper ``code`` calls, in registry order."""
    out = []
    for act in FUNCTIONS.values():
        if act.numpy_helper and f"{helper_name(act)}(" in code:
            out.append((helper_name(act), act.numpy_helper))
    return out


def _is_one(d) -> bool:
    """diag(1): the derivative of the identity."""
    if isinstance(d, Deriv):
        z = sp.Dummy("z")
        return d.scalar(z) == 1
    return False


def _rank(term) -> tuple:
    """Terms of a sum in a stable order: biases first, then products, then the rest."""
    if _is_leaf(term):
        kind = 0 if not isinstance(term, Grad) and term.shape[1] == 1 and \
            type(term) is sp.MatrixSymbol else 2
    elif isinstance(term, sp.MatMul):
        kind = 1
    else:
        kind = 3
    return (kind, sp.default_sort_key(term))


def ordered_terms(terms) -> list:
    return sorted(terms, key=_rank)


def print_batched(expr, names: dict, summed: bool = False, transposes: dict | None = None,
                  index: dict | None = None) -> str:
    """Print ``expr`` for row-batched arrays named by ``names`` (see the module docstring)."""
    return BatchedNumPyPrinter({"names": names, "summed": summed,
                                "transposes": transposes or {},
                                "index": index or {}}).doprint(expr)


def print_into(expr, target: str, names: dict, transposes: dict | None = None,
               new: bool = False, scratch: str | None = None,
               onehot: dict | None = None, index: dict | None = None) -> list[str]:
    """Lines writing ``expr`` into the array ``target`` (see the module docstring)."""
    return BatchedNumPyPrinter({"names": names, "transposes": transposes or {},
                                "scratch": scratch, "onehot": onehot or {},
                                "index": index or {}}).print_into(expr, target, new=new)
