"""The study note's printed formulas (the certificate catalogue of the ``rnn`` model).

Source: the note on back-propagation through time for the vanilla RNN of *Deep Learning*,
chapter 10 (``../shared/seed``). Each entry is a formula as the note prints it: its LaTeX and
plain text, a builder that writes it in matrix form with the same factors, order and index
ranges (symbolic sizes; the builder's own checks say when the print is not a matrix
formula), the readings to try, and the facts a verdict needs. The engine
(``symrnn.certificate.engine``) checks them; nothing here decides a verdict.

Where the print leaves something open, the entry says how it is read (``note``): the note's
sum_{t=1}^{n} has an n it never defines, read as tau; the product prod_{j=k+1}^{t} of
Jacobians has no order, and both orders are built.
"""

from __future__ import annotations

import dataclasses

import sympy as sp

from ..naming import TAU, T, Grad, Steps, StepSum

from ..functions import Apply, Deriv, Softmax
from .claims import (ALL, INTERIOR, LAST, Claim, Formula, GClaim, IllFormed, Reading,
                     StepProduct, add, contract, given, mul, product)
from .claims import LossGradient
from .indexform import Term, normal_form

K = sp.Symbol("k", integer=True)  # the step of an induction over k


# ------------------------------------------------------------------ vocabulary

def h(G, s):
    return G.node("h", s)


def one_minus_h2(G, s):
    """diag(1 - (h(s))^2) as printed in the note (tanh's Jacobian)."""
    hs = h(G, s)
    return sp.DiagMatrix(sp.OneMatrix(hs.rows, 1) - sp.HadamardProduct(hs, hs))


def dphi(G, s):
    """diag(phi'(a(s))): the reading with the model's activation."""
    return sp.DiagMatrix(Deriv(G.activation, G.node("a", s), False))


def dL_do(G, s):
    """dL(s)/do(s) as a row (the loss's gradient: its rule is proved)."""
    return LossGradient(G.node("o", s)).T


def defines(name, formula_of, within=ALL):
    """A definition: ``name``(t) = formula, at every step."""
    return lambda G: [GClaim(G.node(name, T), formula_of(G), within, f"{name}(t)")]


def gives(name, step, formula_of, within):
    """grad_name(step) L = formula, at every step of ``within``."""
    return lambda G: [GClaim(Grad(G.node(name, step)), formula_of(G), within,
                             f"grad_{name}({sp.sstr(step).replace(' ', '')}) L")]


def gives_param(name, formula_of):
    return lambda G: [GClaim(Grad(G.P(name)), formula_of(G), None, f"grad_{name} L")]


def over_t(term_of):
    """sum_{t=1}^{tau} term(t), the note's sum_t."""
    return lambda G: StepSum(term_of(G), 1, TAU)


def phi(G, x):
    return Apply(G.activation, x)


# ------------------------------------------------------------------ the loss definitions

def _total_loss(G):
    """L = sum_t L(t): compared with the model's loss (general) and the graph (instance)."""
    formula = StepSum(G.node("L", T), 1, TAU)

    def general(G):
        L = sp.MatrixSymbol("L", 1, 1)
        return G.equal(G.unfold(L), G.unfold(formula))

    def instance(I):
        g = I.g
        return [Claim(sp.Matrix([[I.scale * g.L]]).applyfunc(lambda e: I.unfold(e, {None})),
                      sp.Matrix([[sp.Add(*g.L_t.values())]]), "L")]
    return [GClaim(None, formula, None, "L", general=general, instance=instance)]


def _nll(G):
    G.label()
    y, yhat = G.node("y", T), G.node("yhat", T)
    return [GClaim(G.node("L", T), -(y.T * Apply("log", yhat)), ALL, "L(t)")]


def _loss_own(G):
    return [GClaim(G.node("L", T), G.loss.matrix_loss(G.node("yhat", T), G.node("y", T)),
                   ALL, "L(t)")]


def _dL_dLt(G):
    """dL/dL(t) = 1: sum_t L(t) differentiated by L(t), in index form."""
    def general(G):
        Lb, k, j = sp.IndexedBase("Lt"), sp.Symbol("k", integer=True), sp.Symbol("j", integer=True)
        from .indexform import from_sympy, Context
        ctx = Context(general=G)
        d = sp.diff(G.scale * Lb[k], Lb[j])  # L = scale sum_k L(k): 1 for the sum
        terms = [Term(t.coeff, t.bound + ((k, TAU),)) for t in from_sympy(d, ctx)]
        return not normal_form(terms + [Term(sp.Integer(-1))])

    def instance(I):
        return [Claim(I.grad("L", t), sp.Matrix([1]), f"dL/dL({t})") for t in range(1, I.spec.tau + 1)]
    return [GClaim(None, sp.Integer(1), ALL, "dL/dL(t)", general=general, instance=instance)]


# ------------------------------------------------------------------ the chain rule, first part

def _through(I, param: str, adjoints: sp.Matrix) -> sp.Matrix:
    """The terms of the derived grad_P L that contain the given gradient symbols."""
    key = ("terms", param)
    if key not in I.cache:
        index: dict = {}
        for n, e in enumerate(I.d.grad(param)):
            for term in sp.Add.make_args(I.d.defs[e]):
                for s in term.free_symbols:
                    if s in I.d.defs:
                        index.setdefault(s, {}).setdefault(n, []).append(term)
        I.cache[key] = index
    index = I.cache[key]
    G = I.d.grad(param)
    out = sp.zeros(*G.shape)
    for n in range(len(G)):
        terms = {t for s in adjoints for t in index.get(s, {}).get(n, [])}
        out[n] = sp.Add(*sorted(terms, key=sp.default_sort_key))
    return out


def _dLt_do(I, t):
    return I.jacobian("L", t, "o", t)


def _dLt_dV(per_step: bool):
    """dL(t)/dV read as sum_i dL(t)/do_i(t) do_i(t)/dV (and summed over t)."""
    def build(G):
        term = lambda s: G.contract(dL_do(G, s), G.node("o", s), G.P("V"))
        if not per_step:
            return [GClaim(Grad(G.P("V")), StepSum(term(T), 1, TAU), None, "dL/dV")]

        def general(G):  # dL(t)/dV: the summand of grad_V L at t, for L(t) alone
            G = G.per_step  # facts of L(t), whatever reduction makes L
            V = G.P("V")
            summand = G.truth(V, None).expr  # grad_o(t) L h(t)^T
            truth = G.expand(summand, frozenset(), ALL)
            return G.equal(truth, term(T), ALL)

        def instance(I):
            I = I.per_step
            out = []
            for t in range(1, I.spec.tau + 1):
                J = I.param_jacobian("o", t, "V")
                out.append(Claim(_through(I, "V", I.grad("o", t)),
                                 contract(_dLt_do(I, t), J), f"dL({t})/dV", instance=I))
            return out
        return [GClaim(None, term(T), ALL, "dL(t)/dV", general=general, instance=instance)]
    return build


def _printed_dV(per_step: bool):
    def build(G):
        s = T
        row = dL_do(G, s)
        p = product(row, G.rank3(G.node("o", s), G.P("V")))
        return [GClaim(Grad(G.P("V")), StepSum(p, 1, TAU) if not per_step else p, None, "dV")]
    return build


class Chain:
    """dL(t)/dP = sum_k dL(t)/do(t) do(t)/dh(t) (prod_{j=k+1..t} dh(j)/dh(j-1)) dh(k)/dP.

    As printed, the row meets the rank-3 dh(k)/dP in a matrix product (shorthand) and the
    product over j has no order (ambiguous). Read with the row contracted with the Jacobian's
    first index and the factors in descending order J_t ... J_{k+1}, it holds for every t and
    every size, by induction over k, each case an identity:
      base  r(t) := dL(t)/do(t) do(t)/dh(t) is (grad_h(t) L(t))^T: the derived grad_h(tau)
            equation with tau read as t (L(t) is the loss of the network cut after step t);
      step  v dh(k)/dh(k-1) = (W^T diag(phi'(a(k))) v^T)^T: the derived recursion, without the
            o(k-1) term (L(t) does not read o(k-1) for k - 1 < t), for a symbolic row v;
      term  v . dh(k)/dP (contracted) is the derived contribution of a(k) to grad_P L;
      k = 0 h(0) is given: dh(0)/dP = 0.
    Descending is the order the induction builds (r(t) J_t ... J_{k+1} J_k appends J_k on the
    right); ascending J_{k+1} ... J_t differs when tau >= 3 and n_hidden >= 2, and a rational
    point shows it.
    """

    def __init__(self, param: str, three: bool):
        self.param, self.three = param, three

    # the printed form
    def printed(self, G):
        t = 3 if self.three else T
        row = product(dL_do(G, t), G.jac(G.node("o", t), h(G, t)))
        if self.three:  # written out for t = 3, in the note's order
            for k in (3, 2, 1):
                factors = [row] + [G.jac(h(G, j), h(G, j - 1)) for j in range(3, k, -1)]
                product(*factors, G.rank3(h(G, k), G.P(self.param)))
        J = StepProduct(lambda j: G.jac(h(G, j), h(G, j - 1)), K + 1, t,
                        "prod_{j=k+1}^{t} dh(j)/dh(j-1)")
        product(row, J, G.rank3(h(G, K), G.P(self.param)))
        return []

    # the induction (the descending, contracted reading)
    def induction(self, G):
        v = sp.MatrixSymbol("v", 1, h(G, T).rows)
        P = G.P(self.param)

        def base(G):
            G = G.per_step  # a fact of L(t), whatever reduction makes L
            r = product(dL_do(G, T), G.jac(G.node("o", T), h(G, T)))
            last = G.truth(h(G, TAU), None).xreplace({TAU: T})  # V^T grad_o(t) L
            truth = G.expand(last, frozenset(), ALL)
            return G.equal(truth, r.T)

        def step(G):  # k = t from 2 to tau: h(k - 1) is an interior step
            ks = Steps(2, TAU)
            inner = G.truth(h(G, T - 1), ks)  # W^T grad_a(t) L + V^T grad_o(t-1) L
            inner = inner.xreplace({G.grad("o", T - 1): sp.ZeroMatrix(*G.grad("o", T - 1).shape)})
            inner = G.expand(inner, frozenset({G.grad("h", T)}), ks)
            inner = inner.xreplace({G.grad("h", T): v.T})
            return G.equal(inner, product(v, G.jac(h(G, T), h(G, T - 1))).T)

        def term(G):
            G = G.per_step  # a fact of L(t), whatever reduction makes L
            summand = G.truth(P, None)
            summand = summand.args[0] if isinstance(summand, sp.MatAdd) else summand
            derived = G.expand(summand.expr, frozenset({G.grad("h", T)}), ALL)
            derived = derived.xreplace({G.grad("h", T): v.T})
            return G.equal(derived, G.contract(v, h(G, T), P))

        def zero(G):
            G = G.per_step  # a fact of L(t), whatever reduction makes L
            return G.equal(sp.ZeroMatrix(*P.shape), G.contract(v, h(G, 0), P))

        return [GClaim(None, None, None, "base", general=base, instance=self._base_instance),
                GClaim(None, None, None, "step", general=step, instance=self._step_instance),
                GClaim(None, None, None, "term", general=term, instance=self._term_instance),
                GClaim(None, None, None, "k = 0", general=zero, instance=self._zero_instance)]

    def _ts(self, I):
        return [3] if self.three else list(range(1, I.spec.tau + 1))

    def _v(self, I):
        return sp.Matrix(1, I.spec.n_hidden, lambda _, i: sp.Symbol(f"v[{i}]", real=True))

    def _base_instance(self, I):
        I = I.per_step
        out = []
        for t in self._ts(I):
            def build(t=t):
                gh = I.grad("h", t)
                o_branch = gh.applyfunc(lambda e: I.d.defs[e])
                if t < I.spec.tau:
                    o_branch = o_branch.xreplace({s: 0 for s in I.grad("a", t + 1)})
                return Claim(o_branch.T, mul(_dLt_do(I, t), I.jacobian("o", t, "h", t)),
                             f"base t={t}", key=("chain-base", t), instance=I)
            out.append(I.memo(("chain-base", t), build))
        return out

    def _step_instance(self, I):
        I = I.per_step
        v, out = self._v(I), []
        for k in range(2, max(self._ts(I)) + 1):
            def build(k=k):
                ghk = I.grad("h", k - 1).applyfunc(lambda e: I.d.defs[e])
                ghk = ghk.xreplace({s: 0 for s in I.grad("o", k - 1)})
                ghk = I.d.expand(ghk, set(I.grad("h", k)))
                derived = ghk.xreplace(dict(zip(I.grad("h", k), v)))
                return Claim(derived.T, mul(v, I.jacobian("h", k, "h", k - 1)), f"step k={k}",
                             key=("chain-step", k), instance=I)
            out.append(I.memo(("chain-step", k), build))
        return out

    def _term_instance(self, I):
        I = I.per_step
        v, out = self._v(I), []
        for k in range(1, max(self._ts(I)) + 1):
            part = _through(I, self.param, I.grad("a", k))
            part = I.d.expand(part, set(I.grad("h", k))).xreplace(dict(zip(I.grad("h", k), v)))
            out.append(Claim(part, contract(v, I.param_jacobian("h", k, self.param)),
                             f"term k={k}", instance=I))
        return out

    def _zero_instance(self, I):
        I = I.per_step
        v = self._v(I)
        Z = I.param_jacobian("h", 0, self.param)
        return [Claim(sp.zeros(*Z.shape[1:]), contract(v, Z), "term k=0", instance=I)]

    # the ascending reading: built at an instance and refuted by a point
    def ascending(self, G):
        def general(G):
            return False  # not an identity: the Jacobians do not commute

        return [GClaim(None, None, None, "ascending", general=general,
                       instance=self._ascending_instance)]

    def _ascending_instance(self, I):
        """dL(4)/dP with the factors ascending, against the derivation of L(4) alone, at
        this instance, or at tau = 4 with n_hidden = 2 when this one is too small (with h(0)
        = 0 the only term with two Jacobians at t = 3 vanishes for W: t = 4 has more)."""
        I = I.per_step
        from ..core.derive import derive
        from ..core.graph import unroll
        from .instance import Instance
        spec = I.spec
        if spec.tau < 4 or spec.n_hidden < 2:
            small = type(spec)(tau=4, n_in=1, n_hidden=2, n_out=max(spec.n_out, 2),
                               activation=spec.activation, loss=spec.loss, h0=spec.h0,
                               model=spec.model)
            # one small instance for every parameter's ascending claim
            key = ("ascending instance", small)
            if key not in I.cache:
                g = unroll(I.g.model, small)
                I.cache[key] = Instance(g, derive(g))
            I = I.cache[key]
        t = 4
        d_t = derive(I.g, seeds={t: 1})  # L(3) alone
        J = {j: I.jacobian("h", j, "h", j - 1) for j in range(2, t + 1)}
        total = None
        r = mul(_dLt_do(I, t), I.jacobian("o", t, "h", t))
        for k in range(1, t + 1):
            row = r
            for j in range(k + 1, t + 1):  # ascending: J_{k+1} first
                row = mul(row, J[j])
            term = contract(row, I.param_jacobian("h", k, self.param))
            total = term if total is None else total + term
        s = I.spec
        claim = Claim(d_t.grad(self.param), total,
                      f"dL({t})/d{self.param} with the factors ascending "
                      f"(tau = {s.tau}, sizes {s.n_in}/{s.n_hidden}/{s.n_out})")
        claim.instance = Instance(I.g, d_t, I.zero)
        claim.refute_first = True
        return [claim]


# ------------------------------------------------------------------ the catalogue

def _printed_grad_h(G):
    return add(product(G.P("W").T, G.grad("h", T + 1), one_minus_h2(G, T + 1)),
               product(G.P("V").T, G.grad("o", T)))


def _param_sum(param: str, factor, right=None):
    """sum_t D(t) grad_h(t) [right(t)^T] with D = diag(1 - h^2) (printed) or diag(phi'(a))."""
    def formula(G):
        D = factor(G, T)
        if right is None:
            return StepSum(product(D, G.grad("h", T)), 1, TAU)
        return StepSum(product(D, G.grad("h", T), right(G).T), 1, TAU)
    return gives_param(param, formula)


def _middle(param: str, node: str):
    """sum_t sum_i (dL/d node_i(t)) grad_{P(t)} node_i(t): P(t) a copy of P used only at t."""
    return gives_param(param, lambda G: StepSum(
        G.contract(G.grad(node, T).T, G.node(node, T), G.P(param)), 1, TAU))


def _middle_vector(param: str, node: str):
    """sum_t (d node(t)/d P(t))^T grad_node(t) L for a bias P."""
    return gives_param(param, lambda G: StepSum(
        product(G.jac(G.node(node, T), G.P(param)).T, G.grad(node, T)), 1, TAU))


_DIAG_1H2 = r"\text{diag} \Big( 1 - \big( \boldsymbol h^{(t)} \big)^2 \Big)"
_DIAG_PHI = r"\text{diag} \big( \phi'(\boldsymbol a^{(t)}) \big)"
_GH = r"\nabla_{\boldsymbol h^{(t)}} L"


def _chain_printed(param: str, t: str, lo: str) -> str:
    return (rf"\frac{{\partial L^{{({t})}}}}{{\partial {param}}}=\sum_{{k={lo}}}^{{{t}}}\frac{{\partial "
            rf"L^{{({t})}}}}{{\partial o^{{({t})}}}}\frac{{\partial o^{{({t})}}}}{{\partial h^{{({t})}}}}"
            rf"(\prod_{{j=k+1}}^{{{t}}}\frac{{\partial h^{{(j)}}}}{{\partial h^{{(j-1)}}}})"
            rf"\frac{{\partial h^{{(k)}}}}{{\partial {param}}}")


def _chain_reading(param: str, t: str, lo: str, descending: bool = True) -> str:
    if descending:
        prod = (rf"\frac{{\partial h^{{({t})}}}}{{\partial h^{{({t}-1)}}}} \cdots "
                rf"\frac{{\partial h^{{(k+1)}}}}{{\partial h^{{(k)}}}}")
    else:
        prod = (rf"\frac{{\partial h^{{(k+1)}}}}{{\partial h^{{(k)}}}} \cdots "
                rf"\frac{{\partial h^{{({t})}}}}{{\partial h^{{({t}-1)}}}}")
    return (rf"\frac{{\partial L^{{({t})}}}}{{\partial {param}}}=\sum_{{k={lo}}}^{{{t}}}\sum_i \Big("
            rf"\frac{{\partial L^{{({t})}}}}{{\partial o^{{({t})}}}}\frac{{\partial o^{{({t})}}}}"
            rf"{{\partial h^{{({t})}}}}{prod}\Big)_i \frac{{\partial h_i^{{(k)}}}}{{\partial {param}}}")


def _three_terms(param: str) -> str:
    head = r"\frac{\partial L^{(3)}}{\partial o^{(3)}}\frac{\partial o^{(3)}}{\partial h^{(3)}}"
    return (rf"\frac{{\partial L^{{(3)}}}}{{\partial {param}}}={head}\frac{{\partial h^{{(3)}}}}"
            rf"{{\partial {param}}}+{head}\frac{{\partial h^{{(3)}}}}{{\partial h^{{(2)}}}}"
            rf"\frac{{\partial h^{{(2)}}}}{{\partial {param}}}+{head}\frac{{\partial h^{{(3)}}}}"
            rf"{{\partial h^{{(2)}}}}\frac{{\partial h^{{(2)}}}}{{\partial h^{{(1)}}}}"
            rf"\frac{{\partial h^{{(1)}}}}{{\partial {param}}}")


CONTRACTION = ("the row contracted with the Jacobian's first index (Deep Learning 6.5.2): "
               "sum_i row_i dh_i(k)/d{p}, with dh_i(k)/d{p} the direct dependence")

CATALOGUE: tuple[Formula, ...] = (
    Formula("fwd.hidden", "forward", "hidden state, first section (generic phi)",
            r"h^{(t)}=\phi(Ux^{(t)}+Wh^{(t-1)}+b)", "h(t) = phi(U x(t) + W h(t-1) + b)",
            defines("h", lambda G: phi(G, add(product(G.P("U"), G.node("x", T)),
                                              product(G.P("W"), h(G, T - 1)), G.P("b")))),
            method="definition"),
    Formula("fwd.output", "forward", "output, first section", r"o^{(t)}=Vh^{(t)}+c",
            "o(t) = V h(t) + c",
            defines("o", lambda G: add(product(G.P("V"), h(G, T)), G.P("c"))),
            method="definition"),
    Formula("fwd.sigma", "forward", "prediction, first section",
            r"\hat{y}^{(t)}=\sigma(o^{(t)})", "y^(t) = sigma(o(t))",
            defines("yhat", lambda G: G.loss.matrix_output(G.node("o", T))),
            method="definition", note="sigma is the output function: softmax in the note"),
    Formula("fwd.10.8", "forward", "pre-activation (10.8)", r"a^{(t)}=b+W h^{(t-1)}+U x^{(t)}",
            "a(t) = b + W h(t-1) + U x(t)",
            defines("a", lambda G: add(G.P("b"), product(G.P("W"), h(G, T - 1)),
                                       product(G.P("U"), G.node("x", T)))),
            method="definition"),
    Formula("fwd.10.9", "forward", "hidden state (10.9)",
            r"\boldsymbol{h}^{(t)}=\tanh \left(\boldsymbol{a}^{(t)}\right)", "h(t) = tanh(a(t))",
            defines("h", lambda G: Apply("tanh", G.node("a", T))),
            ((r"\boldsymbol{h}^{(t)}=\phi\left(\boldsymbol{a}^{(t)}\right)", "h(t) = phi(a(t))",
              defines("h", lambda G: phi(G, G.node("a", T)))),),
            method="definition", assumes="tanh-forward"),
    Formula("fwd.10.10", "forward", "output (10.10)",
            r"\boldsymbol{o}^{(t)}=\boldsymbol{c}+\boldsymbol{V} \boldsymbol{h}^{(t)}",
            "o(t) = c + V h(t)",
            defines("o", lambda G: add(G.P("c"), product(G.P("V"), h(G, T)))),
            method="definition"),
    Formula("fwd.10.11", "forward", "prediction (10.11)",
            r"\hat{\boldsymbol{y}}^{(t)}=\operatorname{softmax}\left(\boldsymbol{o}^{(t)}\right)",
            "y^(t) = softmax(o(t))", defines("yhat", lambda G: Softmax(G.node("o", T))),
            ((r"\hat{\boldsymbol{y}}^{(t)}=\operatorname{out}\left(\boldsymbol{o}^{(t)}\right)",
              "y^(t) = out(o(t)) of the chosen loss",
              defines("yhat", lambda G: G.loss.matrix_output(G.node("o", T)))),),
            method="definition", assumes="softmax"),
    Formula("loss.total", "loss", "total loss",
            r"L\big( \{ \boldsymbol x^{(1)}, \dots, \boldsymbol x^{(\tau)} \}, \{ \boldsymbol y^{(1)}, "
            r"\dots, \boldsymbol y^{(\tau)}  \} \big) = \sum_t L^{(t)}", "L = sum_t L(t)",
            _total_loss, method="definition"),
    Formula("loss.sum_n", "loss", "total loss, first section",
            r"L = \sum_{t=1}^{n} L^{(t)}", "L = sum_{t=1..n} L(t)", _total_loss,
            method="definition", note="the note's n is read as tau"),
    Formula("loss.nll", "loss", "negative log-likelihood of the label",
            r"L^{(t)} = - \log p_{\text{model}} \big(  y^{(t)} \mid  \{ \boldsymbol x^{(1)}, \dots, "
            r"\boldsymbol x^{(t)} \} \big) = -\log \hat y^{(t)}_{y^{(t)}}",
            "L(t) = -log y^(t)[y(t)]", _nll,
            ((r"L^{(t)} = \ell\big(\hat{\boldsymbol y}^{(t)}, \boldsymbol y^{(t)}\big)",
              "L(t) = loss(y^(t), y(t)) of the chosen loss", _loss_own),),
            method="definition", assumes="class",
            note="y^(t)[y(t)] is read as y(t)^T log y^(t) with y(t) the one-hot of the label"),
    Formula("bptt.dL_dLt", "bptt", "gradient of the loss per step",
            r"\frac{\partial L}{\partial L^{(t)}} = 1", "dL/dL(t) = 1", _dL_dLt),
    Formula("bptt.grad_o", "bptt", "output gradient",
            r"(\nabla_{\boldsymbol o^{(t)}} L)_i = \hat y_i^{(t)} - \mathbf{1}_{i,y^{(t)}}",
            "(grad_o(t) L)_i = y^_i(t) - 1[i = y(t)]",
            lambda G: (G.label(), gives("o", T, lambda G: G.node("yhat", T) - G.node("y", T),
                                        ALL)(G))[1],
            ((r"\nabla_{\boldsymbol o^{(t)}} L = \hat{\boldsymbol y}^{(t)} - \boldsymbol y^{(t)}",
              "grad_o(t) L = y^(t) - y(t) (target vector)",
              gives("o", T, lambda G: G.node("yhat", T) - G.node("y", T), ALL)),),
            assumes="class", gradient_of="o", steps=ALL,
            note="1[i = y(t)] is the one-hot vector of the label y(t)"),
    Formula("bptt.grad_h_tau", "bptt", "last hidden gradient",
            r"\nabla_{\boldsymbol h^{(\tau)}} L = \boldsymbol V^\top \nabla_{\boldsymbol o^{(\tau)}} L",
            "grad_h(tau) L = V^T grad_o(tau) L",
            gives("h", TAU, lambda G: product(G.P("V").T, G.grad("o", TAU)), None),
            gradient_of="h", steps=LAST),
    Formula("bptt.grad_h.jacobian", "bptt", "hidden gradient recursion, Jacobian form",
            r"\nabla_{\boldsymbol h^{(t)}} L = \Big( \frac{\partial \boldsymbol h^{(t+1)}}{ \partial "
            r"\boldsymbol h^{(t)}}  \Big)^\top(\nabla_{\boldsymbol h^{(t+1)}} L) + \Big( \frac{\partial "
            r"\boldsymbol o^{(t)}}{ \partial \boldsymbol h^{(t)}}  \Big)^\top (\nabla_{\boldsymbol "
            r"o^{(t)}} L)",
            "grad_h(t) L = (dh(t+1)/dh(t))^T grad_h(t+1) L + (do(t)/dh(t))^T grad_o(t) L",
            gives("h", T, lambda G: add(
                product(G.jac(h(G, T + 1), h(G, T)).T, G.grad("h", T + 1)),
                product(G.jac(G.node("o", T), h(G, T)).T, G.grad("o", T))), INTERIOR),
            needs_tau=2, gradient_of="h", steps=INTERIOR),
    Formula("bptt.grad_h", "bptt", "hidden gradient recursion, matrix form",
            r"\nabla_{\boldsymbol h^{(t)}} L = \boldsymbol W^\top (\nabla_{\boldsymbol h^{(t+1)}} L) "
            r"\text{diag} \Big( 1 - (\boldsymbol h^{(t+1)})^2 \Big) + \boldsymbol V^\top ( "
            r"\nabla_{\boldsymbol o^{(t)}} L )",
            "grad_h(t) L = W^T (grad_h(t+1) L) diag(1 - h(t+1)^2) + V^T grad_o(t) L",
            gives("h", T, _printed_grad_h, INTERIOR),
            ((r"\nabla_{\boldsymbol h^{(t)}} L = \boldsymbol W^\top \text{diag} \Big( 1 - "
              r"(\boldsymbol h^{(t+1)})^2 \Big) (\nabla_{\boldsymbol h^{(t+1)}} L) + \boldsymbol "
              r"V^\top \nabla_{\boldsymbol o^{(t)}} L",
              "grad_h(t) L = W^T diag(1 - h(t+1)^2) grad_h(t+1) L + V^T grad_o(t) L",
              gives("h", T, lambda G: add(
                  product(G.P("W").T, one_minus_h2(G, T + 1), G.grad("h", T + 1)),
                  product(G.P("V").T, G.grad("o", T))), INTERIOR),
              "the diagonal factor moved before the gradient: (diag(1 - h^2) W)^T = W^T "
              "diag(1 - h^2)"),
             (r"\nabla_{\boldsymbol h^{(t)}} L = \boldsymbol W^\top \text{diag} \big( \phi'("
              r"\boldsymbol a^{(t+1)}) \big) (\nabla_{\boldsymbol h^{(t+1)}} L) + \boldsymbol "
              r"V^\top \nabla_{\boldsymbol o^{(t)}} L",
              "grad_h(t) L = W^T diag(phi'(a(t+1))) grad_h(t+1) L + V^T grad_o(t) L",
              gives("h", T, lambda G: add(
                  product(G.P("W").T, dphi(G, T + 1), G.grad("h", T + 1)),
                  product(G.P("V").T, G.grad("o", T))), INTERIOR),
              "the same with phi' of the chosen activation")),
            needs_tau=2, assumes="tanh", gradient_of="h", steps=INTERIOR),
    Formula("bptt.grad_c.middle", "bptt", "bias c, through the Jacobians",
            r"\nabla_{\boldsymbol c} L = \sum_t \Big( \frac{\partial \boldsymbol o^{(t)}}{\partial "
            r"\boldsymbol c} \Big)^\top \nabla_{\boldsymbol o^{(t)}} L",
            "grad_c L = sum_t (do(t)/dc)^T grad_o(t) L", _middle_vector("c", "o"),
            gradient_of="c"),
    Formula("bptt.grad_c", "bptt", "bias c",
            r"\nabla_{\boldsymbol c} L = \sum_t \nabla_{\boldsymbol o^{(t)}} L",
            "grad_c L = sum_t grad_o(t) L",
            gives_param("c", over_t(lambda G: G.grad("o", T))), gradient_of="c"),
    Formula("bptt.grad_b.middle", "bptt", "bias b, through the Jacobians",
            r"\nabla_{\boldsymbol b} L = \sum_t \Big( \frac{\partial \boldsymbol h^{(t)}}{\partial "
            r"\boldsymbol b^{(t)}} \Big)^\top \nabla_{\boldsymbol h^{(t)}} L",
            "grad_b L = sum_t (dh(t)/db(t))^T grad_h(t) L", _middle_vector("b", "h"),
            gradient_of="b", note="b(t) is a copy of b used only at step t (the note's device)"),
    Formula("bptt.grad_b", "bptt", "bias b",
            r"\nabla_{\boldsymbol b} L = \sum_t \text{diag} \Big( 1 - \big( \boldsymbol h^{(t)} "
            r"\big)^2 \Big)  \nabla_{\boldsymbol h^{(t)}} L",
            "grad_b L = sum_t diag(1 - h(t)^2) grad_h(t) L", _param_sum("b", one_minus_h2),
            ((rf"\nabla_{{\boldsymbol b}} L = \sum_t {_DIAG_PHI} {_GH}",
              "grad_b L = sum_t diag(phi'(a(t))) grad_h(t) L", _param_sum("b", dphi)),),
            assumes="tanh", gradient_of="b"),
    Formula("bptt.grad_V.middle", "bptt", "output weights V, entry by entry",
            r"\nabla_{\boldsymbol V} L = \sum_t \sum_i \Big( \frac{\partial L}{\partial o_i^{(t)}} "
            r"\Big) \nabla_{\boldsymbol V} o_i^{(t)}",
            "grad_V L = sum_t sum_i (dL/do_i(t)) grad_V o_i(t)", _middle("V", "o"),
            gradient_of="V"),
    Formula("bptt.grad_V", "bptt", "output weights V",
            r"\nabla_{\boldsymbol V} L = \sum_t (\nabla_{\boldsymbol o^{(t)}} L) \boldsymbol h^{(t)^\top}",
            "grad_V L = sum_t (grad_o(t) L) h(t)^T",
            gives_param("V", over_t(lambda G: product(G.grad("o", T), h(G, T).T))),
            gradient_of="V"),
    Formula("bptt.grad_W.middle", "bptt", "recurrent weights W, entry by entry",
            r"\nabla_{\boldsymbol W} L = \sum_t \sum_i \Big( \frac{\partial L}{\partial h_i^{(t)}} "
            r"\Big) \nabla_{\boldsymbol W^{(t)}} h_i^{(t)}",
            "grad_W L = sum_t sum_i (dL/dh_i(t)) grad_{W(t)} h_i(t)", _middle("W", "h"),
            gradient_of="W", note="W(t) is a copy of W used only at step t (the note's device)"),
    Formula("bptt.grad_W", "bptt", "recurrent weights W",
            r"\nabla_{\boldsymbol W} L = \sum_t \text{diag} \Big( 1 - \big( \boldsymbol h^{(t)} "
            r"\big)^2 \Big) ( \nabla_{\boldsymbol h^{(t)}} L) \boldsymbol h^{(t-1)^\top}",
            "grad_W L = sum_t diag(1 - h(t)^2) (grad_h(t) L) h(t-1)^T",
            _param_sum("W", one_minus_h2, lambda G: h(G, T - 1)),
            ((rf"\nabla_{{\boldsymbol W}} L = \sum_t {_DIAG_PHI} ( {_GH}) "
              r"\boldsymbol h^{(t-1)^\top}",
              "grad_W L = sum_t diag(phi'(a(t))) (grad_h(t) L) h(t-1)^T",
              _param_sum("W", dphi, lambda G: h(G, T - 1))),),
            assumes="tanh", gradient_of="W"),
    Formula("bptt.grad_U.middle", "bptt", "input weights U, entry by entry",
            r"\nabla_{\boldsymbol U} L = \sum_t \sum_i \Big( \frac{\partial L}{\partial h_i^{(t)}} "
            r"\Big) \nabla_{\boldsymbol U^{(t)}} h_i^{(t)}",
            "grad_U L = sum_t sum_i (dL/dh_i(t)) grad_{U(t)} h_i(t)", _middle("U", "h"),
            gradient_of="U", note="U(t) is a copy of U used only at step t (the note's device)"),
    Formula("bptt.grad_U", "bptt", "input weights U",
            r"\nabla_{\boldsymbol U} L = \sum_t \text{diag} \Big( 1 - \big( \boldsymbol h^{(t)} "
            r"\big)^2 \Big) ( \nabla_{\boldsymbol h^{(t)}} L) \boldsymbol x^{(t)^\top}",
            "grad_U L = sum_t diag(1 - h(t)^2) (grad_h(t) L) x(t)^T",
            _param_sum("U", one_minus_h2, lambda G: G.node("x", T)),
            ((rf"\nabla_{{\boldsymbol U}} L = \sum_t {_DIAG_PHI} ( {_GH}) "
              r"\boldsymbol x^{(t)^\top}",
              "grad_U L = sum_t diag(phi'(a(t))) (grad_h(t) L) x(t)^T",
              _param_sum("U", dphi, lambda G: G.node("x", T))),),
            assumes="tanh", gradient_of="U"),
)


WEIGHTS = {"W": "recurrent weights W", "U": "input weights U"}


def _chain_formulas() -> tuple[Formula, ...]:
    out = [
        Formula("chain.dLt_dV", "chain", "output weights V, the loss of one step, by the chain rule",
                r"\frac{\partial L^{(t)}}{\partial V}=\frac{\partial L^{(t)}}{\partial o^{(t)}}\cdot "
                r"\frac{\partial o^{(t)}}{\partial V}", "dL(t)/dV = dL(t)/do(t) . do(t)/dV",
                _printed_dV(True),
                ((r"\frac{\partial L^{(t)}}{\partial V}=\sum_i \frac{\partial L^{(t)}}{\partial "
                  r"o_i^{(t)}} \frac{\partial o_i^{(t)}}{\partial V}",
                  "dL(t)/dV = sum_i dL(t)/do_i(t) do_i(t)/dV", _dLt_dV(True),
                  CONTRACTION.format(p="V").replace("dh_i(k)", "do_i(t)")),)),
        Formula("chain.dL_dV", "chain", "output weights V, summed over the steps",
                r"\frac{\partial L}{\partial V}=\sum_{t=1}^{n}\frac{\partial L^{(t)}}{\partial "
                r"o^{(t)}}\cdot \frac{\partial o^{(t)}}{\partial V}",
                "dL/dV = sum_{t=1..n} dL(t)/do(t) . do(t)/dV", _printed_dV(False),
                ((r"\frac{\partial L}{\partial V}=\sum_{t=1}^{\tau}\sum_i \frac{\partial L^{(t)}}"
                  r"{\partial o_i^{(t)}} \frac{\partial o_i^{(t)}}{\partial V}",
                  "dL/dV = sum_{t=1..tau} sum_i dL(t)/do_i(t) do_i(t)/dV", _dLt_dV(False),
                  CONTRACTION.format(p="V").replace("dh_i(k)", "do_i(t)")),),
                note="the note's n is read as tau"),
    ]
    for param in ("W", "U"):
        three = Chain(param, three=True)
        out.append(Formula(
            f"chain.dL3_d{param}", "chain", f"{WEIGHTS[param]}, the note's three-step expansion",
            _three_terms(param),
            f"dL(3)/d{param} = sum_{{k=1..3}} dL(3)/do(3) do(3)/dh(3) prod_{{j=k+1..3}} "
            f"dh(j)/dh(j-1) dh(k)/d{param}",
            three.printed,
            ((_chain_reading(param, "3", "1"),
              f"dL(3)/d{param} = sum_k sum_i (row prod)_i dh_i(k)/d{param} (contracted)",
              three.induction, CONTRACTION.format(p=param)),),
            needs_tau=3, method="induction"))
        general = Chain(param, three=False)
        out.append(Formula(
            f"chain.dLt_d{param}", "chain", f"{WEIGHTS[param]}, the general expansion over k",
            _chain_printed(param, "t", "0"),
            f"dL(t)/d{param} = sum_{{k=0..t}} dL(t)/do(t) do(t)/dh(t) prod_{{j=k+1..t}} "
            f"dh(j)/dh(j-1) dh(k)/d{param}",
            general.printed,
            ((_chain_reading(param, "t", "0", True),
              f"descending order J_t ... J_(k+1), contracted: dL(t)/d{param} = sum_k sum_i "
              f"(r(t) J_t ... J_(k+1))_i dh_i(k)/d{param}",
              general.induction,
              "the factors in descending order J_t ... J_(k+1) (as the note's own tau = 3 "
              "expansion writes them), " + CONTRACTION.format(p=param)),
             (_chain_reading(param, "t", "0", False),
              f"ascending order J_(k+1) ... J_t, contracted: dL(t)/d{param} = sum_k sum_i "
              f"(r(t) J_(k+1) ... J_t)_i dh_i(k)/d{param}",
              general.ascending,
              "the factors in ascending order J_(k+1) ... J_t (j from left to right), "
              + CONTRACTION.format(p=param),
              ("differs from the descending order whenever tau >= 3 and n_hidden >= 2 (the "
               "Jacobians do not commute); the two agree otherwise",))),
            method="induction",
            note="prod_{j=k+1}^{t} has no order; both orders are built"))
    return tuple(out)


class Catalogue(tuple):
    """The formulas of one source text, with the source's own headings (``parts``: for each
    part of the catalogue, the heading in the source and its English rendering)."""

    source: dict = {}

    def __new__(cls, formulas, source: dict):
        self = super().__new__(cls, formulas)
        self.source = source
        return self


SOURCE = {
    "parts": {
        "forward": {"en": "RNN forward propagation; forward propagation",
                    "zh": "RNN 前向传播；前向传播"},
        "loss": {"en": "forward propagation (the loss)", "zh": "前向传播（损失）"},
        "bptt": {"en": "computing the gradient of a recurrent neural network",
                 "zh": "计算循环神经网络的梯度"},
        "chain": {"en": "back-propagation (BPTT)", "zh": "反向传播（BPTT）"},
    },
}

#: The equation numbers of Deep Learning (chapter 10, section 10.2.2) the note's formulas are.
REFS = {
    "loss.total": "10.12-10.14", "loss.nll": "10.12-10.14", "bptt.dL_dLt": "10.17",
    "bptt.grad_o": "10.18", "bptt.grad_h_tau": "10.19", "bptt.grad_h.jacobian": "10.20",
    "bptt.grad_h": "10.21", "bptt.grad_c.middle": "10.22", "bptt.grad_c": "10.22",
    "bptt.grad_b.middle": "10.23", "bptt.grad_b": "10.23", "bptt.grad_V.middle": "10.24",
    "bptt.grad_V": "10.24", "bptt.grad_W.middle": "10.25", "bptt.grad_W": "10.26",
    "bptt.grad_U.middle": "10.27", "bptt.grad_U": "10.28",
}

CATALOGUE = Catalogue(tuple(dataclasses.replace(f, ref=REFS[f.id]) if f.id in REFS else f
                            for f in CATALOGUE + _chain_formulas()), SOURCE)

__all__ = ["CATALOGUE", "Chain", "IllFormed"]
