"""Identities of matrix expressions for every size, decided in index form.

A matrix-level expression (``symrnn.naming`` objects, parameters, products, transposes,
diag, entrywise products and functions) is written entry by entry with symbolic indices:

    (A v)_i         = sum_k A[i, k] v[k]          k bound, ranging over A's columns
    (A^T)_{ij}      = A[j, i]
    diag(d)_{ij}    = delta(i, j) d[i]
    (u (.) v)_i     = u[i] v[i]
    f(u)_i          = f(u[i])

Sizes stay symbols (n_in, n_hidden, n_out), so an identity proved here holds for every size.
A sum of such terms is brought to a normal form by sound rewrites only: distributing products
over sums, summing a Kronecker delta over one of its indices (sum_k delta(k, j) f(k) = f(j) when
k and j range over the same size), a bound index that no factor uses becomes a factor equal to
its range, and bound indices are renamed canonically. Two expressions are equal for every
size when the normal form of their difference is empty. When it is not, nothing is
concluded here (the certificate then looks for a counterexample at an instance).

Rank-3 objects (the Jacobian of a vector with respect to a matrix) are written directly in
index form by ``jacobian_entry``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import sympy as sp

from ..naming import At, Grad, StepSum

from ..functions import Apply, Deriv, Softmax


@dataclass(frozen=True)
class Term:
    """coeff summed over the bound indices ((index, range), ...)."""

    coeff: sp.Expr
    bound: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()


@dataclass
class Context:
    """Fresh index names and the IndexedBase of every matrix-level leaf; ``general`` is the
    checking context objects with their own index form ask for definitions."""

    counter: itertools.count = field(default_factory=lambda: itertools.count())
    bases: dict = field(default_factory=dict)
    general: object = None
    #: functions of sums as opaque applications (False: as themselves, to differentiate;
    #: "piecewise": only a piecewise function such as relu opaque)
    opaque: bool | str = True

    def index(self) -> sp.Symbol:
        return sp.Symbol(f"k{next(self.counter)}", integer=True)

    def base(self, leaf) -> sp.IndexedBase:
        if leaf not in self.bases:
            # real: every entry of a parameter, a quantity or a gradient is a real number;
            # without it SymPy's tanh(tanh(...)) asks each argument for its real and imaginary
            # parts when it is built, which costs 3x per level of nesting
            self.bases[leaf] = sp.IndexedBase(_leaf_name(leaf), real=True)
        return self.bases[leaf]


def _leaf_name(leaf) -> str:
    if isinstance(leaf, Grad):
        return "grad_" + _leaf_name(leaf.of)
    if isinstance(leaf, At):
        return f"{leaf.name}({sp.sstr(leaf.step).replace(' ', '')})"
    return leaf.name


def _vector_entry(base, i, j):
    return base[i]


def to_index(expr, i, j, ctx: Context) -> list[Term]:
    """The (i, j) entry of a matrix expression as a sum of terms (j ignored for vectors)."""
    if isinstance(expr, (sp.MatrixSymbol, Grad)):
        b = ctx.base(expr)
        if expr.shape[1] == 1:  # a column vector: one index
            return [Term(b[i])]
        if expr.shape[0] == 1:  # a row vector: one index
            return [Term(b[j])]
        return [Term(b[i, j])]
    if isinstance(expr, sp.Transpose):
        return to_index(expr.arg, j, i, ctx)
    if isinstance(expr, sp.ZeroMatrix):
        return []
    if isinstance(expr, sp.OneMatrix):
        return [Term(sp.Integer(1))]
    if isinstance(expr, sp.Identity):
        return [Term(sp.KroneckerDelta(i, j))]
    if isinstance(expr, sp.MatAdd):
        return [t for a in expr.args for t in to_index(a, i, j, ctx)]
    if isinstance(expr, sp.MatMul):
        coeff, factors = expr.as_coeff_matrices()
        idx = [i] + [ctx.index() for _ in factors[1:]] + [j]
        terms = [Term(sp.sympify(coeff))]
        for n, f in enumerate(factors):
            part = to_index(f, idx[n], idx[n + 1], ctx)
            terms = _product(terms, part)
        bound = tuple((idx[n + 1], factors[n].shape[1]) for n in range(len(factors) - 1))
        return [Term(t.coeff, t.bound + bound) for t in terms]
    if isinstance(expr, sp.DiagMatrix):
        return [Term(sp.KroneckerDelta(i, j) * t.coeff, t.bound)
                for t in to_index(expr.args[0], i, 0, ctx)]
    if isinstance(expr, sp.HadamardProduct):
        terms = [Term(sp.Integer(1))]
        for a in expr.args:
            terms = _product(terms, to_index(a, i, j, ctx))
        return terms
    if isinstance(expr, sp.HadamardPower):
        terms = [Term(sp.Integer(1))]
        for _ in range(int(expr.exp)):
            terms = _product(terms, to_index(expr.base, i, j, ctx))
        return terms
    if isinstance(expr, Apply):
        from ..functions import FUNCTIONS
        arg = scalar(expr.arg, i, j, ctx)
        value = FUNCTIONS[expr.f].phi(sp.Dummy("z", real=True))
        if (ctx.opaque is True and (arg.has(sp.Sum) or value.has(sp.Piecewise))) or \
                (ctx.opaque == "piecewise" and value.has(sp.Piecewise)):
            # an opaque application: SymPy folds a Piecewise (relu) into the sums around it,
            # out of their scope; equal applications still compare equal
            return [Term(sp.Function(f"{expr.f}_of")(arg))]
        return [Term(FUNCTIONS[expr.f].phi(arg))]
    if isinstance(expr, Softmax):  # exp(o_i) / sum_k exp(o_k)
        k = ctx.index()
        total = sp.Sum(sp.exp(scalar(expr.arg, k, 0, ctx)), (k, 0, expr.arg.rows - 1))
        return [Term(sp.exp(scalar(expr.arg, i, 0, ctx)) / total)]
    if isinstance(expr, Deriv):
        arg = expr.arg
        if expr.from_output and isinstance(arg, Apply) and arg.f == expr.f \
                and output_form_is_derivative(expr.f):
            # f' written with f's output, at f's argument: the same as sympy.diff of f there
            from ..functions import FUNCTIONS
            return [Term(FUNCTIONS[expr.f].dphi(scalar(arg.arg, i, j, ctx)))]
        return [Term(expr.scalar(scalar(arg, i, j, ctx)))]
    if isinstance(expr, StepSum):
        raise NotImplementedError("a sum over steps is compared summand by summand")
    provider = getattr(expr, "index_terms", None)
    if provider is not None:  # objects that know their own index form (contractions)
        return provider(i, j, ctx)
    raise NotImplementedError(f"no index form for {type(expr).__name__}: {expr}")


_OUTPUT_FORM: dict[str, bool] = {}


def output_form_is_derivative(f: str) -> bool:
    """Does f's derivative written with its output (1 - h^2 for tanh) equal ``sympy.diff``
    of f, as functions of one variable? Proved once per function by SymPy."""
    if f not in _OUTPUT_FORM:
        from ..functions import FUNCTIONS
        act = FUNCTIONS[f]
        w = sp.Dummy("w", real=True)
        ok = False
        if act.dphi_from_h is not None:
            d = act.dphi_from_output(act.phi(w)) - act.dphi(w)
            ok = sp.simplify(sp.piecewise_fold(d)) == 0
        _OUTPUT_FORM[f] = ok
    return _OUTPUT_FORM[f]


def scalar(expr, i, j, ctx: Context) -> sp.Expr:
    """The (i, j) entry as one SymPy expression (sums as ``Sum``, for inside a function)."""
    out = sp.Integer(0)
    for t in to_index(expr, i, j, ctx):
        e = t.coeff
        for k, n in t.bound:
            e = sp.Sum(e, (k, 0, n - 1))
        out += e
    return out


def from_sympy(expr, ctx: Context) -> list[Term]:
    """An index-form SymPy expression (``Sum`` with limits (k, 0, n - 1), products, sums) as
    terms; every bound index is renamed to a fresh one."""
    out: list[Term] = []
    for add in sp.Add.make_args(_expand(expr)):
        terms = [Term(sp.Integer(1))]
        for f in sp.Mul.make_args(add):
            if isinstance(f, sp.Sum):
                inner = f.function
                bound = []
                for k, lo, hi in f.limits:
                    if lo != 0:
                        raise NotImplementedError(f"a sum from {lo}: {f}")
                    fresh = ctx.index()
                    inner = inner.xreplace({k: fresh})
                    bound.append((fresh, hi + 1))
                part = [Term(t.coeff, t.bound + tuple(bound)) for t in from_sympy(inner, ctx)]
                terms = _product(terms, part)
            else:
                terms = [Term(t.coeff * f, t.bound) for t in terms]
        out += terms
    return out


def shift_terms(terms: list[Term], factor) -> list[Term]:
    return [Term(t.coeff * factor, t.bound) for t in terms]


def _product(a: list[Term], b: list[Term]) -> list[Term]:
    return [Term(x.coeff * y.coeff, x.bound + y.bound) for x in a for y in b]


# ---------------------------------------------------------------------- normal form

def _expand(e: sp.Expr) -> sp.Expr:
    """Products distributed over sums, at the top level only (exp(a + b) stays as it is)."""
    return sp.expand(e, deep=False, power_exp=False, power_base=False, log=False,
                     multinomial=True, mul=True)


def _monomials(term: Term) -> list[Term]:
    expanded = _expand(term.coeff)
    return [Term(m, term.bound) for m in sp.Add.make_args(expanded) if m != 0]


def _collapse(term: Term) -> Term | None:
    """Sum out every Kronecker delta with a bound index (None when the term vanishes)."""
    coeff, bound = term.coeff, dict(term.bound)
    changed = True
    while changed:
        changed = False
        for d in coeff.atoms(sp.KroneckerDelta):
            a, b = d.args
            for x, y in ((a, b), (b, a)):
                if x in bound and (y not in bound or bound[y] == bound[x]) and \
                        (y in bound or _same_range(x, y, bound)):
                    coeff = coeff.xreplace({x: y})
                    del bound[x]
                    changed = True
                    break
            if changed:
                break
        if coeff == 0:
            return None
    # a bound index no factor uses: the sum is its range times the rest
    for k in [k for k in bound if not coeff.has(k)]:
        coeff = coeff * bound.pop(k)
    return Term(coeff, tuple(sorted(bound.items(), key=lambda kv: kv[0].name)))


def _same_range(x, y, bound) -> bool:
    """A free index y stands for an entry of a vector of the bound index's range: the caller
    guarantees free indices range over the sizes of the entry they index (checked by the
    shapes of the two sides)."""
    return True


def _canon_sums(e: sp.Expr) -> sp.Expr:
    """Sums inside functions (the softmax's denominator) with their index renamed by depth,
    so two copies of the same sum compare equal."""
    def rename(x, depth=0):
        if isinstance(x, (sp.Sum, sp.Product)):
            inner = rename(x.function, depth + 1)
            limits = []
            for n, (k, lo, hi) in enumerate(x.limits):
                new = sp.Symbol(f"s{depth}_{n}", integer=True)
                inner = inner.xreplace({k: new})
                limits.append((new, lo, hi))
            return x.func(inner, *limits)
        if not x.args:
            return x
        args = [rename(a, depth) for a in x.args]
        return x.func(*args) if any(a is not b for a, b in zip(args, x.args)) else x
    return rename(e) if e.has(sp.Sum) else e


def _canonical(term: Term) -> tuple[str, sp.Expr, Term]:
    """(key, numeric coefficient, term with canonical bound names)."""
    num, rest = _canon_sums(term.coeff).as_coeff_Mul()
    names = [k for k, _ in term.bound]
    best = None
    for perm in itertools.permutations(range(len(names))):
        rename = {names[p]: sp.Symbol(f"b{n}", integer=True) for n, p in enumerate(perm)}
        e = rest.xreplace(rename)
        dims = tuple(sorted((rename[k].name, sp.sstr(n)) for k, n in term.bound))
        key = sp.srepr(e) + "|" + repr(dims)
        if best is None or key < best[0]:
            best = (key, Term(e, tuple((rename[k], n) for k, n in term.bound)))
        if len(names) > 5:
            break
    return best[0], num, best[1]


def normal_form(terms: list[Term], one_hot: tuple = ()) -> dict[str, tuple[sp.Expr, Term]]:
    """key -> (total coefficient, term); zero coefficients dropped. ``one_hot`` lists the
    IndexedBase of vectors known to be one-hot: a bound index that only such a vector's entry
    uses sums to 1. The terms without bound indices are also simplified together (functions
    of single entries, as the derivative of a sigmoid)."""
    out: dict[str, list] = {}
    for t in terms:
        for m in _monomials(t):
            c = _collapse(m)
            if c is None:
                continue
            c = _sum_one_hot(c, one_hot)
            for m2 in _monomials(c):  # substitution may create new monomials
                key, num, canon = _canonical(m2)
                if key in out:
                    out[key][0] += num
                else:
                    out[key] = [num, canon]
    result = {k: (v[0], v[1]) for k, v in out.items() if sp.simplify(v[0]) != 0}
    free = [k for k, (_c, t) in result.items() if not t.bound]
    if len(free) > 1 or (free and result[free[0]][1].coeff.has(sp.Function)):
        total = sp.Add(*[result[k][0] * result[k][1].coeff for k in free])
        if _simplifies_to_zero(total):
            for k in free:
                del result[k]
    return result


def _simplifies_to_zero(e: sp.Expr) -> bool:
    """Functions of single entries (a sigmoid's derivative) that cancel; a sum inside one of
    them is left to the structural comparison (SymPy's simplify fails on some)."""
    if e.has(sp.Sum):
        return False
    try:
        return sp.simplify(e) == 0
    except (StopIteration, TypeError, ValueError, NotImplementedError):
        return False


def _sum_one_hot(term: Term, one_hot: tuple) -> Term:
    """sum_k y[k] = 1 for a one-hot y, when nothing else in the term uses k."""
    if not one_hot:
        return term
    coeff, bound = term.coeff, dict(term.bound)
    for k in list(bound):
        uses = [f for f in sp.Mul.make_args(coeff) if f.has(k)]
        if len(uses) == 1 and isinstance(uses[0], sp.Indexed) and uses[0].base in one_hot \
                and uses[0].indices == (k,):
            coeff = coeff / uses[0]
            del bound[k]
    return Term(coeff, tuple(bound.items()))


def equal_for_every_size(lhs, rhs, ctx: Context | None = None) -> bool:
    """True when ``lhs`` and ``rhs`` (matrix expressions of the same shape) have the same
    normal form entry by entry, with the entry indices symbolic: an identity for every size.
    False means only that no proof was found."""
    if lhs.shape != rhs.shape:
        return False
    ctx = ctx or Context()
    i, j = sp.Symbol("i", integer=True), sp.Symbol("j", integer=True)
    diff = to_index(lhs, i, j, ctx) + [Term(-t.coeff, t.bound) for t in to_index(rhs, i, j, ctx)]
    return not normal_form(diff)


def entries_equal(lhs_terms: list[Term], rhs_terms: list[Term]) -> bool:
    """Two index forms of the same entry are equal for every size."""
    diff = lhs_terms + [Term(-t.coeff, t.bound) for t in rhs_terms]
    return not normal_form(diff)
