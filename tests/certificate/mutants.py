"""Planted formulas for the certificate: wrong variants of the note's formulas, and the right
ones they are mutated from, written with the same vocabulary as ``symrnn.certificate.note``.

Used by ``test_mutations.py`` and by ``benchmarks/mutation_table.py`` (which prints the
table). Every wrong variant is expected to come out ``refuted`` for every size and tau, with
an exact or interval-verified counterexample; the few in ``TYPE_ERRORS`` do not multiply at
symbolic sizes and are expected ``ill-formed``. The right variants are expected ``confirmed``
(``definition`` for the model's own equations), scope ``all``.

The variants in ``OUTSIDE`` name a quantity the network does not have (h(tau+1), x(tau+1),
grad_o(tau+1) L): at an instance it would be taken as 0, and the first one (a wrong term
W^T h(tau+1) added) would hold there; the engine refuses them as ill-formed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from symrnn.certificate.claims import (ALL, INTERIOR, Claim, Formula, GClaim, add,
                                       product)
from symrnn.certificate.engine import Checker
from symrnn.certificate.general import General
from symrnn.certificate.instance import Instance
from symrnn.certificate.note import (Chain, _dLt_dV, defines, dL_do, dphi, gives, gives_param,
                                     h, one_minus_h2)
from symrnn.functions import LOSSES, Apply, Softmax
from symrnn.naming import TAU, T, Grad, Steps, StepSum
from symrnn.spec import RNNSpec

#: The spec most variants are checked on, and one with a fourth step for the variants that
#: are wrong only at a step a three-step instance does not have.
SPECS = {
    "tau3": RNNSpec(tau=3, n_in=2, n_hidden=3, n_out=2),
    "tau4": RNNSpec(tau=4, n_in=1, n_hidden=2, n_out=2),
    # a network of rational functions only (identity activation, mse): points verify exactly
    "rational": RNNSpec(tau=3, n_in=2, n_hidden=3, n_out=2, activation="identity",
                        loss="mse"),
}


@lru_cache(maxsize=None)
def checker(key: str) -> Checker:
    """A Checker for ``SPECS[key]``, built as ``symrnn.pipeline.certificate`` builds it."""
    from symrnn.pipeline import analyse
    spec = SPECS[key]
    r = analyse(spec, certify=False)
    loss = LOSSES[spec.loss]
    return Checker(General(r.model, spec.activation, loss, r.equations),
                   General(r.model, spec.activation, loss, r.equations, spec.sizes),
                   Instance(r.graph, r.derivation, r.zero))


@dataclass(frozen=True)
class Planted:
    """A planted formula: ``family`` is the note's formula it varies, ``what`` the change."""

    id: str
    family: str
    what: str
    build: object
    method: str = "identity"
    spec: str = "tau3"
    expect: str = "refuted"

    def formula(self) -> Formula:
        return Formula(self.id, "planted", self.what, self.what, self.what, self.build,
                       method=self.method)


# ------------------------------------------------------------------ vocabulary

def V_T(G):
    return G.P("V").T


def W_T(G):
    return G.P("W").T


def go(G, s):
    return G.grad("o", s)


def gh(G, s):
    return G.grad("h", s)


def D(G, s):
    """diag(1 - h(s)^2), as the note prints it."""
    return one_minus_h2(G, s)


def D_no_square(G, s):
    """diag(1 - h(s)): the square forgotten."""
    hs = h(G, s)
    return sp.DiagMatrix(sp.OneMatrix(hs.rows, 1) - hs)


def D_plus(G, s):
    """diag(1 + h(s)^2): the sign inside the diagonal flipped."""
    hs = h(G, s)
    return sp.DiagMatrix(sp.OneMatrix(hs.rows, 1) + sp.HadamardProduct(hs, hs))


def ones(n, m=1):
    return sp.OneMatrix(n, m)


def had(*factors):
    return sp.HadamardProduct(*factors)


def x(G, s):
    return G.node("x", s)


def yhat(G, s):
    return G.node("yhat", s)


def y(G, s):
    return G.node("y", s)


def sum_t(term, lo=1, hi=TAU):
    return lambda G: StepSum(term(G), lo, hi)


# ------------------------------------------------------------------ builders

def grad_o(formula, within=ALL):
    return gives("o", T, formula, within)


def grad_h_tau(formula):
    return gives("h", TAU, formula, None)


def grad_h(formula, within=INTERIOR):
    return gives("h", T, formula, within)


def recursion(G, W=W_T, diag=D, at=T + 1, grad_at=T + 1, o_at=T, o_sign=1, w_factor=1,
              with_o=True, with_w=True, diag_first=False):
    """W^T diag(1 - h(t+1)^2) grad_h(t+1) L + V^T grad_o(t) L, each piece replaceable."""
    terms = []
    if with_w:
        w = product(diag(G, at), W(G), gh(G, grad_at)) if diag_first else \
            product(W(G), diag(G, at), gh(G, grad_at))
        terms.append(w_factor * w)
    if with_o:
        terms.append(o_sign * product(V_T(G), go(G, o_at)))
    return terms[0] if len(terms) == 1 else add(*terms)


def two_steps(G, middle=True):
    """grad_h(t) unrolled twice (1 <= t <= tau - 2): V^T g_o(t) + W^T D(t+1) (V^T g_o(t+1)
    + W^T D(t+2) g_h(t+2))."""
    inner = [product(W_T(G), D(G, T + 2), gh(G, T + 2))]
    if middle:
        inner.insert(0, product(V_T(G), go(G, T + 1)))
    inner = inner[0] if len(inner) == 1 else add(*inner)
    return add(product(V_T(G), go(G, T)), product(W_T(G), D(G, T + 1), inner))


def jacobian_form(G, transpose=True, wrong_step=False, with_o=True):
    J = G.jac(h(G, T), h(G, T - 1)) if wrong_step else G.jac(h(G, T + 1), h(G, T))
    first = product(J.T if transpose else J, gh(G, T + 1))
    if not with_o:
        return first
    return add(first, product(G.jac(G.node("o", T), h(G, T)).T, go(G, T)))


def param(name, term, lo=1, hi=TAU):
    return gives_param(name, sum_t(term, lo, hi))


def total_loss(lo):
    """L = sum_{t=lo}^{tau} L(t), checked like the note's loss.total."""
    def build(G):
        formula = StepSum(G.node("L", T), lo, TAU)

        def general(G):
            L = sp.MatrixSymbol("L", 1, 1)
            return G.equal(G.unfold(L), G.unfold(formula))

        def instance(I):
            g = I.g
            return [Claim(sp.Matrix([[g.L]]).applyfunc(lambda e: I.unfold(e, {None})),
                          sp.Matrix([[sp.Add(*[v for t, v in g.L_t.items() if t >= lo])]]),
                          "L")]
        return [GClaim(None, formula, None, "L", general=general, instance=instance)]
    return build


def dL_dV(sign=1, lo=1):
    """dL/dV = sum_t contract(dL(t)/do(t), do(t)/dV) (the chain reading), varied."""
    def build(G):
        term = sign * G.contract(dL_do(G, T), G.node("o", T), G.P("V"))
        return [GClaim(Grad(G.P("V")),
                       StepSum(term, lo, TAU), None, "dL/dV")]
    return build


def a_def(G, W=lambda G: G.P("W"), b_sign=1, with_u=True, w_sign=1):
    terms = [b_sign * G.P("b"), w_sign * product(W(G), h(G, T - 1))]
    if with_u:
        terms.append(product(G.P("U"), x(G, T)))
    return add(*terms)


# ------------------------------------------------------------------ the right forms

CORRECT: tuple[Planted, ...] = (
    Planted("ok.grad_o", "bptt.grad_o", "grad_o(t) = y^(t) - y(t)",
            grad_o(lambda G: yhat(G, T) - y(G, T))),
    Planted("ok.grad_h_tau", "bptt.grad_h_tau", "grad_h(tau) = V^T grad_o(tau)",
            grad_h_tau(lambda G: product(V_T(G), go(G, TAU)))),
    Planted("ok.grad_h.jacobian", "bptt.grad_h.jacobian",
            "grad_h(t) = (dh(t+1)/dh(t))^T grad_h(t+1) + (do(t)/dh(t))^T grad_o(t)",
            grad_h(jacobian_form)),
    Planted("ok.grad_h", "bptt.grad_h",
            "grad_h(t) = W^T diag(1 - h(t+1)^2) grad_h(t+1) + V^T grad_o(t)",
            grad_h(recursion)),
    Planted("ok.grad_h.two_steps", "bptt.grad_h",
            "grad_h(t) = V^T g_o(t) + W^T D(t+1) (V^T g_o(t+1) + W^T D(t+2) g_h(t+2))",
            grad_h(two_steps, Steps(1, TAU - 2)), spec="tau4"),
    Planted("ok.grad_c", "bptt.grad_c", "grad_c = sum_t grad_o(t)",
            param("c", lambda G: go(G, T))),
    Planted("ok.grad_b", "bptt.grad_b", "grad_b = sum_t diag(1 - h(t)^2) grad_h(t)",
            param("b", lambda G: product(D(G, T), gh(G, T)))),
    Planted("ok.grad_V", "bptt.grad_V", "grad_V = sum_t grad_o(t) h(t)^T",
            param("V", lambda G: product(go(G, T), h(G, T).T))),
    Planted("ok.grad_W", "bptt.grad_W", "grad_W = sum_t diag(1 - h(t)^2) grad_h(t) h(t-1)^T",
            param("W", lambda G: product(D(G, T), gh(G, T), h(G, T - 1).T))),
    Planted("ok.grad_U", "bptt.grad_U", "grad_U = sum_t diag(1 - h(t)^2) grad_h(t) x(t)^T",
            param("U", lambda G: product(D(G, T), gh(G, T), x(G, T).T))),
    Planted("ok.fwd.10.8", "fwd.10.8", "a(t) = b + W h(t-1) + U x(t)",
            defines("a", a_def), "definition"),
    Planted("ok.fwd.10.9", "fwd.10.9", "h(t) = tanh(a(t))",
            defines("h", lambda G: Apply("tanh", G.node("a", T))), "definition"),
    Planted("ok.fwd.10.10", "fwd.10.10", "o(t) = c + V h(t)",
            defines("o", lambda G: add(G.P("c"), product(G.P("V"), h(G, T)))), "definition"),
    Planted("ok.fwd.10.11", "fwd.10.11", "y^(t) = softmax(o(t))",
            defines("yhat", lambda G: Softmax(G.node("o", T))), "definition"),
    Planted("ok.loss.nll", "loss.nll", "L(t) = -y(t)^T log y^(t)",
            lambda G: [GClaim(G.node("L", T), -(y(G, T).T * Apply("log", yhat(G, T))), ALL,
                              "L(t)")], "definition"),
    Planted("ok.loss.total", "loss.total", "L = sum_{t=1}^{tau} L(t)", total_loss(1),
            "definition"),
    Planted("ok.chain.dL_dV", "chain.dL_dV", "dL/dV = sum_t sum_i dL(t)/do_i(t) do_i(t)/dV",
            _dLt_dV(False)),
    Planted("ok.chain.dLt_dW", "chain.dLt_dW", "descending J_t ... J_(k+1), contracted",
            Chain("W", three=False).induction, "induction"),
    # the same formulas written another way: still identities
    Planted("ok.grad_W.diag_swap", "bptt.grad_W",
            "sum_t diag(grad_h(t)) (1 - h(t)^2) h(t-1)^T (diag(u) v = diag(v) u)",
            param("W", lambda G: product(sp.DiagMatrix(gh(G, T)),
                                         ones(h(G, T).rows) - had(h(G, T), h(G, T)),
                                         h(G, T - 1).T))),
    Planted("ok.grad_W.ones", "bptt.grad_W", "sum_t diag(1 - h^2) grad_h(t) 1^T diag(h(t-1))",
            param("W", lambda G: product(D(G, T), gh(G, T), ones(1, h(G, T).rows),
                                         sp.DiagMatrix(h(G, T - 1))))),
    Planted("ok.grad_h.transpose", "bptt.grad_h",
            "grad_h(t) = (diag(1 - h(t+1)^2) W)^T grad_h(t+1) + V^T grad_o(t)",
            grad_h(lambda G: add(product(product(D(G, T + 1), G.P("W")).T, gh(G, T + 1)),
                                 product(V_T(G), go(G, T))))),
    Planted("ok.grad_b.hadamard", "bptt.grad_b", "sum_t (1 - h(t)) o (1 + h(t)) o grad_h(t)",
            param("b", lambda G: had(ones(h(G, T).rows) - h(G, T),
                                     ones(h(G, T).rows) + h(G, T), gh(G, T)))),
    Planted("ok.grad_V.transpose", "bptt.grad_V", "sum_t (h(t) grad_o(t)^T)^T",
            param("V", lambda G: product(h(G, T), go(G, T).T).T)),
    Planted("ok.grad_c.identity", "bptt.grad_c", "sum_t I diag(grad_o(t)) 1",
            param("c", lambda G: product(sp.Identity(go(G, T).rows), sp.DiagMatrix(go(G, T)),
                                         ones(go(G, T).rows)))),
    # on the rational network, with phi' of the chosen activation
    Planted("ok.x.grad_o", "bptt.grad_o", "grad_o(t) = y^(t) - y(t)",
            grad_o(lambda G: yhat(G, T) - y(G, T)), spec="rational"),
    Planted("ok.x.grad_h", "bptt.grad_h",
            "grad_h(t) = W^T diag(phi'(a(t+1))) grad_h(t+1) + V^T grad_o(t)",
            grad_h(lambda G: recursion(G, diag=dphi)), spec="rational"),
    Planted("ok.x.grad_b", "bptt.grad_b", "grad_b = sum_t diag(phi'(a(t))) grad_h(t)",
            param("b", lambda G: product(dphi(G, T), gh(G, T))), spec="rational"),
    Planted("ok.x.grad_V", "bptt.grad_V", "grad_V = sum_t grad_o(t) h(t)^T",
            param("V", lambda G: product(go(G, T), h(G, T).T)), spec="rational"),
    Planted("ok.x.fwd.10.8", "fwd.10.8", "a(t) = b + W h(t-1) + U x(t)",
            defines("a", a_def), "definition", spec="rational"),
)


# ------------------------------------------------------------------ the wrong ones

def _p(id_, family, what, build, method="identity", spec="tau3", expect="refuted"):
    return Planted(id_, family, what, build, method, spec, expect)


MUTATIONS: tuple[Planted, ...] = (
    # grad_o
    _p("o.sign", "bptt.grad_o", "y(t) - y^(t) (1 - y^ for y^ - 1)",
       grad_o(lambda G: y(G, T) - yhat(G, T))),
    _p("o.no_y", "bptt.grad_o", "y^(t): the -y(t) dropped", grad_o(lambda G: yhat(G, T))),
    _p("o.factor2", "bptt.grad_o", "2 (y^(t) - y(t))",
       grad_o(lambda G: 2 * (yhat(G, T) - y(G, T)))),
    _p("o.next", "bptt.grad_o", "y^(t+1) - y(t) (1 <= t < tau)",
       grad_o(lambda G: yhat(G, T + 1) - y(G, T), INTERIOR)),
    # grad_h(tau): wrong only at t = tau
    _p("htau.sign", "bptt.grad_h_tau", "-V^T grad_o(tau)",
       grad_h_tau(lambda G: -product(V_T(G), go(G, TAU)))),
    _p("htau.double", "bptt.grad_h_tau", "2 V^T grad_o(tau)",
       grad_h_tau(lambda G: 2 * product(V_T(G), go(G, TAU)))),
    _p("htau.extra", "bptt.grad_h_tau", "V^T g_o(tau) + W^T diag(1 - h(tau)^2) V^T g_o(tau)",
       grad_h_tau(lambda G: add(product(V_T(G), go(G, TAU)),
                                product(W_T(G), D(G, TAU), V_T(G), go(G, TAU))))),
    _p("htau.prev", "bptt.grad_h_tau", "V^T grad_o(tau - 1)",
       grad_h_tau(lambda G: product(V_T(G), go(G, TAU - 1)))),
    # the Jacobian form
    _p("hjac.no_T", "bptt.grad_h.jacobian", "dh(t+1)/dh(t) not transposed",
       grad_h(lambda G: jacobian_form(G, transpose=False))),
    _p("hjac.step", "bptt.grad_h.jacobian", "(dh(t)/dh(t-1))^T for (dh(t+1)/dh(t))^T",
       grad_h(lambda G: jacobian_form(G, wrong_step=True))),
    _p("hjac.no_o", "bptt.grad_h.jacobian", "the (do(t)/dh(t))^T grad_o(t) term missing",
       grad_h(lambda G: jacobian_form(G, with_o=False))),
    # the recursion, matrix form
    _p("h.W", "bptt.grad_h", "W for W^T", grad_h(lambda G: recursion(G, W=lambda G: G.P("W")))),
    _p("h.diag_t", "bptt.grad_h", "diag(1 - h(t)^2) for h(t+1)",
       grad_h(lambda G: recursion(G, at=T))),
    _p("h.diag_t-1", "bptt.grad_h", "diag(1 - h(t-1)^2) for h(t+1)",
       grad_h(lambda G: recursion(G, at=T - 1))),
    _p("h.diag_1-h", "bptt.grad_h", "diag(1 - h(t+1)) for diag(1 - h(t+1)^2)",
       grad_h(lambda G: recursion(G, diag=D_no_square))),
    _p("h.diag_1+h2", "bptt.grad_h", "diag(1 + h(t+1)^2)",
       grad_h(lambda G: recursion(G, diag=D_plus))),
    _p("h.diag_first", "bptt.grad_h", "diag(1 - h(t+1)^2) W^T for W^T diag(...)",
       grad_h(lambda G: recursion(G, diag_first=True))),
    _p("h.no_o", "bptt.grad_h", "the V^T grad_o(t) term missing",
       grad_h(lambda G: recursion(G, with_o=False))),
    _p("h.no_W", "bptt.grad_h", "the W^T ... grad_h(t+1) term missing",
       grad_h(lambda G: recursion(G, with_w=False))),
    _p("h.o_sign", "bptt.grad_h", "- V^T grad_o(t)", grad_h(lambda G: recursion(G, o_sign=-1))),
    _p("h.o_next", "bptt.grad_h", "V^T grad_o(t+1) for grad_o(t)",
       grad_h(lambda G: recursion(G, o_at=T + 1))),
    _p("h.grad_t", "bptt.grad_h", "grad_h(t) for grad_h(t+1) on the right",
       grad_h(lambda G: recursion(G, grad_at=T))),
    _p("h.factor2", "bptt.grad_h", "2 W^T diag(1 - h(t+1)^2) grad_h(t+1)",
       grad_h(lambda G: recursion(G, w_factor=2))),
    _p("h.two_steps", "bptt.grad_h", "unrolled twice, the V^T grad_o(t+1) term missing",
       grad_h(lambda G: two_steps(G, middle=False), Steps(1, TAU - 2)), spec="tau4"),
    # grad_c
    _p("c.sign", "bptt.grad_c", "- sum_t grad_o(t)", param("c", lambda G: -go(G, T))),
    _p("c.from2", "bptt.grad_c", "sum from t = 2 (wrong at t = 1 only)",
       param("c", lambda G: go(G, T), lo=2)),
    _p("c.to_tau-1", "bptt.grad_c", "sum to tau - 1 (wrong at t = tau only)",
       param("c", lambda G: go(G, T), hi=TAU - 1)),
    _p("c.yhat", "bptt.grad_c", "sum_t y^(t) for grad_o(t)", param("c", lambda G: yhat(G, T))),
    _p("c.factor2", "bptt.grad_c", "2 sum_t grad_o(t)", param("c", lambda G: 2 * go(G, T))),
    # grad_b
    _p("b.sign", "bptt.grad_b", "- sum_t diag(1 - h(t)^2) grad_h(t)",
       param("b", lambda G: -product(D(G, T), gh(G, T)))),
    _p("b.diag_t-1", "bptt.grad_b", "diag(1 - h(t-1)^2) for h(t)",
       param("b", lambda G: product(D(G, T - 1), gh(G, T)))),
    _p("b.diag_1-h", "bptt.grad_b", "diag(1 - h(t)) for diag(1 - h(t)^2)",
       param("b", lambda G: product(D_no_square(G, T), gh(G, T)))),
    _p("b.no_diag", "bptt.grad_b", "sum_t grad_h(t): the diagonal missing",
       param("b", lambda G: gh(G, T))),
    _p("b.diag_1+h2", "bptt.grad_b", "diag(1 + h(t)^2)",
       param("b", lambda G: product(D_plus(G, T), gh(G, T)))),
    _p("b.from2", "bptt.grad_b", "sum from t = 2 (wrong at t = 1 only)",
       param("b", lambda G: product(D(G, T), gh(G, T)), lo=2)),
    _p("b.to_tau-1", "bptt.grad_b", "sum to tau - 1 (wrong at t = tau only)",
       param("b", lambda G: product(D(G, T), gh(G, T)), hi=TAU - 1)),
    _p("b.grad_a", "bptt.grad_b", "diag(1 - h(t)^2) grad_a(t): the diagonal twice",
       param("b", lambda G: product(D(G, T), G.grad("a", T)))),
    # grad_V
    _p("V.h_t-1", "bptt.grad_V", "grad_o(t) h(t-1)^T for h(t)^T",
       param("V", lambda G: product(go(G, T), h(G, T - 1).T))),
    _p("V.sign", "bptt.grad_V", "- sum_t grad_o(t) h(t)^T",
       param("V", lambda G: -product(go(G, T), h(G, T).T))),
    _p("V.from2", "bptt.grad_V", "sum from t = 2 (wrong at t = 1 only)",
       param("V", lambda G: product(go(G, T), h(G, T).T), lo=2)),
    _p("V.to_tau-1", "bptt.grad_V", "sum to tau - 1 (wrong at t = tau only)",
       param("V", lambda G: product(go(G, T), h(G, T).T), hi=TAU - 1)),
    _p("V.yhat", "bptt.grad_V", "y^(t) h(t)^T for grad_o(t) h(t)^T",
       param("V", lambda G: product(yhat(G, T), h(G, T).T))),
    # grad_W
    _p("W.h_t", "bptt.grad_W", "h(t)^T for h(t-1)^T",
       param("W", lambda G: product(D(G, T), gh(G, T), h(G, T).T))),
    _p("W.outer_T", "bptt.grad_W", "h(t-1) (diag(1 - h^2) grad_h(t))^T: outer product swapped",
       param("W", lambda G: product(h(G, T - 1), product(D(G, T), gh(G, T)).T))),
    _p("W.diag_t-1", "bptt.grad_W", "diag(1 - h(t-1)^2) for h(t)",
       param("W", lambda G: product(D(G, T - 1), gh(G, T), h(G, T - 1).T))),
    _p("W.diag_1-h", "bptt.grad_W", "diag(1 - h(t)) for diag(1 - h(t)^2)",
       param("W", lambda G: product(D_no_square(G, T), gh(G, T), h(G, T - 1).T))),
    _p("W.no_diag", "bptt.grad_W", "grad_h(t) h(t-1)^T: the diagonal missing",
       param("W", lambda G: product(gh(G, T), h(G, T - 1).T))),
    _p("W.sign", "bptt.grad_W", "- sum_t ...",
       param("W", lambda G: -product(D(G, T), gh(G, T), h(G, T - 1).T))),
    _p("W.factor2", "bptt.grad_W", "2 sum_t ...",
       param("W", lambda G: 2 * product(D(G, T), gh(G, T), h(G, T - 1).T))),
    _p("W.from2", "bptt.grad_W", "sum from t = 2 (wrong at t = 1 only: h(0) != 0)",
       param("W", lambda G: product(D(G, T), gh(G, T), h(G, T - 1).T), lo=2)),
    _p("W.to_tau-1", "bptt.grad_W", "sum to tau - 1 (wrong at t = tau only)",
       param("W", lambda G: product(D(G, T), gh(G, T), h(G, T - 1).T), hi=TAU - 1)),
    # grad_U
    _p("U.sign", "bptt.grad_U", "- sum_t ...",
       param("U", lambda G: -product(D(G, T), gh(G, T), x(G, T).T))),
    _p("U.diag_t-1", "bptt.grad_U", "diag(1 - h(t-1)^2) for h(t)",
       param("U", lambda G: product(D(G, T - 1), gh(G, T), x(G, T).T))),
    _p("U.no_diag", "bptt.grad_U", "grad_h(t) x(t)^T: the diagonal missing",
       param("U", lambda G: product(gh(G, T), x(G, T).T))),
    _p("U.from2", "bptt.grad_U", "sum from t = 2 (wrong at t = 1 only)",
       param("U", lambda G: product(D(G, T), gh(G, T), x(G, T).T), lo=2)),
    _p("U.to_tau-1", "bptt.grad_U", "sum to tau - 1 (wrong at t = tau only)",
       param("U", lambda G: product(D(G, T), gh(G, T), x(G, T).T), hi=TAU - 1)),
    # the model's own equations
    _p("a.W_T", "fwd.10.8", "a(t) = b + W^T h(t-1) + U x(t)",
       defines("a", lambda G: a_def(G, W=W_T)), "definition"),
    _p("a.b_sign", "fwd.10.8", "a(t) = -b + W h(t-1) + U x(t)",
       defines("a", lambda G: a_def(G, b_sign=-1)), "definition"),
    _p("a.no_U", "fwd.10.8", "a(t) = b + W h(t-1): U x(t) missing",
       defines("a", lambda G: a_def(G, with_u=False)), "definition"),
    _p("h.tanh_neg", "fwd.10.9", "h(t) = tanh(-a(t))",
       defines("h", lambda G: Apply("tanh", -G.node("a", T))), "definition"),
    _p("o.h_t-1", "fwd.10.10", "o(t) = c + V h(t-1)",
       defines("o", lambda G: add(G.P("c"), product(G.P("V"), h(G, T - 1)))), "definition"),
    _p("o.c_sign", "fwd.10.10", "o(t) = V h(t) - c",
       defines("o", lambda G: add(-G.P("c"), product(G.P("V"), h(G, T)))), "definition"),
    _p("yhat.neg", "fwd.10.11", "y^(t) = softmax(-o(t))",
       defines("yhat", lambda G: Softmax(-G.node("o", T))), "definition"),
    _p("L.sign", "loss.nll", "L(t) = y(t)^T log y^(t)",
       lambda G: [GClaim(G.node("L", T), y(G, T).T * Apply("log", yhat(G, T)), ALL, "L(t)")],
       "definition"),
    _p("L.from2", "loss.total", "L = sum_{t=2}^{tau} L(t) (wrong at t = 1 only)",
       total_loss(2), "definition"),
    # the chain rule
    _p("chain.V_sign", "chain.dL_dV", "- sum_t sum_i dL(t)/do_i(t) do_i(t)/dV", dL_dV(sign=-1)),
    _p("chain.V_from2", "chain.dL_dV", "sum from t = 2 (wrong at t = 1 only)", dL_dV(lo=2)),
    _p("chain.W_ascending", "chain.dLt_dW", "prod_j in ascending order J_(k+1) ... J_t",
       Chain("W", three=False).ascending, "induction"),
    _p("chain.U_ascending", "chain.dLt_dU", "prod_j in ascending order J_(k+1) ... J_t",
       Chain("U", three=False).ascending, "induction"),
    # algebra slips: a transpose through a product, a square, a sum of entries
    _p("h.transpose_slip", "bptt.grad_h", "(diag(1 - h(t+1)^2) W^T)^T grad_h(t+1): W not W^T",
       grad_h(lambda G: add(product(product(D(G, T + 1), W_T(G)).T, gh(G, T + 1)),
                            product(V_T(G), go(G, T))))),
    _p("h.WW", "bptt.grad_h", "W^T W^T diag(1 - h(t+1)^2) grad_h(t+1): W^T twice",
       grad_h(lambda G: add(product(W_T(G), W_T(G), D(G, T + 1), gh(G, T + 1)),
                            product(V_T(G), go(G, T))))),
    _p("b.square", "bptt.grad_b", "(1 - h(t)) o (1 - h(t)) for (1 - h(t)) o (1 + h(t))",
       param("b", lambda G: had(ones(h(G, T).rows) - h(G, T), ones(h(G, T).rows) - h(G, T),
                                gh(G, T)))),
    _p("b.sum_entries", "bptt.grad_b", "diag(1 - h^2) grad_h(t) 1^T 1: times n_hidden",
       param("b", lambda G: product(D(G, T), gh(G, T), ones(1, h(G, T).rows),
                                    ones(h(G, T).rows)))),
    _p("c.ones", "bptt.grad_c", "1 1^T grad_o(t): every entry the sum of grad_o(t)",
       param("c", lambda G: product(ones(go(G, T).rows, go(G, T).rows), go(G, T)))),
    _p("c.twice", "bptt.grad_c", "I grad_o(t) + grad_o(t)",
       param("c", lambda G: add(product(sp.Identity(go(G, T).rows), go(G, T)), go(G, T)))),
    # on the rational network (identity, mse): the counterexamples are exact rationals
    _p("x.o.sign", "bptt.grad_o", "y(t) - y^(t)", grad_o(lambda G: y(G, T) - yhat(G, T)),
       spec="rational"),
    _p("x.h.W", "bptt.grad_h", "W for W^T (phi' form)",
       grad_h(lambda G: recursion(G, W=lambda G: G.P("W"), diag=dphi)), spec="rational"),
    _p("x.h.o_next", "bptt.grad_h", "V^T grad_o(t+1) for grad_o(t) (phi' form)",
       grad_h(lambda G: recursion(G, diag=dphi, o_at=T + 1)), spec="rational"),
    _p("x.b.from2", "bptt.grad_b", "sum from t = 2 (wrong at t = 1 only; phi' form)",
       param("b", lambda G: product(dphi(G, T), gh(G, T)), lo=2), spec="rational"),
    _p("x.V.to_tau-1", "bptt.grad_V", "sum to tau - 1 (wrong at t = tau only)",
       param("V", lambda G: product(go(G, T), h(G, T).T), hi=TAU - 1), spec="rational"),
    _p("x.V.h_t-1", "bptt.grad_V", "grad_o(t) h(t-1)^T for h(t)^T",
       param("V", lambda G: product(go(G, T), h(G, T - 1).T)), spec="rational"),
    _p("x.a.W_T", "fwd.10.8", "a(t) = b + W^T h(t-1) + U x(t)",
       defines("a", lambda G: a_def(G, W=W_T)), "definition", spec="rational"),
)

#: Variants whose factors do not multiply at symbolic sizes: ill-formed, never confirmed.
TYPE_ERRORS: tuple[Planted, ...] = (
    _p("htau.V", "bptt.grad_h_tau", "V grad_o(tau) for V^T grad_o(tau)",
       grad_h_tau(lambda G: product(G.P("V"), go(G, TAU))), expect="ill-formed"),
    _p("c.h", "bptt.grad_c", "sum_t h(t) for grad_o(t)",
       param("c", lambda G: h(G, T)), expect="ill-formed"),
    _p("V.outer_T", "bptt.grad_V", "h(t) grad_o(t)^T: outer product swapped",
       param("V", lambda G: product(h(G, T), go(G, T).T)), expect="ill-formed"),
    _p("U.h", "bptt.grad_U", "h(t-1)^T for x(t)^T",
       param("U", lambda G: product(D(G, T), gh(G, T), h(G, T - 1).T)), expect="ill-formed"),
    _p("o.V_T", "fwd.10.10", "o(t) = c + V^T h(t)",
       defines("o", lambda G: add(G.P("c"), product(G.P("V").T, h(G, T)))), "definition",
       expect="ill-formed"),
)


#: Variants that name a step the network does not have: ill-formed, never confirmed.
OUTSIDE: tuple[Planted, ...] = (
    _p("out.htau", "bptt.grad_h_tau", "V^T grad_o(tau) + W^T h(tau+1): reads h(tau+1)",
       grad_h_tau(lambda G: add(product(V_T(G), go(G, TAU)), product(W_T(G), h(G, TAU + 1)))),
       expect="ill-formed"),
    _p("out.h_all", "bptt.grad_h", "the recursion claimed at t = tau too: reads h(tau+1)",
       grad_h(recursion, ALL), expect="ill-formed"),
    _p("out.U_x_next", "bptt.grad_U", "x(t+1)^T for x(t)^T: reads x(tau+1)",
       param("U", lambda G: product(D(G, T), gh(G, T), x(G, T + 1).T)), expect="ill-formed"),
    _p("out.c_grad", "bptt.grad_c", "sum_t grad_o(t) + grad_o(tau+1): names o(tau+1)",
       gives_param("c", lambda G: add(StepSum(go(G, T), 1, TAU), go(G, TAU + 1))),
       expect="ill-formed"),
    _p("out.b_a_prev", "bptt.grad_b", "diag(phi'(a(t-1))) for a(t): reads a(0)",
       param("b", lambda G: product(dphi(G, T - 1), gh(G, T))), expect="ill-formed"),
    _p("out.W_to_tau+1", "bptt.grad_W", "sum to tau + 1: reads h(tau+1)",
       param("W", lambda G: product(D(G, T), gh(G, T), h(G, T - 1).T), hi=TAU + 1),
       expect="ill-formed"),
)


def run(planted: Planted, with_checker: Checker | None = None):
    """The certificate entry of one planted formula, checked as ``certify_context`` checks
    a catalogue (default: its spec's shared Checker)."""
    from symrnn.certificate.engine import certify_context
    cert = certify_context(with_checker or checker(planted.spec), [planted.formula()],
                           workers=1)
    return cert.entries[0]


def table(rows=None) -> tuple[str, int]:
    """The table id | mutation | kind | scope | verified of every planted formula, and the
    number of wrong variants refuted for every size and tau."""
    rows = rows if rows is not None else [(p, run(p)) for p in MUTATIONS + TYPE_ERRORS
                                                    + OUTSIDE]
    head = ("id", "mutation", "kind", "scope", "verified")
    body = [(p.id, f"{p.family}: {p.what}" + (" [tau 4]" if p.spec == "tau4" else ""),
             e.kind, e.scope or "-", (e.counterexample or {}).get("verified", "-"))
            for p, e in rows]
    widths = [max(len(r[k]) for r in [head, *body]) for k in range(len(head))]
    line = lambda r: " | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
    out = [line(head), "-+-".join("-" * w for w in widths)] + [line(r) for r in body]
    refuted = sum(e.kind == "refuted" and e.scope == "all" and p.expect == "refuted"
                  for p, e in rows)
    return "\n".join(out), refuted
