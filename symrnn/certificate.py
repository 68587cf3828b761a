"""The certificate: every formula of the note, encoded as printed, checked against the derivation.

Each catalogue entry has an id, the LaTeX as printed in the note, a builder that encodes it as
printed (same factors, same order, same index ranges), and readings to try when the printed
form does not hold. A status always comes out of a check that can say no:

* ``confirmed``: SymPy reduces (formula - derived) to zero, entry by entry (an exact identity);
* ``refuted``: it does not, and a concrete point shows the two values differ;
* ``ill-formed``: the formula does not type-check with column vectors (a ShapeError from the
  matrix product, or a rank-3 Jacobian inside a matrix product);
* ``not-applicable``: the formula needs a step the chosen tau does not have (L(3) for tau < 3).

Symbols in a formula stand for the true values of the nodes they name (grad_h(t+1) L is the
derived adjoint of h(t+1)); checks substitute one level of definitions (h = phi(a),
y^ = out(o), adjoints not taken as given) and ask SymPy whether the difference vanishes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

import sympy as sp

from .derive import Derivation, derive, gc_paused as _gc_paused, is_zero
from .functions import ACTIVATIONS, LOSSES
from .graph import Graph, unroll
from .spec import RNNSpec


class IllFormed(Exception):
    """A printed formula that does not type-check; the message says why."""


# ------------------------------------------------------------------ algebra helpers

def product(*factors) -> sp.Matrix:
    """The matrix product of ``factors`` as printed, refusing what is not a matrix product."""
    for f in factors:
        if isinstance(f, sp.NDimArray) and f.rank() != 2:
            raise IllFormed(f"a Jacobian of rank {f.rank()} (shape "
                            f"{' x '.join(map(str, f.shape))}) stands in a matrix product")
    out = None
    for f in factors:
        f = f.tomatrix() if isinstance(f, sp.NDimArray) else f
        if out is None:
            out = f
            continue
        if out.shape[1] != f.shape[0]:
            raise IllFormed(f"shapes {out.shape[0]}x{out.shape[1]} and {f.shape[0]}x{f.shape[1]} "
                            f"do not multiply")
        out = _mul(out, f)
    return out


def _mul(A: sp.Matrix, B: sp.Matrix) -> sp.Matrix:
    """A B entry by entry, skipping zero terms (SymPy's generic product is slow on symbols)."""
    n = A.shape[1]
    return sp.Matrix(A.shape[0], B.shape[1],
                     lambda i, j: sp.Add(*[A[i, k] * B[k, j] for k in range(n)
                                           if A[i, k] != 0 and B[k, j] != 0]))


def add(*terms) -> sp.Matrix:
    """Sum of matrices of equal shape (IllFormed otherwise)."""
    out = terms[0]
    for t in terms[1:]:
        if out.shape != t.shape:
            raise IllFormed(f"adding a {out.shape[0]}x{out.shape[1]} to a "
                            f"{t.shape[0]}x{t.shape[1]} matrix")
        out = out + t
    return out


def msum(terms: Iterable[sp.Matrix], shape: tuple[int, int]) -> sp.Matrix:
    """sum_t of matrices, built as one Add per entry (linear in the number of terms)."""
    terms = list(terms)
    for t in terms:
        if t.shape != shape:
            raise IllFormed(f"a {t.shape[0]}x{t.shape[1]} term in a sum of "
                            f"{shape[0]}x{shape[1]} matrices")
    return sp.Matrix(*shape, lambda i, j: sp.Add(*[t[i, j] for t in terms]))


def contract(row: sp.Matrix, tensor: sp.NDimArray) -> sp.Matrix:
    """sum_i row_i * tensor[i, ...]: the reading of 'row . rank-3 Jacobian'."""
    n = tensor.shape[0]
    if row.shape != (1, n):
        raise IllFormed(f"contracting a {row.shape[0]}x{row.shape[1]} row with a Jacobian of "
                        f"leading size {n}")
    rest = tensor.shape[1:]
    return sp.Matrix(*rest, lambda p, q: sp.Add(*[row[0, i] * tensor[i, p, q] for i in range(n)]))


def diag(v: sp.Matrix) -> sp.Matrix:
    return sp.diag(*list(v))


# ------------------------------------------------------------------ checking context

@dataclass
class Claim:
    """``truth == formula`` entry by entry; ``given`` adjoint symbols are not expanded."""

    truth: sp.Matrix
    formula: sp.Matrix
    label: str
    given: frozenset = frozenset()
    key: tuple | None = None  # claims shared between entries are decided once


class Context:
    """What builders see: the graph, the derivation, Jacobians by ``sympy.diff``."""

    def __init__(self, spec: RNNSpec, graph: Graph | None = None, derivation: Derivation | None = None):
        self.spec = spec
        self.g = graph or unroll(spec)
        self.d = derivation or derive(self.g)
        self.act = ACTIVATIONS[spec.activation]
        self.loss = LOSSES[spec.loss]
        self.fwd = self.g.forward_subs()
        self._point: dict | None = None
        self.cache: dict = {}

    # nodes and adjoints
    def node(self, kind: str, t: int) -> sp.Matrix:
        return self.g.h[0] if (kind == "h" and t == 0) else self.g.node(kind, t)

    def grad(self, kind: str, t: int) -> sp.Matrix:
        return self.d.node_grad(kind, t)

    def P(self, name: str) -> sp.Matrix:
        return self.g.params[name]

    def one_minus_h2(self, t: int) -> sp.Matrix:
        """diag(1 - (h(t))^2) as printed in the note (tanh's Jacobian)."""
        return diag(self.node("h", t).applyfunc(lambda v: 1 - v**2))

    def dphi(self, t: int) -> sp.Matrix:
        """diag(phi'(a(t))) with phi' from ``sympy.diff`` (the generic-phi reading)."""
        z = sp.Dummy("z", real=True)
        d = sp.diff(self.act.phi(z), z)
        return diag(self.node("a", t).applyfunc(lambda v: d.subs(z, v)))

    # Jacobians by sympy.diff of local definitions (numerator layout: out x in)
    def local_jacobian(self, out: sp.Matrix, inp: sp.Matrix) -> sp.Matrix:
        return sp.Matrix(len(out), len(inp), lambda i, j: self.d.partial(out[i], inp[j]))

    def jacobian(self, out_kind: str, t_out: int, in_kind: str, t_in: int) -> sp.Matrix:
        """d out / d in through the graph's direct path (chain rule over local Jacobians)."""
        key = ("jacobian", out_kind, t_out, in_kind, t_in)
        if key not in self.cache:
            self.cache[key] = self._jacobian(out_kind, t_out, in_kind, t_in)
        return self.cache[key]

    def _jacobian(self, out_kind: str, t_out: int, in_kind: str, t_in: int) -> sp.Matrix:
        path = {("L", "o"): ["L", "yhat", "o"], ("o", "h"): ["o", "h"],
                ("h", "h"): ["h", "a", "h"], ("h", "a"): ["h", "a"]}[(out_kind, in_kind)]
        steps = [t_out] * (len(path) - 1) + [t_in]
        mats = [self.local_jacobian(self.node(path[i], steps[i]), self.node(path[i + 1], steps[i + 1]))
                for i in range(len(path) - 1)]
        out = mats[0]
        for m in mats[1:]:
            out = _mul(out, m)
        return out

    def param_jacobian(self, kind: str, t: int, param: str) -> sp.NDimArray:
        """d node(t) / d P with the node's other inputs held fixed: a rank-3 array
        (node entries x P's rows x P's columns)."""
        key = ("param_jacobian", kind, t, param)
        if key not in self.cache:
            self.cache[key] = self._param_jacobian(kind, t, param)
        return self.cache[key]

    def _param_jacobian(self, kind: str, t: int, param: str) -> sp.NDimArray:
        P = self.P(param)
        if kind == "h" and t == 0:
            return sp.MutableDenseNDimArray.zeros(len(self.g.h[0]), *P.shape)
        if kind == "h":  # through a(t): diag(phi'(a)) . da/dP
            out, via = self.node("h", t), self.node("a", t)
            inner = [[[self.d.partial(via[m], P[p, q]) for q in range(P.shape[1])]
                      for p in range(P.shape[0])] for m in range(len(via))]
            outer = self.local_jacobian(out, via)
            return sp.MutableDenseNDimArray(
                [[[sp.Add(*[outer[i, m] * inner[m][p][q] for m in range(len(via))])
                   for q in range(P.shape[1])] for p in range(P.shape[0])] for i in range(len(out))])
        node = self.node(kind, t)
        return sp.MutableDenseNDimArray(
            [[[self.d.partial(node[i], P[p, q]) for q in range(P.shape[1])]
              for p in range(P.shape[0])] for i in range(len(node))])

    def memo(self, key: tuple, build: Callable[[], "Claim"]) -> "Claim":
        """A claim built once per context (shared by several entries)."""
        full = ("claim",) + key
        if full not in self.cache:
            self.cache[full] = build()
        return self.cache[full]

    # deciding a claim
    def difference(self, claim: Claim, i: int) -> sp.Expr:
        return self.d.reduce(claim.formula[i] - claim.truth[i], set(claim.given), self.fwd)

    def holds(self, claim: Claim) -> bool:
        if claim.truth.shape != claim.formula.shape:
            raise IllFormed(f"the formula is {claim.formula.shape[0]}x{claim.formula.shape[1]} "
                            f"but {claim.label} is {claim.truth.shape[0]}x{claim.truth.shape[1]}")
        if claim.key is not None and claim.key in self.cache:
            return self.cache[claim.key]
        result = all(is_zero(self.difference(claim, i)) for i in range(len(claim.truth)))
        if claim.key is not None:
            self.cache[claim.key] = result
        return result

    # counterexamples
    def point(self) -> dict:
        """A concrete rational point (parameters, inputs, h(0), targets) and every node's and
        adjoint's value there, at 50 digits."""
        if self._point is None:
            rng = random.Random(20261127)
            leaves = {}
            for s in self.g.leaves + [v for t in self.g.x for v in self.g.x[t]]:
                leaves[s] = sp.Rational(rng.randint(-8, 8), 8)
            for t, y in self.g.targets.items():
                for s in y:
                    if isinstance(s, sp.Symbol):
                        leaves[s] = sp.Rational(rng.randint(1, 7), 8)
            values = dict(leaves)
            z = sp.Dummy("z")
            phi_sub = {}
            if self.act.name == "phi":  # an undefined phi: take a concrete instance
                phi_sub = {sp.Function("phi", real=True): sp.Lambda(z, sp.sin(z))}
            self._phi_sub = phi_sub

            def ev(expr):
                e = sp.sympify(expr)
                if phi_sub:
                    e = e.subs(phi_sub).doit()
                return sp.N(e.xreplace(values), 50)

            for s in self.g.order:
                values[s] = ev(self.g.defs[s])
            for s in self.d.order:
                values[s] = ev(self.d.defs[s])
            self._point = {"leaves": leaves, "values": values, "ev": ev}
        return self._point

    def counterexample(self, claim: Claim) -> dict | None:
        p = self.point()
        for i in range(len(claim.truth)):
            truth, formula = p["ev"](claim.truth[i]), p["ev"](claim.formula[i])
            if abs(truth - formula) > sp.Float("1e-30", 50):
                syms = sorted((claim.truth[i] - claim.formula[i]).free_symbols |
                              set(claim.formula[i].free_symbols), key=lambda s: s.name)
                return {
                    "claim": claim.label,
                    "entry": i,
                    "formula_value": f"{sp.N(formula, 15)}",
                    "true_value": f"{sp.N(truth, 15)}",
                    "point": "rational parameters and inputs from random.Random(20261127) in "
                             "{-1, -7/8, ..., 1}" + (", phi = sin" if self._phi_sub else ""),
                    "at": {s.name: f"{sp.N(p['values'][s], 12)}" for s in syms[:8]
                           if s in p["values"]},
                }
        return None


# ------------------------------------------------------------------ catalogue

Builder = Callable[[Context], list[Claim]]


@dataclass(frozen=True)
class Formula:
    id: str
    part: str
    title: str
    printed: str
    text: str
    build: Builder
    readings: tuple[tuple[str, str, Builder], ...] = ()
    needs_tau: int = 1


def _steps(c: Context, lo: int = 1, hi: int | None = None) -> range:
    return range(lo, (c.spec.tau if hi is None else hi) + 1)


def _phi_vec(c: Context, v: sp.Matrix) -> sp.Matrix:
    return v.applyfunc(c.act.phi)


# forward ------------------------------------------------------------

def _def(c: Context, kind: str, t: int) -> sp.Matrix:
    return c.node(kind, t).applyfunc(lambda s: c.g.defs[s])


def _forward(kind_lhs: str, rhs: Callable[[Context, int], sp.Matrix]) -> Builder:
    def build(c: Context) -> list[Claim]:
        claims = []
        for t in _steps(c):
            lhs = _def(c, kind_lhs, t)
            if kind_lhs == "h":  # h(t) is phi(a(t)): compare through a(t)'s definition
                lhs = lhs.xreplace({s: c.g.defs[s] for s in c.node("a", t)})
            claims.append(Claim(lhs, rhs(c, t), f"{kind_lhs}({t})"))
        return claims
    return build


def _hidden_generic(c, t):
    return _phi_vec(c, add(product(c.P("U"), c.node("x", t)), product(c.P("W"), c.node("h", t - 1)),
                           c.P("b")))


def _a_108(c, t):
    return add(c.P("b"), product(c.P("W"), c.node("h", t - 1)), product(c.P("U"), c.node("x", t)))


def _h_109(c, t):
    return _def(c, "a", t).applyfunc(sp.tanh)


def _h_phi(c, t):
    return _phi_vec(c, _def(c, "a", t))


def _o_generic(c, t):
    return add(product(c.P("V"), c.node("h", t)), c.P("c"))


def _o_1010(c, t):
    return add(c.P("c"), product(c.P("V"), c.node("h", t)))


def _yhat_softmax(c, t):
    o = list(c.node("o", t))
    s = sp.Add(*[sp.exp(v) for v in o])
    return sp.Matrix([sp.exp(v) / s for v in o])


def _yhat_out(c, t):
    return sp.Matrix(c.loss.output(list(c.node("o", t))))


# loss ---------------------------------------------------------------

def _label(c: Context, t: int) -> int:
    if c.loss.target != "class":
        raise IllFormed(f"y(t) is a target vector for loss {c.loss.name}, not a class index, "
                        f"so y^(t)[y(t)] and 1_(i,y(t)) have no meaning")
    return c.spec.class_labels[t - 1]


def b_loss_total(c):
    return [Claim(sp.Matrix([c.g.defs[c.g.L]]), sp.Matrix([sp.Add(*c.g.L_t.values())]), "L")]


def b_loss_nll(c):
    return [Claim(sp.Matrix([c.g.defs[c.g.L_t[t]]]),
                  sp.Matrix([-sp.log(c.node("yhat", t)[_label(c, t)])]), f"L({t})")
            for t in _steps(c)]


def r_loss_own(c):
    return [Claim(sp.Matrix([c.g.L_t[t]]),
                  sp.Matrix([c.loss.per_step(list(c.node("yhat", t)), c.g.targets[t])]), f"L({t})")
            for t in _steps(c)]


# BPTT, second part -------------------------------------------------

def b_dL_dLt(c):
    return [Claim(c.grad("L", t), sp.Matrix([1]), f"dL/dL({t})") for t in _steps(c)]


def b_grad_o(c):
    return [Claim(c.grad("o", t),
                  sp.Matrix([c.node("yhat", t)[i] - (1 if i == _label(c, t) else 0)
                             for i in range(c.spec.n_out)]), f"grad_o({t}) L") for t in _steps(c)]


def r_grad_o_vector(c):
    return [Claim(c.grad("o", t), c.node("yhat", t) - sp.Matrix(c.g.targets[t]), f"grad_o({t}) L")
            for t in _steps(c)]


def _given(*mats: sp.Matrix) -> frozenset:
    return frozenset(s for m in mats for s in m)


def b_grad_h_tau(c):
    tau = c.spec.tau
    go = c.grad("o", tau)
    return [Claim(c.grad("h", tau), product(c.P("V").T, go), f"grad_h({tau}) L", _given(go))]


def b_grad_h_jacobian(c):
    claims = []
    for t in _steps(c, 1, c.spec.tau - 1):
        gh1, go = c.grad("h", t + 1), c.grad("o", t)
        f = add(product(c.jacobian("h", t + 1, "h", t).T, gh1),
                product(c.jacobian("o", t, "h", t).T, go))
        claims.append(Claim(c.grad("h", t), f, f"grad_h({t}) L", _given(gh1, go)))
    return claims


def _grad_h_rec(order: str, tanh: bool) -> Builder:
    def build(c: Context) -> list[Claim]:
        claims = []
        for t in _steps(c, 1, c.spec.tau - 1):
            gh1, go = c.grad("h", t + 1), c.grad("o", t)
            D = c.one_minus_h2(t + 1) if tanh else c.dphi(t + 1)
            first = product(c.P("W").T, gh1, D) if order == "printed" else product(c.P("W").T, D, gh1)
            f = add(first, product(c.P("V").T, go))
            claims.append(Claim(c.grad("h", t), f, f"grad_h({t}) L", _given(gh1, go)))
        return claims
    return build


def b_grad_c(c):
    gos = [c.grad("o", t) for t in _steps(c)]
    return [Claim(c.d.grad("c"), msum(gos, (c.spec.n_out, 1)), "grad_c L", _given(*gos))]


def _param_sum(param: str, tanh: bool, right: Callable[[Context, int], sp.Matrix] | None) -> Builder:
    """sum_t D(t) grad_h(t) [right(t)^T] with D = diag(1 - h^2) (printed) or diag(phi'(a))."""
    def build(c: Context) -> list[Claim]:
        terms, given = [], []
        for t in _steps(c):
            gh = c.grad("h", t)
            given.append(gh)
            D = c.one_minus_h2(t) if tanh else c.dphi(t)
            terms.append(product(D, gh, right(c, t).T) if right else product(D, gh))
        return [Claim(c.d.grad(param), msum(terms, terms[0].shape), f"grad_{param} L",
                      _given(*given))]
    return build


def b_grad_V(c):
    terms, given = [], []
    for t in _steps(c):
        go = c.grad("o", t)
        given.append(go)
        terms.append(product(go, c.node("h", t).T))
    return [Claim(c.d.grad("V"), msum(terms, terms[0].shape), "grad_V L", _given(*given))]


# chain rule, first part ------------------------------------------

def _dLt_do(c: Context, t: int) -> sp.Matrix:
    return c.jacobian("L", t, "o", t)  # 1 x n_out row


def _through(c: Context, param: str, adjoints: sp.Matrix) -> sp.Matrix:
    """The terms of the derived grad_P L that contain the given adjoint symbols."""
    key = ("terms", param)
    if key not in c.cache:  # adjoint symbol -> {entry: [terms]}, built once per parameter
        index: dict = {}
        for n, e in enumerate(c.d.grad(param)):
            for term in sp.Add.make_args(c.d.defs[e]):
                for s in term.free_symbols:
                    if s in c.d.defs:
                        index.setdefault(s, {}).setdefault(n, []).append(term)
        c.cache[key] = index
    index = c.cache[key]
    G = c.d.grad(param)
    out = sp.zeros(*G.shape)
    for n in range(len(G)):
        terms = {t for s in adjoints for t in index.get(s, {}).get(n, [])}
        out[n] = sp.Add(*sorted(terms, key=sp.default_sort_key))
    return out


def b_dL_dV(per_step: bool, contracted: bool) -> Builder:
    def build(c: Context) -> list[Claim]:
        terms = []
        for t in _steps(c):
            J = c.param_jacobian("o", t, "V")
            row = _dLt_do(c, t)
            terms.append(contract(row, J) if contracted else product(row, J))
        if per_step:  # dL(t)/dV: the terms of the derived grad_V L that come through o(t)
            return [Claim(_through(c, "V", c.grad("o", t)), terms[t - 1], f"dL({t})/dV")
                    for t in _steps(c)]
        return [Claim(c.d.grad("V"), msum(terms, terms[0].shape), "dL/dV")]
    return build


class _Chain:
    """dL(t)/dP = sum_k dL(t)/do(t) do(t)/dh(t) (prod_{j=k+1..t} dh(j)/dh(j-1)) dh(k)/dP.

    Proved for every t at once by induction over k, with exact identities only:
      base  r(t) := dL(t)/do(t) do(t)/dh(t) equals the o(t) branch of the derived grad_h(t) L;
      step  v^T dh(k)/dh(k-1) equals the derived W^T diag(phi'(a(k))) v for a symbolic v;
      term  v . dh(k)/dP (contracted) equals the derived contribution of a(k) to grad_P L;
      k = 0 dh(0)/dP = 0, since h(0) is given.
    Then r(t) prod_{j} dh(j)/dh(j-1) is the derived grad_h(k) L of L(t) alone, and the sum over
    k is the derived dL(t)/dP. The printed product of a row with the rank-3 dh(k)/dP is checked
    first; the reading contracts the row with the Jacobian's first index.
    """

    def __init__(self, param: str, ts: Callable[[Context], Iterable[int]], k0: int):
        self.param, self.ts, self.k0 = param, ts, k0

    def printed(self, c: Context) -> list[Claim]:
        t = max(self.ts(c))
        row = product(_dLt_do(c, t), c.jacobian("o", t, "h", t))
        product(row, c.param_jacobian("h", t, self.param))  # raises IllFormed as printed
        raise AssertionError("unreachable: a row times a rank-3 Jacobian")

    @staticmethod
    def _base(c: Context, t: int) -> Claim:
        gh = c.grad("h", t)
        o_branch = gh.applyfunc(lambda e: c.d.defs[e])
        if t < c.spec.tau:
            o_branch = o_branch.xreplace({s: 0 for s in c.grad("a", t + 1)})
        return Claim(o_branch.T, product(_dLt_do(c, t), c.jacobian("o", t, "h", t)),
                     f"base t={t}", key=("chain-base", t))

    @staticmethod
    def _step(c: Context, k: int, v: sp.Matrix) -> Claim:
        ghk = c.grad("h", k - 1).applyfunc(lambda e: c.d.defs[e])
        ghk = ghk.xreplace({s: 0 for s in c.grad("o", k - 1)})
        ghk = c.d.expand_adjoints(ghk, set(c.grad("h", k)))
        derived = ghk.xreplace(dict(zip(c.grad("h", k), v)))
        return Claim(derived.T, product(v, c.jacobian("h", k, "h", k - 1)), f"step k={k}",
                     key=("chain-step", k))

    def reading(self, c: Context) -> list[Claim]:
        ts = list(self.ts(c))
        claims: list[Claim] = []
        n_h = c.spec.n_hidden
        v = sp.Matrix(1, n_h, lambda _, i: sp.Symbol(f"v[{i}]", real=True))
        for t in ts:  # base
            claims.append(c.memo(("chain-base", t), lambda t=t: self._base(c, t)))
        kmax = max(ts)
        for k in range(max(self.k0, 1) + 1, kmax + 1):  # step
            claims.append(c.memo(("chain-step", k), lambda k=k: self._step(c, k, v)))
        for k in range(max(self.k0, 1), kmax + 1):  # term
            part = _through(c, self.param, c.grad("a", k))
            part = c.d.expand_adjoints(part, set(c.grad("h", k))).xreplace(dict(zip(c.grad("h", k), v)))
            claims.append(Claim(part, contract(v, c.param_jacobian("h", k, self.param)), f"term k={k}"))
        if self.k0 == 0:
            Z = c.param_jacobian("h", 0, self.param)
            claims.append(Claim(sp.zeros(*Z.shape[1:]), contract(v, Z), "term k=0"))
        return claims


def _all_t(c):
    return _steps(c)


def _t3(c):
    return [3]


def _needs(n: int) -> Callable[[Context], Iterable[int]]:
    return lambda c: [n]


# ------------------------------------------------------------------ the catalogue

_G = r"\nabla_{\boldsymbol h^{(t)}} L"

CATALOGUE: tuple[Formula, ...] = (
    Formula("fwd.hidden", "forward", "hidden state, first section (generic phi)",
            r"h^{(t)}=\phi(Ux^{(t)}+Wh^{(t-1)}+b)", "h(t) = phi(U x(t) + W h(t-1) + b)",
            _forward("h", _hidden_generic)),
    Formula("fwd.output", "forward", "output, first section", r"o^{(t)}=Vh^{(t)}+c",
            "o(t) = V h(t) + c", _forward("o", _o_generic)),
    Formula("fwd.10.8", "forward", "pre-activation (10.8)", r"a^{(t)}=b+W h^{(t-1)}+U x^{(t)}",
            "a(t) = b + W h(t-1) + U x(t)", _forward("a", _a_108)),
    Formula("fwd.10.9", "forward", "hidden state (10.9)",
            r"\boldsymbol{h}^{(t)}=\tanh \left(\boldsymbol{a}^{(t)}\right)", "h(t) = tanh(a(t))",
            _forward("h", _h_109),
            ((r"\boldsymbol{h}^{(t)}=\phi\left(\boldsymbol{a}^{(t)}\right)", "h(t) = phi(a(t))",
              _forward("h", _h_phi)),)),
    Formula("fwd.10.10", "forward", "output (10.10)",
            r"\boldsymbol{o}^{(t)}=\boldsymbol{c}+\boldsymbol{V} \boldsymbol{h}^{(t)}",
            "o(t) = c + V h(t)", _forward("o", _o_1010)),
    Formula("fwd.10.11", "forward", "prediction (10.11)",
            r"\hat{\boldsymbol{y}}^{(t)}=\operatorname{softmax}\left(\boldsymbol{o}^{(t)}\right)",
            "y^(t) = softmax(o(t))", _forward("yhat", _yhat_softmax),
            ((r"\hat{\boldsymbol{y}}^{(t)}=\operatorname{out}\left(\boldsymbol{o}^{(t)}\right)",
              "y^(t) = out(o(t)) of the chosen loss", _forward("yhat", _yhat_out)),)),
    Formula("loss.total", "loss", "total loss",
            r"L\big( \{ \boldsymbol x^{(1)}, \dots, \boldsymbol x^{(\tau)} \}, \{ \boldsymbol y^{(1)}, "
            r"\dots, \boldsymbol y^{(\tau)}  \} \big) = \sum_t L^{(t)}", "L = sum_t L(t)", b_loss_total),
    Formula("loss.nll", "loss", "negative log-likelihood of the label",
            r"L^{(t)} = - \log p_{\text{model}} \big(  y^{(t)} \mid  \{ \boldsymbol x^{(1)}, \dots, "
            r"\boldsymbol x^{(t)} \} \big) = -\log \hat y^{(t)}_{y^{(t)}}",
            "L(t) = -log y^(t)[y(t)]", b_loss_nll,
            ((r"L^{(t)} = \ell\big(\hat{\boldsymbol y}^{(t)}, \boldsymbol y^{(t)}\big)",
              "L(t) = loss(y^(t), y(t)) of the chosen loss", r_loss_own),)),
    Formula("bptt.dL_dLt", "bptt", "loss adjoint", r"\frac{\partial L}{\partial L^{(t)}} = 1",
            "dL/dL(t) = 1", b_dL_dLt),
    Formula("bptt.grad_o", "bptt", "output adjoint",
            r"(\nabla_{\boldsymbol o^{(t)}} L)_i = \hat y_i^{(t)} - \mathbf{1}_{i,y^{(t)}}",
            "(grad_o(t) L)_i = y^_i(t) - 1[i = y(t)]", b_grad_o,
            ((r"\nabla_{\boldsymbol o^{(t)}} L = \hat{\boldsymbol y}^{(t)} - \boldsymbol y^{(t)}",
              "grad_o(t) L = y^(t) - y(t) (target vector)", r_grad_o_vector),)),
    Formula("bptt.grad_h_tau", "bptt", "last hidden adjoint",
            r"\nabla_{\boldsymbol h^{(\tau)}} L = \boldsymbol V^\top \nabla_{\boldsymbol o^{(\tau)}} L",
            "grad_h(tau) L = V^T grad_o(tau) L", b_grad_h_tau),
    Formula("bptt.grad_h.jacobian", "bptt", "hidden adjoint recursion, Jacobian form",
            r"\nabla_{\boldsymbol h^{(t)}} L = \Big( \frac{\partial \boldsymbol h^{(t+1)}}{ \partial "
            r"\boldsymbol h^{(t)}}  \Big)^\top(\nabla_{\boldsymbol h^{(t+1)}} L) + \Big( \frac{\partial "
            r"\boldsymbol o^{(t)}}{ \partial \boldsymbol h^{(t)}}  \Big)^\top (\nabla_{\boldsymbol "
            r"o^{(t)}} L)",
            "grad_h(t) L = (dh(t+1)/dh(t))^T grad_h(t+1) L + (do(t)/dh(t))^T grad_o(t) L",
            b_grad_h_jacobian, needs_tau=2),
    Formula("bptt.grad_h", "bptt", "hidden adjoint recursion, matrix form",
            r"\nabla_{\boldsymbol h^{(t)}} L = \boldsymbol W^\top (\nabla_{\boldsymbol h^{(t+1)}} L) "
            r"\text{diag} \Big( 1 - (\boldsymbol h^{(t+1)})^2 \Big) + \boldsymbol V^\top ( "
            r"\nabla_{\boldsymbol o^{(t)}} L )",
            "grad_h(t) L = W^T (grad_h(t+1) L) diag(1 - h(t+1)^2) + V^T grad_o(t) L",
            _grad_h_rec("printed", True),
            ((r"\nabla_{\boldsymbol h^{(t)}} L = \boldsymbol W^\top \text{diag} \Big( 1 - "
              r"(\boldsymbol h^{(t+1)})^2 \Big) (\nabla_{\boldsymbol h^{(t+1)}} L) + \boldsymbol "
              r"V^\top \nabla_{\boldsymbol o^{(t)}} L",
              "grad_h(t) L = W^T diag(1 - h(t+1)^2) grad_h(t+1) L + V^T grad_o(t) L",
              _grad_h_rec("reading", True)),
             (r"\nabla_{\boldsymbol h^{(t)}} L = \boldsymbol W^\top \text{diag} \big( \phi'("
              r"\boldsymbol a^{(t+1)}) \big) (\nabla_{\boldsymbol h^{(t+1)}} L) + \boldsymbol "
              r"V^\top \nabla_{\boldsymbol o^{(t)}} L",
              "grad_h(t) L = W^T diag(phi'(a(t+1))) grad_h(t+1) L + V^T grad_o(t) L",
              _grad_h_rec("reading", False))),
            needs_tau=2),
    Formula("bptt.grad_c", "bptt", "bias c",
            r"\nabla_{\boldsymbol c} L = \sum_t \nabla_{\boldsymbol o^{(t)}} L",
            "grad_c L = sum_t grad_o(t) L", b_grad_c),
    Formula("bptt.grad_b", "bptt", "bias b",
            r"\nabla_{\boldsymbol b} L = \sum_t \text{diag} \Big( 1 - \big( \boldsymbol h^{(t)} "
            r"\big)^2 \Big)  \nabla_{\boldsymbol h^{(t)}} L",
            "grad_b L = sum_t diag(1 - h(t)^2) grad_h(t) L", _param_sum("b", True, None),
            ((r"\nabla_{\boldsymbol b} L = \sum_t \text{diag} \big( \phi'(\boldsymbol a^{(t)}) "
              r"\big) \nabla_{\boldsymbol h^{(t)}} L",
              "grad_b L = sum_t diag(phi'(a(t))) grad_h(t) L", _param_sum("b", False, None)),)),
    Formula("bptt.grad_V", "bptt", "output weights V",
            r"\nabla_{\boldsymbol V} L = \sum_t (\nabla_{\boldsymbol o^{(t)}} L) \boldsymbol h^{(t)^\top}",
            "grad_V L = sum_t (grad_o(t) L) h(t)^T", b_grad_V),
    Formula("bptt.grad_W", "bptt", "recurrent weights W",
            r"\nabla_{\boldsymbol W} L = \sum_t \text{diag} \Big( 1 - \big( \boldsymbol h^{(t)} "
            r"\big)^2 \Big) ( \nabla_{\boldsymbol h^{(t)}} L) \boldsymbol h^{(t-1)^\top}",
            "grad_W L = sum_t diag(1 - h(t)^2) (grad_h(t) L) h(t-1)^T",
            _param_sum("W", True, lambda c, t: c.node("h", t - 1)),
            ((r"\nabla_{\boldsymbol W} L = \sum_t \text{diag} \big( \phi'(\boldsymbol a^{(t)}) "
              r"\big) ( \nabla_{\boldsymbol h^{(t)}} L) \boldsymbol h^{(t-1)^\top}",
              "grad_W L = sum_t diag(phi'(a(t))) (grad_h(t) L) h(t-1)^T",
              _param_sum("W", False, lambda c, t: c.node("h", t - 1))),)),
    Formula("bptt.grad_U", "bptt", "input weights U",
            r"\nabla_{\boldsymbol U} L = \sum_t \text{diag} \Big( 1 - \big( \boldsymbol h^{(t)} "
            r"\big)^2 \Big) ( \nabla_{\boldsymbol h^{(t)}} L) \boldsymbol x^{(t)^\top}",
            "grad_U L = sum_t diag(1 - h(t)^2) (grad_h(t) L) x(t)^T",
            _param_sum("U", True, lambda c, t: c.node("x", t)),
            ((r"\nabla_{\boldsymbol U} L = \sum_t \text{diag} \big( \phi'(\boldsymbol a^{(t)}) "
              r"\big) ( \nabla_{\boldsymbol h^{(t)}} L) \boldsymbol x^{(t)^\top}",
              "grad_U L = sum_t diag(phi'(a(t))) (grad_h(t) L) x(t)^T",
              _param_sum("U", False, lambda c, t: c.node("x", t))),)),
)


def _chain_printed(param: str, t: str, lo: str) -> str:
    return (rf"\frac{{\partial L^{{({t})}}}}{{\partial {param}}}=\sum_{{k={lo}}}^{{{t}}}\frac{{\partial "
            rf"L^{{({t})}}}}{{\partial o^{{({t})}}}}\frac{{\partial o^{{({t})}}}}{{\partial h^{{({t})}}}}"
            rf"(\prod_{{j=k+1}}^{{{t}}}\frac{{\partial h^{{(j)}}}}{{\partial h^{{(j-1)}}}})"
            rf"\frac{{\partial h^{{(k)}}}}{{\partial {param}}}")


def _chain_reading(param: str, t: str, lo: str) -> str:
    return (rf"\frac{{\partial L^{{({t})}}}}{{\partial {param}}}=\sum_{{k={lo}}}^{{{t}}}\sum_i \Big("
            rf"\frac{{\partial L^{{({t})}}}}{{\partial o^{{({t})}}}}\frac{{\partial o^{{({t})}}}}"
            rf"{{\partial h^{{({t})}}}}\prod_{{j=k+1}}^{{{t}}}\frac{{\partial h^{{(j)}}}}{{\partial "
            rf"h^{{(j-1)}}}}\Big)_i \frac{{\partial h_i^{{(k)}}}}{{\partial {param}}}")


def _three_terms(param: str) -> str:
    head = r"\frac{\partial L^{(3)}}{\partial o^{(3)}}\frac{\partial o^{(3)}}{\partial h^{(3)}}"
    return (rf"\frac{{\partial L^{{(3)}}}}{{\partial {param}}}={head}\frac{{\partial h^{{(3)}}}}"
            rf"{{\partial {param}}}+{head}\frac{{\partial h^{{(3)}}}}{{\partial h^{{(2)}}}}"
            rf"\frac{{\partial h^{{(2)}}}}{{\partial {param}}}+{head}\frac{{\partial h^{{(3)}}}}"
            rf"{{\partial h^{{(2)}}}}\frac{{\partial h^{{(2)}}}}{{\partial h^{{(1)}}}}"
            rf"\frac{{\partial h^{{(1)}}}}{{\partial {param}}}")


def _chain_formulas() -> tuple[Formula, ...]:
    out = [
        Formula("chain.dLt_dV", "chain", "dL(t)/dV by the chain rule",
                r"\frac{\partial L^{(t)}}{\partial V}=\frac{\partial L^{(t)}}{\partial o^{(t)}}\cdot "
                r"\frac{\partial o^{(t)}}{\partial V}", "dL(t)/dV = dL(t)/do(t) . do(t)/dV",
                b_dL_dV(True, False),
                ((r"\frac{\partial L^{(t)}}{\partial V}=\sum_i \frac{\partial L^{(t)}}{\partial "
                  r"o_i^{(t)}} \frac{\partial o_i^{(t)}}{\partial V}",
                  "dL(t)/dV = sum_i dL(t)/do_i(t) do_i(t)/dV", b_dL_dV(True, True)),)),
        Formula("chain.dL_dV", "chain", "dL/dV summed over time",
                r"\frac{\partial L}{\partial V}=\sum_{t=1}^{n}\frac{\partial L^{(t)}}{\partial "
                r"o^{(t)}}\cdot \frac{\partial o^{(t)}}{\partial V}",
                "dL/dV = sum_{t=1..n} dL(t)/do(t) . do(t)/dV", b_dL_dV(False, False),
                ((r"\frac{\partial L}{\partial V}=\sum_{t=1}^{\tau}\sum_i \frac{\partial L^{(t)}}"
                  r"{\partial o_i^{(t)}} \frac{\partial o_i^{(t)}}{\partial V}",
                  "dL/dV = sum_{t=1..tau} sum_i dL(t)/do_i(t) do_i(t)/dV", b_dL_dV(False, True)),)),
    ]
    for param in ("W", "U"):
        three = _Chain(param, _t3, 1)
        out.append(Formula(f"chain.dL3_d{param}", "chain", f"three-step expansion of dL(3)/d{param}",
                           _three_terms(param),
                           f"dL(3)/d{param} = sum_{{k=1..3}} dL(3)/do(3) do(3)/dh(3) "
                           f"prod_{{j=k+1..3}} dh(j)/dh(j-1) dh(k)/d{param}",
                           three.printed,
                           ((_chain_reading(param, "3", "1"),
                             f"dL(3)/d{param} = sum_k sum_i (row prod)_i dh_i(k)/d{param} (contracted)",
                             three.reading),), needs_tau=3))
        general = _Chain(param, _all_t, 0)
        out.append(Formula(f"chain.dLt_d{param}", "chain", f"general expansion of dL(t)/d{param}",
                           _chain_printed(param, "t", "0"),
                           f"dL(t)/d{param} = sum_{{k=0..t}} dL(t)/do(t) do(t)/dh(t) "
                           f"prod_{{j=k+1..t}} dh(j)/dh(j-1) dh(k)/d{param}",
                           general.printed,
                           ((_chain_reading(param, "t", "0"),
                             f"dL(t)/d{param} = sum_k sum_i (row prod)_i dh_i(k)/d{param} (contracted)",
                             general.reading),)))
    return tuple(out)


CATALOGUE = CATALOGUE + _chain_formulas()

STATUSES = ("confirmed", "refuted", "ill-formed", "not-applicable", "unproven")


# ------------------------------------------------------------------ certificate

@dataclass
class Entry:
    """One formula's verdict. ``status`` is about the formula as printed; ``reading`` is the
    first reading that was confirmed when the printed form was not."""

    id: str
    part: str
    title: str
    printed: str
    text: str
    status: str
    reading: str | None
    reading_text: str | None
    reading_status: str | None
    reason: str | None
    method: str
    seconds: float
    counterexample: dict | None = None

    @property
    def holds(self) -> bool:
        """Confirmed as printed, or through a confirmed reading (or not applicable)."""
        return self.status in ("confirmed", "not-applicable") or self.reading_status == "confirmed"


def _decide(ctx: Context, claims: list[Claim]) -> tuple[str, dict | None, int]:
    """'confirmed' if every claim is an identity; else 'refuted' with a counterexample
    ('unproven' when no point separates the two sides)."""
    n = 0
    for claim in claims:
        if not ctx.holds(claim):
            cex = ctx.counterexample(claim)
            return ("refuted" if cex else "unproven"), cex, n
        n += len(claim.truth)
    return "confirmed", None, n


def _method(f: Formula, status: str, n: int, ctx: Context, chain: bool) -> str:
    if status == "confirmed":
        if chain:
            return (f"exact: induction over k ({n} identities: base, Jacobian step, term), "
                    f"every t <= {ctx.spec.tau}")
        against = "the unrolled graph" if f.part in ("forward", "loss") else "derivation"
        return f"exact: SymPy reduces formula - {against} to 0 ({n} entries)"
    if status == "refuted":
        return "SymPy leaves a nonzero difference; a rational point separates the values"
    if status == "ill-formed":
        return "type check with column vectors"
    if status == "unproven":
        return "SymPy could not reduce the difference and no point separated the values"
    return f"needs tau >= {f.needs_tau}"


def _run(f: Formula, ctx: Context) -> Entry:
    start = time.perf_counter()
    reason = cex = None
    reading = reading_text = reading_status = None
    chain = f.id.startswith("chain.d") and f.id[-1] in "WU"
    n = 0
    if ctx.spec.tau < f.needs_tau:
        status = "not-applicable"
        reason = f"the formula needs step {f.needs_tau}; tau = {ctx.spec.tau}"
    else:
        try:
            status, cex, n = _decide(ctx, f.build(ctx))
        except IllFormed as e:
            status, reason = "ill-formed", f"as printed, {e}"
        method = _method(f, status, n, ctx, chain)
        if status != "confirmed":
            for latex, text, build in f.readings:
                try:
                    rs, rcex, rn = _decide(ctx, build(ctx))
                except IllFormed as e:  # a reading that does not type-check is not confirmed
                    rs, rn = "ill-formed", 0
                reading_status = rs
                if rs == "confirmed":
                    reading, reading_text = latex, text
                    method += "; reading " + _method(f, rs, rn, ctx, chain)
                    break
            if status == "refuted" and not ctx.act.note_form and "1 - h" in f.text:
                reason = (f"holds only for tanh: diag(1 - h^2) is tanh's Jacobian, and "
                          f"{ctx.act.name}' differs")
            elif status == "refuted" and not ctx.act.note_form and "tanh" in f.text:
                reason = f"holds only for tanh, the note's choice; the activation is {ctx.act.name}"
            elif status == "refuted" and ctx.loss.name != "softmax-ce" and "softmax" in f.text:
                reason = f"holds only for the softmax output; the loss is {ctx.loss.name}"
            elif status == "refuted" and reason is None:
                reason = "the two sides differ at the point given"
    if status == "not-applicable":
        method = _method(f, status, 0, ctx, chain)
    return Entry(f.id, f.part, f.title, f.printed, f.text, status, reading, reading_text,
                 reading_status, reason, method, round(time.perf_counter() - start, 3), cex)


@dataclass
class Certificate:
    """The verdict on every formula of the note for one spec."""

    spec: RNNSpec
    entries: list[Entry] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(e.holds for e in self.entries)

    def to_json(self) -> list[dict]:
        keys = ("id", "title", "part", "printed", "status", "reading", "reading_status", "reason",
                "method", "seconds", "counterexample")
        return [{k: asdict(e)[k] for k in keys} for e in self.entries]

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)

    def summary(self) -> str:
        counts = {s: sum(e.status == s for e in self.entries) for s in STATUSES}
        with_reading = sum(e.status != "confirmed" and e.reading_status == "confirmed"
                           for e in self.entries)
        parts = [f"{v} {k}" for k, v in counts.items() if v]
        return (f"{len(self.entries)} formulas: " + ", ".join(parts) +
                f"; {with_reading} with a confirmed reading")

    def _repr_latex_(self) -> str:
        rows = []
        for e in self.entries:
            status = e.status + (r"\text{, reading confirmed}" if e.reading else "")
            rows.append(rf"\text{{{e.id}}} & {e.printed} & \text{{{status}}}")
        return r"$$\begin{array}{lll}" + r" \\ ".join(rows) + r"\end{array}$$"


_WORK: tuple[Context, list[Formula]] | None = None  # what forked workers inherit


def _run_index(i: int) -> tuple[int, Entry]:
    ctx, formulas = _WORK
    return i, _run(formulas[i], ctx)


#: Entries that cost the most at large tau go first, so two workers finish together.
_HEAVY_FIRST = ("chain.dLt_dW", "chain.dLt_dU", "chain.dLt_dV", "fwd.hidden", "chain.dL_dV",
                "bptt.grad_o", "bptt.grad_h.jacobian", "bptt.grad_h")


def certify(spec: RNNSpec, progress: Callable[[str], None] | None = None,
            context: Context | None = None, catalogue: Iterable[Formula] = CATALOGUE,
            workers: int | None = None) -> Certificate:
    """Check every formula of ``catalogue`` (the note's) for ``spec``; see the module doc.

    ``workers``: processes to spread the entries over (default: 2 when tau >= 32 and the
    machine has 2 cores, else 1). Entries are independent, so the result is the same.
    """
    if not isinstance(spec, RNNSpec):
        raise TypeError(f"spec must be an RNNSpec, got {type(spec).__name__}")
    with _gc_paused():
        return _certify(spec, progress, context, catalogue, workers)


def _certify(spec, progress, context, catalogue, workers) -> Certificate:
    global _WORK
    ctx = context or Context(spec)
    formulas = list(catalogue)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if spec.tau >= 32 else 1
    entries: dict[int, Entry] = {}
    methods = multiprocessing.get_all_start_methods()
    if workers > 1 and len(formulas) > 1 and "fork" in methods:
        rank = {fid: k for k, fid in enumerate(_HEAVY_FIRST)}
        order = sorted(range(len(formulas)), key=lambda i: (rank.get(formulas[i].id, 99), i))
        _WORK = (ctx, formulas)
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for i, entry in pool.imap_unordered(_run_index, order):
                    entries[i] = entry
                    if progress:
                        progress(entry.id)
        finally:
            _WORK = None
    else:
        for i, f in enumerate(formulas):
            if progress:
                progress(f.id)
            entries[i] = _run(f, ctx)
    return Certificate(spec, [entries[i] for i in range(len(formulas))])
