"""Counterexamples re-evaluated from the JSON alone.

``symrnn verify --activation sigmoid --json`` refutes the note's tanh-only formulas with a
rational point. Here the point is read back from the JSON and the network is evaluated again
with an independent forward and backward pass written below in plain Python (mpmath, 50
digits; nothing from symrnn): the derived gradient entry must match the JSON's rhs, the
printed formula's value its lhs, and the two must differ. A finite-difference derivative of
the loss checks the backward pass itself. Then ``counterexample.search`` on a rational network
(identity activation, mse) must verify "exact", and its exact values are recomputed with
``fractions.Fraction``.
"""

from __future__ import annotations

import re
from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from certificate_runs import by_id, sigmoid_json

from symrnn import RNNSpec

DIGITS = 50
SPEC = RNNSpec(activation="sigmoid")  # what `symrnn verify --activation sigmoid` certifies


# ---------------------------------------------------------------- an independent RNN

_NAME = re.compile(r"^(?P<base>[A-Za-z]+)(?:\((?P<step>\d+)\))?\[(?P<idx>\d+(?:,\d+)?)\]$")


def read_point(point: dict, to=Fraction) -> dict:
    """{"W[0,1]": "p/q", "h(0)[1]": ..., "x(2)[0]": ...} -> {("W", None, (0, 1)): value}."""
    out = {}
    for name, text in point.items():
        m = _NAME.match(name)
        assert m, f"unexpected leaf name {name!r}"
        step = None if m["step"] is None else int(m["step"])
        idx = tuple(int(i) for i in m["idx"].split(","))
        assert re.fullmatch(r"-?\d+(/\d+)?", text), f"{name} = {text!r} is not a fraction"
        out[(m["base"], step, idx)] = to(Fraction(text))
    return out


class Net:
    """The note's vanilla RNN at a point: a(t) = b + W h(t-1) + U x(t), h(t) = phi(a(t)),
    o(t) = c + V h(t), then the loss; ``backward`` is BPTT written out by hand."""

    def __init__(self, leaves: dict, spec: RNNSpec, phi, dphi_from_h, num):
        self.spec, self.phi, self.dphi_from_h, self.num = spec, phi, dphi_from_h, num
        n_in, n_h, n_out = spec.n_in, spec.n_hidden, spec.n_out
        get = lambda base, step, *idx: leaves[(base, step, idx)]
        self.W = [[get("W", None, i, j) for j in range(n_h)] for i in range(n_h)]
        self.U = [[get("U", None, i, j) for j in range(n_in)] for i in range(n_h)]
        self.V = [[get("V", None, i, j) for j in range(n_h)] for i in range(n_out)]
        self.b = [get("b", None, i) for i in range(n_h)]
        self.c = [get("c", None, i) for i in range(n_out)]
        self.h0 = [get("h", 0, i) for i in range(n_h)]
        self.x = {t: [get("x", t, i) for i in range(n_in)] for t in range(1, spec.tau + 1)}
        self.y = {t: [get("y", t, i) for i in range(n_out)] for t in range(1, spec.tau + 1)} \
            if spec.loss == "mse" else None

    def forward(self):
        s = self.spec
        h = {0: self.h0}
        o = {}
        for t in range(1, s.tau + 1):
            a = [self.b[i] + sum(self.W[i][j] * h[t - 1][j] for j in range(s.n_hidden))
                 + sum(self.U[i][j] * self.x[t][j] for j in range(s.n_in))
                 for i in range(s.n_hidden)]
            h[t] = [self.phi(v) for v in a]
            o[t] = [self.c[i] + sum(self.V[i][j] * h[t][j] for j in range(s.n_hidden))
                    for i in range(s.n_out)]
        return h, o

    def loss(self):
        h, o = self.forward()
        total = self.num(0)
        for t, ot in o.items():
            if self.spec.loss == "softmax-ce":
                label = self.spec.class_labels[t - 1]
                total += -(ot[label] - mpmath.log(sum(mpmath.exp(v) for v in ot)))
            else:  # mse: 1/2 ||o - y||^2
                total += sum((p - q) ** 2 for p, q in zip(ot, self.y[t])) / 2
        return total

    def backward(self):
        """h, grad_h(t) L and the parameter gradients."""
        s = self.spec
        h, o = self.forward()
        g_o = {}
        for t, ot in o.items():
            if s.loss == "softmax-ce":
                z = sum(mpmath.exp(v) for v in ot)
                label = s.class_labels[t - 1]
                g_o[t] = [mpmath.exp(v) / z - (1 if i == label else 0) for i, v in enumerate(ot)]
            else:
                g_o[t] = [p - q for p, q in zip(ot, self.y[t])]
        g_h, g_a = {}, {}
        for t in range(s.tau, 0, -1):
            g = [sum(self.V[k][i] * g_o[t][k] for k in range(s.n_out)) for i in range(s.n_hidden)]
            if t < s.tau:
                g = [g[i] + sum(self.W[k][i] * g_a[t + 1][k] for k in range(s.n_hidden))
                     for i in range(s.n_hidden)]
            g_h[t] = g
            g_a[t] = [self.dphi_from_h(h[t][i]) * g[i] for i in range(s.n_hidden)]
        ts = range(1, s.tau + 1)
        grads = {
            "b": [[sum(g_a[t][i] for t in ts)] for i in range(s.n_hidden)],
            "W": [[sum(g_a[t][i] * h[t - 1][j] for t in ts) for j in range(s.n_hidden)]
                  for i in range(s.n_hidden)],
            "U": [[sum(g_a[t][i] * self.x[t][j] for t in ts) for j in range(s.n_in)]
                  for i in range(s.n_hidden)],
        }
        return h, g_h, grads

    def printed(self, param: str, h, g_h):
        """The note's tanh form: sum_t diag(1 - h(t)^2) grad_h(t) L [h(t-1)^T | x(t)^T]."""
        s = self.spec
        ts = range(1, s.tau + 1)
        d = {t: [(1 - v ** 2) * g_h[t][i] for i, v in enumerate(h[t])] for t in ts}
        if param == "b":
            return [[sum(d[t][i] for t in ts)] for i in range(s.n_hidden)]
        right = (lambda t: h[t - 1]) if param == "W" else (lambda t: self.x[t])
        cols = s.n_hidden if param == "W" else s.n_in
        return [[sum(d[t][i] * right(t)[j] for t in ts) for j in range(cols)]
                for i in range(s.n_hidden)]


def sigmoid(v):
    return 1 / (1 + mpmath.exp(-v))


_BALL = re.compile(r"^\[(?P<mid>[-+0-9.e]+) \+/- (?P<rad>[0-9.e+-]+)\]$")


def read_value(text: str):
    """(midpoint, radius) of an arb ball "[m +/- r]", or (exact, 0) of "p/q"."""
    m = _BALL.match(text)
    if m:
        return mpmath.mpf(m["mid"]), mpmath.mpf(m["rad"])
    return mpmath.mpf(Fraction(text).numerator) / Fraction(text).denominator, mpmath.mpf(0)


def within(value, text: str, slack=mpmath.mpf("1e-40")) -> bool:
    mid, rad = read_value(text)
    return abs(value - mid) <= rad + slack


# ---------------------------------------------------------------- the sigmoid refutations

@pytest.fixture(scope="module")
def sigmoid_entries():
    rc, data = sigmoid_json()
    assert rc == 0
    return by_id(data["entries"])


@pytest.mark.parametrize("param", ["b", "W", "U"])
def test_sigmoid_counterexample_reevaluated_from_the_json(sigmoid_entries, param):
    e = sigmoid_entries[f"bptt.grad_{param}"]
    assert e["kind"] == "refuted" and e["scope"] == "all"
    cex = e["counterexample"]
    assert cex["claim"] == f"grad_{param} L"
    assert cex["verified"] == "interval"  # sigmoid and softmax: balls, not rationals
    with mpmath.workdps(DIGITS):
        leaves = read_point(cex["point"], to=lambda q: mpmath.mpf(q.numerator) / q.denominator)
        net = Net(leaves, SPEC, sigmoid, lambda h: h * (1 - h), mpmath.mpf)
        h, g_h, grads = net.backward()
        i, j = cex["entry"]
        derived = grads[param][i][j]
        printed = net.printed(param, h, g_h)[i][j]
        # the JSON: lhs is the printed formula, rhs the derived gradient
        assert within(printed, cex["lhs"]), (printed, cex["lhs"])
        assert within(derived, cex["rhs"]), (derived, cex["rhs"])
        mid_l, rad_l = read_value(cex["lhs"])
        mid_r, rad_r = read_value(cex["rhs"])
        assert rad_l < mpmath.mpf("1e-25") and rad_r < mpmath.mpf("1e-25")  # many digits
        assert abs(printed - derived) > mpmath.mpf("1e-3")
        assert within(printed - derived, cex["difference"])
        # the backward pass is the loss's derivative (finite differences, same digits)
        key = (param, None, (i,) if param == "b" else (i, j))

        def loss_at(v):
            return Net({**leaves, key: v}, SPEC, sigmoid, lambda h: h * (1 - h),
                       mpmath.mpf).loss()
        numeric = mpmath.diff(loss_at, leaves[key])
        assert abs(numeric - derived) < mpmath.mpf("1e-30")


def test_the_point_has_every_leaf_and_no_zero(sigmoid_entries):
    cex = sigmoid_entries["bptt.grad_b"]["counterexample"]
    leaves = read_point(cex["point"])
    s = SPEC
    n_in, n_h, n_out = s.n_in, s.n_hidden, s.n_out
    #         W        U           V            b     c      h(0)  x(1..tau)
    want = n_h * n_h + n_h * n_in + n_out * n_h + n_h + n_out + n_h + s.tau * n_in
    assert len(leaves) == want
    assert all(v != 0 for v in leaves.values())


def test_the_activation_refutation_has_a_point_too(sigmoid_entries):
    e = sigmoid_entries["fwd.10.9"]  # h(t) = tanh(a(t)) against sigmoid
    cex = e["counterexample"]
    assert e["kind"] == "refuted" and cex["verified"] in ("exact", "interval")
    mid_l, _ = read_value(cex["lhs"])
    mid_r, _ = read_value(cex["rhs"])
    assert abs(mid_l - mid_r) > 1e-6
    assert e["readings"][0]["kind"] == "definition"  # h(t) = phi(a(t))


# ---------------------------------------------------------------- search, exactly

@pytest.fixture(scope="module")
def rational_net():
    from symrnn.pipeline import analyse
    spec = RNNSpec(tau=2, n_in=1, n_hidden=2, n_out=2, activation="identity", loss="mse")
    r = analyse(spec, certify=False)
    return spec, r.graph, r.derivation


def _tanh_form_of_grad_b(g, d, spec):
    F = sp.zeros(spec.n_hidden, 1)
    for t in range(1, spec.tau + 1):
        h, gh = g.value("h", t), d.node_grad("h", t)
        F += sp.Matrix(spec.n_hidden, 1, lambda i, _j: (1 - h[i] ** 2) * gh[i])
    return F


def test_search_is_exact_on_a_rational_network(rational_net):
    from symrnn.certificate import counterexample
    spec, g, d = rational_net
    truth, formula = d.grad("b"), _tanh_form_of_grad_b(g, d, spec)
    cex = counterexample.search(g, d, truth, formula, "grad_b L")
    assert cex is not None and cex["verified"] == "exact"
    assert cex["claim"] == "grad_b L"
    for key in ("lhs", "rhs", "difference"):
        assert re.fullmatch(r"-?\d+(/\d+)?", cex[key]), cex[key]
    lhs, rhs = Fraction(cex["lhs"]), Fraction(cex["rhs"])
    assert lhs != rhs and Fraction(cex["difference"]) == lhs - rhs
    # recomputed with Fractions from the point alone: identity activation, mse loss
    leaves = read_point(cex["point"])
    net = Net(leaves, spec, lambda v: v, lambda h: 1, Fraction)
    h, g_h, grads = net.backward()
    i, j = cex["entry"]
    assert grads["b"][i][j] == rhs
    assert net.printed("b", h, g_h)[i][j] == lhs
    # every leaf is a nonzero rational; targets of the mse loss are in the point
    assert all(v != 0 for v in leaves.values())
    assert any(k[0] == "y" for k in leaves)


def test_search_finds_nothing_when_the_sides_agree(rational_net):
    from symrnn.certificate import counterexample
    spec, g, d = rational_net
    truth = d.grad("b")
    same = sp.Matrix([sum(d.node_grad("a", t)[i] for t in range(1, spec.tau + 1))
                      for i in range(spec.n_hidden)])
    assert counterexample.search(g, d, truth, truth, "grad_b L") is None
    assert counterexample.search(g, d, truth, same, "grad_b L") is None


def test_search_is_reproducible(rational_net):
    from symrnn.certificate import counterexample
    spec, g, d = rational_net
    truth, formula = d.grad("b"), _tanh_form_of_grad_b(g, d, spec)
    a = counterexample.search(g, d, truth, formula, "grad_b L")
    b = counterexample.search(g, d, truth, formula, "grad_b L")
    assert a == b and a["seed"] == 1
