"""The study note's printed formulas (the certificate catalogue of the ``rnn`` model).

Source: the note on back-propagation through time for the vanilla RNN of *Deep Learning*,
chapter 10 (``../shared/seed``). Each entry is a formula as the note prints it: its LaTeX and
plain text, a builder that encodes it with the same factors, order and index ranges, the
readings to try when the print does not hold, and the facts a verdict needs (what it assumes,
how it is proved, which gradient it prints). The engine (``symrnn.certificate.engine``)
checks them; nothing here decides a verdict.
"""

from __future__ import annotations

from typing import Callable, Iterable

import sympy as sp

from ..naming import TAU, Steps
from .claims import (Claim, Formula, IllFormed, Reading, add, contract, diag, given, msum, mul,
                     product)

Context = object  # the engine's checking context (duck-typed: no import of the engine)
Builder = Callable[[Context], list[Claim]]
ALL = Steps(1, TAU)
INTERIOR = Steps(1, TAU - 1)
LAST = Steps(TAU, TAU)


def _steps(c: Context, lo: int = 1, hi: int | None = None) -> range:
    return range(lo, (c.spec.tau if hi is None else hi) + 1)


def _phi_vec(c: Context, v: sp.Matrix) -> sp.Matrix:
    return v.applyfunc(c.act.phi)


def one_minus_h2(c: Context, t: int) -> sp.Matrix:
    """diag(1 - (h(t))^2) as printed in the note (tanh's Jacobian)."""
    return diag(c.node("h", t).applyfunc(lambda v: 1 - v**2))


def dphi(c: Context, t: int) -> sp.Matrix:
    """diag(phi'(a(t))) with phi' from ``sympy.diff`` (the generic-phi reading)."""
    return diag(c.node("a", t).applyfunc(c.act.dphi))


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
                  sp.Matrix([c.loss.per_step(list(c.node("yhat", t)), list(c.node("y", t)))]), f"L({t})")
            for t in _steps(c)]


# BPTT, second part -------------------------------------------------

def b_dL_dLt(c):
    return [Claim(c.grad("L", t), sp.Matrix([1]), f"dL/dL({t})") for t in _steps(c)]


def b_grad_o(c):
    return [Claim(c.grad("o", t),
                  sp.Matrix([c.node("yhat", t)[i] - (1 if i == _label(c, t) else 0)
                             for i in range(c.spec.n_out)]), f"grad_o({t}) L") for t in _steps(c)]


def r_grad_o_vector(c):
    return [Claim(c.grad("o", t), c.node("yhat", t) - sp.Matrix(list(c.node("y", t))), f"grad_o({t}) L")
            for t in _steps(c)]


def given(*mats: sp.Matrix) -> frozenset:
    return frozenset(s for m in mats for s in m)


def b_grad_h_tau(c):
    tau = c.spec.tau
    go = c.grad("o", tau)
    return [Claim(c.grad("h", tau), product(c.P("V").T, go), f"grad_h({tau}) L", given(go))]


def b_grad_h_jacobian(c):
    claims = []
    for t in _steps(c, 1, c.spec.tau - 1):
        gh1, go = c.grad("h", t + 1), c.grad("o", t)
        f = add(product(c.jacobian("h", t + 1, "h", t).T, gh1),
                product(c.jacobian("o", t, "h", t).T, go))
        claims.append(Claim(c.grad("h", t), f, f"grad_h({t}) L", given(gh1, go)))
    return claims


def _grad_h_rec(order: str, tanh: bool) -> Builder:
    def build(c: Context) -> list[Claim]:
        claims = []
        for t in _steps(c, 1, c.spec.tau - 1):
            gh1, go = c.grad("h", t + 1), c.grad("o", t)
            D = one_minus_h2(c, t + 1) if tanh else dphi(c, t + 1)
            first = product(c.P("W").T, gh1, D) if order == "printed" else product(c.P("W").T, D, gh1)
            f = add(first, product(c.P("V").T, go))
            claims.append(Claim(c.grad("h", t), f, f"grad_h({t}) L", given(gh1, go)))
        return claims
    return build


def b_grad_c(c):
    gos = [c.grad("o", t) for t in _steps(c)]
    return [Claim(c.d.grad("c"), msum(gos, (c.spec.n_out, 1)), "grad_c L", given(*gos))]


def _param_sum(param: str, tanh: bool, right: Callable[[Context, int], sp.Matrix] | None) -> Builder:
    """sum_t D(t) grad_h(t) [right(t)^T] with D = diag(1 - h^2) (printed) or diag(phi'(a))."""
    def build(c: Context) -> list[Claim]:
        terms, seen = [], []
        for t in _steps(c):
            gh = c.grad("h", t)
            seen.append(gh)
            D = one_minus_h2(c, t) if tanh else dphi(c, t)
            terms.append(product(D, gh, right(c, t).T) if right else product(D, gh))
        return [Claim(c.d.grad(param), msum(terms, terms[0].shape), f"grad_{param} L",
                      given(*seen))]
    return build


def b_grad_V(c):
    terms, seen = [], []
    for t in _steps(c):
        go = c.grad("o", t)
        seen.append(go)
        terms.append(product(go, c.node("h", t).T))
    return [Claim(c.d.grad("V"), msum(terms, terms[0].shape), "grad_V L", given(*seen))]


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
        raise IllFormed("a row times a rank-3 Jacobian")  # product() refuses it first

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
        ghk = c.d.expand(ghk, set(c.grad("h", k)))
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
            part = c.d.expand(part, set(c.grad("h", k))).xreplace(dict(zip(c.grad("h", k), v)))
            claims.append(Claim(part, contract(v, c.param_jacobian("h", k, self.param)), f"term k={k}"))
        if self.k0 == 0:
            Z = c.param_jacobian("h", 0, self.param)
            claims.append(Claim(sp.zeros(*Z.shape[1:]), contract(v, Z), "term k=0"))
        return claims


def _all_t(c):
    return _steps(c)


def _t3(c):
    return [3]


# ------------------------------------------------------------------ the catalogue

_G = r"\nabla_{\boldsymbol h^{(t)}} L"

CATALOGUE: tuple[Formula, ...] = (
    Formula("fwd.hidden", "forward", "hidden state, first section (generic phi)",
            r"h^{(t)}=\phi(Ux^{(t)}+Wh^{(t-1)}+b)", "h(t) = phi(U x(t) + W h(t-1) + b)",
            _forward("h", _hidden_generic), method="definition"),
    Formula("fwd.output", "forward", "output, first section", r"o^{(t)}=Vh^{(t)}+c",
            "o(t) = V h(t) + c", _forward("o", _o_generic), method="definition"),
    Formula("fwd.10.8", "forward", "pre-activation (10.8)", r"a^{(t)}=b+W h^{(t-1)}+U x^{(t)}",
            "a(t) = b + W h(t-1) + U x(t)", _forward("a", _a_108), method="definition"),
    Formula("fwd.10.9", "forward", "hidden state (10.9)",
            r"\boldsymbol{h}^{(t)}=\tanh \left(\boldsymbol{a}^{(t)}\right)", "h(t) = tanh(a(t))",
            _forward("h", _h_109),
            ((r"\boldsymbol{h}^{(t)}=\phi\left(\boldsymbol{a}^{(t)}\right)", "h(t) = phi(a(t))",
              _forward("h", _h_phi)),), method="definition", assumes="tanh-forward"),
    Formula("fwd.10.10", "forward", "output (10.10)",
            r"\boldsymbol{o}^{(t)}=\boldsymbol{c}+\boldsymbol{V} \boldsymbol{h}^{(t)}",
            "o(t) = c + V h(t)", _forward("o", _o_1010), method="definition"),
    Formula("fwd.10.11", "forward", "prediction (10.11)",
            r"\hat{\boldsymbol{y}}^{(t)}=\operatorname{softmax}\left(\boldsymbol{o}^{(t)}\right)",
            "y^(t) = softmax(o(t))", _forward("yhat", _yhat_softmax),
            ((r"\hat{\boldsymbol{y}}^{(t)}=\operatorname{out}\left(\boldsymbol{o}^{(t)}\right)",
              "y^(t) = out(o(t)) of the chosen loss", _forward("yhat", _yhat_out)),), method="definition", assumes="softmax"),
    Formula("loss.total", "loss", "total loss",
            r"L\big( \{ \boldsymbol x^{(1)}, \dots, \boldsymbol x^{(\tau)} \}, \{ \boldsymbol y^{(1)}, "
            r"\dots, \boldsymbol y^{(\tau)}  \} \big) = \sum_t L^{(t)}", "L = sum_t L(t)", b_loss_total, method="definition"),
    Formula("loss.nll", "loss", "negative log-likelihood of the label",
            r"L^{(t)} = - \log p_{\text{model}} \big(  y^{(t)} \mid  \{ \boldsymbol x^{(1)}, \dots, "
            r"\boldsymbol x^{(t)} \} \big) = -\log \hat y^{(t)}_{y^{(t)}}",
            "L(t) = -log y^(t)[y(t)]", b_loss_nll,
            ((r"L^{(t)} = \ell\big(\hat{\boldsymbol y}^{(t)}, \boldsymbol y^{(t)}\big)",
              "L(t) = loss(y^(t), y(t)) of the chosen loss", r_loss_own),), method="definition", assumes="class"),
    Formula("bptt.dL_dLt", "bptt", "loss adjoint", r"\frac{\partial L}{\partial L^{(t)}} = 1",
            "dL/dL(t) = 1", b_dL_dLt),
    Formula("bptt.grad_o", "bptt", "output adjoint",
            r"(\nabla_{\boldsymbol o^{(t)}} L)_i = \hat y_i^{(t)} - \mathbf{1}_{i,y^{(t)}}",
            "(grad_o(t) L)_i = y^_i(t) - 1[i = y(t)]", b_grad_o,
            ((r"\nabla_{\boldsymbol o^{(t)}} L = \hat{\boldsymbol y}^{(t)} - \boldsymbol y^{(t)}",
              "grad_o(t) L = y^(t) - y(t) (target vector)", r_grad_o_vector),), assumes="class", gradient_of="o", steps=ALL),
    Formula("bptt.grad_h_tau", "bptt", "last hidden adjoint",
            r"\nabla_{\boldsymbol h^{(\tau)}} L = \boldsymbol V^\top \nabla_{\boldsymbol o^{(\tau)}} L",
            "grad_h(tau) L = V^T grad_o(tau) L", b_grad_h_tau, gradient_of="h", steps=LAST),
    Formula("bptt.grad_h.jacobian", "bptt", "hidden adjoint recursion, Jacobian form",
            r"\nabla_{\boldsymbol h^{(t)}} L = \Big( \frac{\partial \boldsymbol h^{(t+1)}}{ \partial "
            r"\boldsymbol h^{(t)}}  \Big)^\top(\nabla_{\boldsymbol h^{(t+1)}} L) + \Big( \frac{\partial "
            r"\boldsymbol o^{(t)}}{ \partial \boldsymbol h^{(t)}}  \Big)^\top (\nabla_{\boldsymbol "
            r"o^{(t)}} L)",
            "grad_h(t) L = (dh(t+1)/dh(t))^T grad_h(t+1) L + (do(t)/dh(t))^T grad_o(t) L",
            b_grad_h_jacobian, needs_tau=2, gradient_of="h", steps=INTERIOR),
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
            needs_tau=2, assumes="tanh", gradient_of="h", steps=INTERIOR),
    Formula("bptt.grad_c", "bptt", "bias c",
            r"\nabla_{\boldsymbol c} L = \sum_t \nabla_{\boldsymbol o^{(t)}} L",
            "grad_c L = sum_t grad_o(t) L", b_grad_c, gradient_of="c"),
    Formula("bptt.grad_b", "bptt", "bias b",
            r"\nabla_{\boldsymbol b} L = \sum_t \text{diag} \Big( 1 - \big( \boldsymbol h^{(t)} "
            r"\big)^2 \Big)  \nabla_{\boldsymbol h^{(t)}} L",
            "grad_b L = sum_t diag(1 - h(t)^2) grad_h(t) L", _param_sum("b", True, None),
            ((r"\nabla_{\boldsymbol b} L = \sum_t \text{diag} \big( \phi'(\boldsymbol a^{(t)}) "
              r"\big) \nabla_{\boldsymbol h^{(t)}} L",
              "grad_b L = sum_t diag(phi'(a(t))) grad_h(t) L", _param_sum("b", False, None)),), assumes="tanh", gradient_of="b"),
    Formula("bptt.grad_V", "bptt", "output weights V",
            r"\nabla_{\boldsymbol V} L = \sum_t (\nabla_{\boldsymbol o^{(t)}} L) \boldsymbol h^{(t)^\top}",
            "grad_V L = sum_t (grad_o(t) L) h(t)^T", b_grad_V, gradient_of="V"),
    Formula("bptt.grad_W", "bptt", "recurrent weights W",
            r"\nabla_{\boldsymbol W} L = \sum_t \text{diag} \Big( 1 - \big( \boldsymbol h^{(t)} "
            r"\big)^2 \Big) ( \nabla_{\boldsymbol h^{(t)}} L) \boldsymbol h^{(t-1)^\top}",
            "grad_W L = sum_t diag(1 - h(t)^2) (grad_h(t) L) h(t-1)^T",
            _param_sum("W", True, lambda c, t: c.node("h", t - 1)),
            ((r"\nabla_{\boldsymbol W} L = \sum_t \text{diag} \big( \phi'(\boldsymbol a^{(t)}) "
              r"\big) ( \nabla_{\boldsymbol h^{(t)}} L) \boldsymbol h^{(t-1)^\top}",
              "grad_W L = sum_t diag(phi'(a(t))) (grad_h(t) L) h(t-1)^T",
              _param_sum("W", False, lambda c, t: c.node("h", t - 1))),), assumes="tanh", gradient_of="W"),
    Formula("bptt.grad_U", "bptt", "input weights U",
            r"\nabla_{\boldsymbol U} L = \sum_t \text{diag} \Big( 1 - \big( \boldsymbol h^{(t)} "
            r"\big)^2 \Big) ( \nabla_{\boldsymbol h^{(t)}} L) \boldsymbol x^{(t)^\top}",
            "grad_U L = sum_t diag(1 - h(t)^2) (grad_h(t) L) x(t)^T",
            _param_sum("U", True, lambda c, t: c.node("x", t)),
            ((r"\nabla_{\boldsymbol U} L = \sum_t \text{diag} \big( \phi'(\boldsymbol a^{(t)}) "
              r"\big) ( \nabla_{\boldsymbol h^{(t)}} L) \boldsymbol x^{(t)^\top}",
              "grad_U L = sum_t diag(phi'(a(t))) (grad_h(t) L) x(t)^T",
              _param_sum("U", False, lambda c, t: c.node("x", t))),), assumes="tanh", gradient_of="U"),
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
                             three.reading),), needs_tau=3, method="induction"))
        general = _Chain(param, _all_t, 0)
        out.append(Formula(f"chain.dLt_d{param}", "chain", f"general expansion of dL(t)/d{param}",
                           _chain_printed(param, "t", "0"),
                           f"dL(t)/d{param} = sum_{{k=0..t}} dL(t)/do(t) do(t)/dh(t) "
                           f"prod_{{j=k+1..t}} dh(j)/dh(j-1) dh(k)/d{param}",
                           general.printed,
                           ((_chain_reading(param, "t", "0"),
                             f"dL(t)/d{param} = sum_k sum_i (row prod)_i dh_i(k)/d{param} (contracted)",
                             general.reading),), method="induction"))
    return tuple(out)


CATALOGUE = CATALOGUE + _chain_formulas()

