"""The naive route, as ground truth: ``sympy.diff`` of the fully composed loss, and an exact
comparison with the derivation's gradients that stays fast as the composed expressions grow.

The comparison is exact (never a numeric probe):

1. every function application (phi(...), tanh(...), Subs(phi'(z), z, ...), log(...)) becomes
   a fresh symbol, the same symbol for structurally equal applications on both sides; exp of
   a sum is split into a product of powers, exp(2 u - v) -> E_u^2 E_v^-1, because SymPy
   rewrites exp(u)^2 as exp(2 u) on one side and not on the other;
2. the difference is then a rational function of independent symbols; it is put over one
   denominator in SymPy's sparse polynomial ring, and it is zero exactly when the numerator
   is the zero polynomial.

If the difference with independent symbols is zero, it stays zero when the symbols are
given back their meaning, so a pass proves the identity; a failure either shows a real
difference or an identity between function values.
"""

from __future__ import annotations

import contextlib
import dataclasses

import sympy as sp
from sympy.polys.rings import ring

from .derive import Derivation
from .graph import Graph, _point_derivatives, compose


# ---------------------------------------------------------------- atoms

class Atoms:
    """Function applications -> symbols, one table shared by every expression compared."""

    def __init__(self):
        self.table: dict[object, sp.Symbol] = {}

    def _atom(self, key) -> sp.Symbol:
        if key not in self.table:
            self.table[key] = sp.Symbol(f"F{len(self.table)}")
        return self.table[key]

    def _exp(self, arg, walk) -> sp.Expr:
        out = sp.Integer(1)
        for term in sp.Add.make_args(arg):
            coeff, rest = term.as_coeff_Mul()
            if coeff.is_Integer:
                out *= self._atom(("exp", walk(rest))) ** int(coeff)
            else:
                out *= self._atom(("exp", walk(term)))
        return out

    def __call__(self, expr: sp.Expr) -> sp.Expr:
        memo: dict = {}

        def walk(e):
            r = memo.get(e)
            if r is not None:
                return r
            if isinstance(e, sp.exp):
                r = self._exp(e.args[0], walk)
            elif isinstance(e, (sp.Function, sp.Derivative, sp.Subs)):
                r = self._atom(e)
            elif e.args:
                r = e.func(*[walk(a) for a in e.args])
            else:
                r = e
            memo[e] = r
            return r

        return walk(sp.sympify(expr))


# ---------------------------------------------------------------- rational zero test

class RationalZero:
    """Is a rational function of independent symbols identically zero? Numerators are sparse
    polynomials over QQ; denominators are kept as products of powers of polynomials."""

    def __init__(self, symbols):
        gens = sorted(symbols, key=str) or [sp.Symbol("_unused")]
        self.R, *gen_elems = ring(gens, sp.QQ)
        self.gen = dict(zip(gens, gen_elems))
        self.bases: list = []
        self.base_id: dict = {}
        self.memo: dict = {}

    def _base(self, p) -> int:
        key = frozenset(p.items())
        if key not in self.base_id:
            self.base_id[key] = len(self.bases)
            self.bases.append(p)
        return self.base_id[key]

    def _over(self, num, den: dict, target: dict):
        for i, k in target.items():
            if k > den.get(i, 0):
                num = num * self.bases[i] ** (k - den.get(i, 0))
        return num

    def _add(self, a, b):
        den = dict(a[1])
        for i, k in b[1].items():
            den[i] = max(den.get(i, 0), k)
        return self._over(a[0], a[1], den) + self._over(b[0], b[1], den), den

    @staticmethod
    def _mul(a, b):
        den = dict(a[1])
        for i, k in b[1].items():
            den[i] = den.get(i, 0) + k
        return a[0] * b[0], den

    def convert(self, e):
        """(numerator, {denominator base: power}) of ``e``."""
        r = self.memo.get(e)
        if r is not None:
            return r
        if e.is_Symbol:
            r = (self.gen[e], {})
        elif e.is_Rational:
            r = (self.R(e), {})
        elif e.is_Add or e.is_Mul:
            parts = [self.convert(a) for a in e.args]
            r = parts[0]
            for p in parts[1:]:
                r = self._add(r, p) if e.is_Add else self._mul(r, p)
        elif e.is_Pow and e.exp.is_Integer:
            num, den = self.convert(e.base)
            n = int(e.exp)
            if n >= 0:
                r = (num ** n, {i: k * n for i, k in den.items()})
            else:
                top = self.R(1)
                for i, k in den.items():
                    top = top * self.bases[i] ** (-k * n)
                r = (top, {self._base(num): -n})
        else:
            raise TypeError(f"not a rational function of its atoms: {type(e).__name__}: {e}")
        self.memo[e] = r
        return r

    def is_zero(self, e) -> bool:
        return self.convert(e)[0] == 0


def equal(a: sp.Expr, b: sp.Expr, atoms: Atoms | None = None) -> bool:
    """Exactly: is a == b? (see the module docstring)"""
    atoms = atoms or Atoms()
    a, b = atoms(a), atoms(b)
    if a == b:
        return True
    diff = a - b
    return RationalZero(diff.free_symbols).is_zero(diff)


# ---------------------------------------------------------------- the comparison

def composed_gradients(graph, derivation) -> dict:
    """Every node and gradient symbol, composed down to the leaves (what
    ``compose(graph, derivation.expand(grad))`` gives, built once over the shared
    subexpressions)."""
    full: dict = {}
    for s in graph.order:
        full[s] = _point_derivatives(graph.defs[s]).xreplace(full)
    for a in derivation.order:
        full[a] = _point_derivatives(derivation.defs[a]).xreplace(full)
    return full


def matches_composed_diff(graph: Graph, derivation: Derivation) -> bool:
    """Every gradient of the derivation (parameters, symbolic initial values) equals
    ``sympy.diff`` of the fully composed loss, exactly."""
    loss = compose(graph, graph.L)
    full = composed_gradients(graph, derivation)
    atoms = Atoms()
    return all(equal(sp.diff(loss, s), full[derivation.adj[s]], atoms) for s in graph.leaves)


# ---------------------------------------------------------------- generic functions

@contextlib.contextmanager
def generic_functions(names):
    """Within the block, each registered function in ``names`` (the sigmoid and tanh of a
    gated cell) is an undefined SymPy function, its derivative an undefined derivative.

    An identity between the derivation and ``sympy.diff`` of the composed loss that holds for
    undefined functions holds for every choice of them (the chain rule never looks inside a
    function), and the comparison no longer expands sigma(a) = 1/(1 + exp(-a)) into rational
    functions of exponentials, whose common denominators grow very fast with tau."""
    from .. import functions as F
    saved = {n: F.FUNCTIONS[n] for n in names}
    try:
        for n in names:
            F.FUNCTIONS[n] = dataclasses.replace(
                saved[n], phi=sp.Function(f"{n}_generic", real=True), dphi_from_h=None,
                numpy=None, symbolic_only=True)
        yield
    finally:
        F.FUNCTIONS.update(saved)


# ---------------------------------------------------------------- forward accumulation

#: The prime of the randomized identity test (a Mersenne prime, 2^61 - 1).
PRIME = (1 << 61) - 1


class ModularPoint:
    """Exact evaluation modulo ``PRIME`` at a random point, for an identity test.

    Every symbol gets a value from a keyed hash of its name and the seed; a function
    application gets a value from a keyed hash of the function and its argument's value (so
    the same application on two sides gets the same value, and each function is a random
    function); a derivative of a function likewise, by its order. exp of a sum is split
    into powers of its terms' values, so exp(2 u) = exp(u)^2 and exp(u + v) = exp(u) exp(v)
    hold as they do for exp. A derivative that SymPy writes through the function itself
    (tanh' = 1 - tanh^2) is then the same expression of the same value on both sides.

    Two rational functions of independent symbols that differ differ at a random point
    modulo a large prime except with probability at most (degree / PRIME) (Schwartz-Zippel):
    a pass at two points is an identity except with probability below 1e-24 for the
    degrees met here; a failure is certain.
    """

    def __init__(self, seed: int):
        self.seed = seed
        self.memo: dict = {}

    def rand(self, *key) -> int:
        import hashlib
        h = hashlib.blake2b(repr((self.seed,) + key).encode(), digest_size=16).digest()
        return int.from_bytes(h, "big") % (PRIME - 1) + 1

    def __call__(self, e) -> int:
        r = self.memo.get(e)
        if r is None:
            r = self.memo[e] = self._value(e)
        return r

    def _value(self, e) -> int:
        P = PRIME
        if e.is_Symbol:
            return self.rand("symbol", e.name)
        if e.is_Integer:
            return int(e) % P
        if e.is_Rational:
            return int(e.p) * pow(int(e.q), -1, P) % P
        if e.is_Add:
            return sum(self(a) for a in e.args) % P
        if e.is_Mul:
            out = 1
            for a in e.args:
                out = out * self(a) % P
            return out
        if e.is_Pow and e.exp.is_Integer:
            b, n = self(e.base), int(e.exp)
            if n < 0:
                if b == 0:
                    raise ZeroDivisionError("a denominator vanishes at the point")
                b, n = pow(b, -1, P), -n
            return pow(b, n, P)
        if isinstance(e, sp.exp):
            out = 1
            for term in sp.Add.make_args(e.args[0]):
                c, rest = term.as_coeff_Mul()
                if c.is_Integer:
                    out = out * pow(self.rand("exp", self(rest)), int(c) % (P - 1), P) % P
                else:
                    out = out * self.rand("exp", self(term)) % P
            return out
        if isinstance(e, sp.Subs) and isinstance(e.expr, sp.Derivative) \
                and len(e.variables) == 1 and len(e.expr.expr.args) == 1:
            order = tuple(n for _, n in e.expr.variable_count)
            return self.rand("derivative", str(e.expr.expr.func), order, self(e.point[0]))
        if isinstance(e, sp.Derivative) and isinstance(e.expr, sp.Function) \
                and len(e.expr.args) == 1 and len(e.variable_count) == 1 \
                and e.variable_count[0][0] == e.expr.args[0]:
            return self.rand("derivative", str(e.expr.func), (e.variable_count[0][1],),
                             self(e.expr.args[0]))
        if isinstance(e, sp.Function):
            return self.rand("function", str(e.func), tuple(self(a) for a in e.args))
        raise TypeError(f"no modular value for {type(e).__name__}: {e}")


def forward_matches_reverse(graph: Graph, derivation: Derivation,
                            seeds: tuple[int, ...] = (1, 2)) -> bool:
    """Every gradient of the derivation (reverse accumulation: each node's gradient from its
    consumers') equals forward accumulation over the same graph (each node's tangent with
    respect to every leaf from its inputs' tangents), both with their own partials by
    ``sympy.diff`` of the local definitions, compared exactly modulo ``PRIME`` at random
    points (``ModularPoint``). Linear in the graph, so it runs where ``sympy.diff`` of the
    composed loss would take hours."""
    leaves = graph.leaves
    index = {s: k for k, s in enumerate(leaves)}
    partials = {}
    for n in graph.order:
        d = graph.defs[n]
        partials[n] = [(v, _point_derivatives(sp.diff(d, v)))
                       for v in sorted(d.free_symbols, key=lambda v: v.name)]
    for seed in seeds:
        at = ModularPoint(seed)
        for n in graph.order:  # node symbols take their definitions' values
            at.memo[n] = at(graph.defs[n])
        tangent: dict = {s: {k: 1} for s, k in index.items()}
        for n in graph.order:
            out: dict = {}
            for v, p in partials[n]:
                tv = tangent.get(v)
                if not tv:
                    continue
                pv = at(p)
                if pv == 0:
                    continue
                for k, x in tv.items():
                    out[k] = (out.get(k, 0) + pv * x) % PRIME
            tangent[n] = out
        loss = tangent.get(graph.L, {})
        values = at.memo  # gradient symbols take their definitions' values
        for a in derivation.order:
            values[a] = at(derivation.defs[a])
        for s, k in index.items():
            if values[derivation.adj[s]] != loss.get(k, 0) % PRIME:
                return False
    return True
