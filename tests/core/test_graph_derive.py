"""Unrolling and the element-level derivation: the graph's structure, the chain rule over it
against ``sympy.diff`` of the fully composed loss (a planted error is caught), the exact zero
test, and a derivation whose size is linear in tau.

The sweep over tau = 1..4 with a generic activation phi (and softmax with a generic E), for
every registered model, is in ``test_models.py``."""

from __future__ import annotations

import pytest
import sympy as sp

from composed_support import composed_gradients, equal
from symrnn import functions as F
from symrnn.core.derive import derive
from symrnn.core.graph import compose, unroll
from symrnn.core.zero import ZeroTest, is_zero, prove_zero, rational_point, visibly_nonzero
from symrnn.models import get_model
from symrnn.spec import RNNSpec

RNN = get_model("rnn")


def _graph(spec):
    return unroll(get_model(spec.model), spec)


# ---------------------------------------------------------------- unrolling

def test_unrolled_graph_structure():
    spec = RNNSpec(tau=3, n_in=2, n_hidden=3, n_out=2, labels=(1, 0, 1))
    g = _graph(spec)
    assert g.tau == 3 and g.sizes == {"n_in": 2, "n_hidden": 3, "n_out": 2}
    assert {k: m.shape for k, m in g.params.items()} == {
        "U": (3, 2), "W": (3, 3), "V": (2, 3), "b": (3, 1), "c": (2, 1)}
    for t in (1, 2, 3):
        assert g.value("x", t).shape == (2, 1) and g.value("a", t).shape == (3, 1)
        assert g.value("h", t).shape == (3, 1) and g.value("o", t).shape == (2, 1)
        assert g.value("yhat", t).shape == (2, 1)
        assert g.value("L", t) == sp.Matrix([[g.L_t[t]]])
        # the class label's one-hot vector
        assert list(g.value("y", t)) == [int(i == spec.labels[t - 1]) for i in range(2)]
    assert g.has("h", 0) and not g.has("h", 4) and not g.has("a", 0)
    # every node's definition reads earlier symbols only: order is a topological order
    seen = set(g.leaves) | {s for t in (1, 2, 3) for s in g.value("x", t)}
    for s in g.order:
        assert g.defs[s].free_symbols <= seen, s
        seen.add(s)
    assert g.defs[g.L] == sp.Add(*g.L_t.values()) and g.order[-1] == g.L
    # each symbol's identity is data, not parsed from its name
    w = g.where[g.value("h", 2)[1]]
    assert (w.name, w.step, w.entry, w.param) == ("h", 2, (1, 0), False)
    w = g.where[g.params["W"][2, 0]]
    assert (w.name, w.step, w.entry, w.param) == ("W", None, (2, 0), True)
    # leaves: parameter entries in the model's order, then h(0) (given, differentiated)
    n_params = sum(len(m) for m in g.params.values())
    assert g.leaves[:n_params] == [s for p in RNN.params for s in g.params[p.name]]
    assert g.leaves[n_params:] == list(g.value("h", 0)) == g.initial


def test_local_definitions_follow_the_model_equations():
    g = _graph(RNNSpec(tau=2, n_in=2, n_hidden=2, n_out=2))
    U, W, b = g.params["U"], g.params["W"], g.params["b"]
    a2 = sp.Matrix([g.defs[s] for s in g.value("a", 2)])
    assert a2 == b + W * g.value("h", 1) + U * g.value("x", 2)  # a(t) = b + W h(t-1) + U x(t)
    assert [g.defs[s] for s in g.value("h", 2)] == [sp.tanh(s) for s in g.value("a", 2)]
    o = g.value("o", 1)
    expected = g.params["c"] + g.params["V"] * g.value("h", 1)
    assert [g.defs[s] for s in o] == list(expected)


def test_zero_initial_state_and_vector_targets():
    g = _graph(RNNSpec(tau=2, n_in=1, n_hidden=2, n_out=2, h0="zeros", loss="mse"))
    assert g.value("h", 0) == sp.zeros(2, 1) and g.initial == []
    assert len(g.leaves) == sum(len(m) for m in g.params.values())
    y = g.value("y", 1)  # a symbolic target vector
    assert all(isinstance(s, sp.Symbol) and g.where[s].name == "y" for s in y)
    assert g.defs[g.L_t[1]] == sp.Rational(1, 2) * sum(
        (p - q) ** 2 for p, q in zip(g.value("yhat", 1), y))


def test_forward_subs_and_canonical_renaming():
    g = _graph(RNNSpec(tau=3, n_in=1, n_hidden=2, n_out=2))
    fwd = g.forward_subs()
    h2 = g.value("h", 2)[0]
    assert fwd[h2] == sp.tanh(g.value("a", 2)[0])  # written in a(t), not composed
    assert g.value("a", 2)[0] not in fwd  # a polynomial of its inputs: kept
    assert set(fwd[g.value("yhat", 1)[0]].free_symbols) == set(g.value("o", 1))
    # the same identity at two steps has one canonical form
    e2 = g.value("a", 2)[0] - g.value("h", 1)[0]
    e3 = g.value("a", 3)[0] - g.value("h", 2)[0]
    assert e2 != e3 and g.canonical(e2) == g.canonical(e3)
    assert g.canonical(g.params["W"][0, 0]) == g.params["W"][0, 0]


def test_compose_reaches_the_leaves_and_inputs():
    g = _graph(RNNSpec(tau=2, n_in=1, n_hidden=1, n_out=2))
    loss = compose(g, g.L)
    inputs = {s for t in (1, 2) for s in g.value("x", t)}
    assert loss.free_symbols <= set(g.leaves) | inputs
    assert loss.free_symbols >= set(g.params["W"]) | set(g.params["U"])


# ---------------------------------------------------------------- derivation

def test_derivation_api():
    spec = RNNSpec(tau=2, n_in=1, n_hidden=2, n_out=2)
    g = _graph(spec)
    d = derive(g)
    assert d.grad("W").shape == (2, 2) and d.node_grad("h", 1).shape == (2, 1)
    assert all(s in d.defs for s in d.grad("W"))
    assert d.defs[d.adj[g.L]] == 1 and d.order[0] == d.adj[g.L]
    gz = derive(_graph(RNNSpec(tau=2, n_in=1, n_hidden=2, n_out=2, h0="zeros")))
    assert gz.node_grad("h", 0) == sp.zeros(2, 1)  # a constant initial value
    # expand leaves no gradient symbol but those kept
    e = d.expand(d.adj[g.params["W"][0, 1]])
    assert not e.free_symbols & set(d.defs)
    keep = set(d.node_grad("h", 2))
    assert d.expand(d.adj[g.params["W"][0, 1]], keep).free_symbols & set(d.defs) <= keep


def test_composed_gradients_are_compose_of_expand():
    """The helper the sweeps use builds what compose(graph, d.expand(grad)) builds."""
    g = _graph(RNNSpec(tau=2, n_in=1, n_hidden=2, n_out=2))
    d = derive(g)
    full = composed_gradients(g, d)
    for s in g.leaves:
        assert full[d.adj[s]] == compose(g, d.expand(d.adj[s])), s


@pytest.mark.parametrize("activation, loss", [("tanh", "softmax-ce"), ("sigmoid", "mse"),
                                              ("identity", "mse")])
def test_graph_derivation_equals_composed_diff_concrete(activation, loss):
    """sympy.diff of the composed loss == the chain rule over the graph, decided by SymPy's
    own zero test (exp(o)^2 becomes exp(2 o), so the atoms of the two sides differ)."""
    spec = RNNSpec(tau=1, n_in=1, n_hidden=1, n_out=2, activation=activation, loss=loss)
    g = _graph(spec)
    d = derive(g)
    loss_expr = compose(g, g.L)
    assert len(g.leaves) > 0
    for s in g.leaves:
        diff = sp.diff(loss_expr, s) - compose(g, d.expand(d.adj[s]))
        assert diff == 0 or is_zero(diff), s


def test_planted_derivation_error_is_caught():
    """The comparison above can fail: a derivation with one wrong partial disagrees."""
    spec = RNNSpec(tau=2, n_in=1, n_hidden=1, n_out=2)
    g = _graph(spec)
    d = derive(g)
    W = g.params["W"][0, 0]
    naive = sp.diff(compose(g, g.L), W)
    assert equal(naive, compose(g, d.expand(d.adj[W])))
    d.defs[d.adj[W]] = 2 * d.defs[d.adj[W]]
    wrong = compose(g, d.expand(d.adj[W]))
    assert not is_zero(naive - wrong)
    assert not equal(naive, wrong)  # nor does the sweeps' comparison accept it


# ---------------------------------------------------------------- exact zero tests

def test_is_zero_says_no():
    x = sp.Symbol("x", real=True)
    assert is_zero(sp.tanh(x) ** 2 + 1 / sp.cosh(x) ** 2 - 1)
    assert not is_zero(sp.tanh(x) - x)
    assert not is_zero(1 - sp.tanh(x) ** 2 - sp.exp(-x) / (1 + sp.exp(-x)) ** 2)


def test_zero_probe_and_cache():
    x, y = sp.symbols("x y", real=True)
    p = rational_point({y, x}, seed=3)
    assert list(p) == [x, y] and all(v != 0 and v.q == 101 for v in p.values())
    assert p == rational_point({x, y}, seed=3)  # reproducible
    assert visibly_nonzero(sp.sin(x) - x) and not visibly_nonzero(sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1)
    phi = sp.Function("phi")
    assert visibly_nonzero(phi(x) - x)  # a generic function is probed as sin
    assert prove_zero((x + y) ** 2 - x**2 - 2 * x * y - y**2)
    assert not prove_zero(x * y)
    z = ZeroTest(lambda e: e.subs(y, x))
    assert z(x - y) and len(z.cache) == 1 and z(y - x) and len(z.cache) == 1


# ---------------------------------------------------------------- size

def test_size_is_linear_in_tau():
    sizes = [derive(unroll(RNN, RNNSpec(tau=t))).size() for t in (8, 16, 32)]
    # size(t) = alpha + beta t: the step from 16 to 32 adds twice the step from 8 to 16
    assert sizes[2] - sizes[1] == pytest.approx(2 * (sizes[1] - sizes[0]), rel=0.01)
    assert sizes[2] < 2.2 * sizes[1]


def test_every_activation_and_loss_unrolls_and_derives():
    for act in F.ACTIVATIONS:
        for loss in F.LOSSES:
            g = _graph(RNNSpec(tau=2, n_in=1, n_hidden=1, n_out=2, activation=act, loss=loss))
            d = derive(g)
            assert set(d.adj) >= set(g.leaves) | set(g.order)
