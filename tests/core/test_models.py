"""Every registered model, through the same core: the element-level derivation equals
``sympy.diff`` of the fully composed loss, the matrix equations derived from the model's own
equations pass the exact check for every activation and loss, and a planted wrong equation
is rejected."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from composed_support import check_against_composed_diff, generic_softmax
from symrnn import functions as F
from symrnn.core.derive import derive
from symrnn.core.equations import EquationMismatch, check, checked_equations
from symrnn.core.graph import unroll
from symrnn.models import MODELS, get_model
from symrnn.spec import RNNSpec
from support import assert_every_term_needed

#: The models whose hidden state the user's activation phi makes: the sweeps below run over
#: phi and the losses. Gated cells (their sigmoid and tanh fixed) have their own tests
#: (tests/core/test_gated.py).
MODEL_NAMES = [name for name, m in MODELS.items() if m.uses_activation]


CHAPTER_10 = ["rnn", "output-recurrence", "single-output", "teacher-forcing", "bidirectional",
              "deep"]
#: tau 1 for every model, and 2, 3 and 4 for the note's (the composed loss grows
#: exponentially with tau) by default; 2, 3 and 4 for every model with -m slow
MODEL_TAUS = [(m, 1) for m in MODEL_NAMES] + [("rnn", 2), ("rnn", 3), ("rnn", 4)] + [
    pytest.param(m, 2, marks=pytest.mark.slow) for m in MODEL_NAMES[1:]] + [
    pytest.param(m, t, marks=pytest.mark.slow, id=f"{m}-{t}-slow") for t in (3, 4)
    for m in MODEL_NAMES[1:]]


def test_the_chapter_10_models_are_registered():
    """Every test here runs for each registered model (a new one is covered as it comes)."""
    assert MODEL_NAMES[:6] == CHAPTER_10
    for name in MODEL_NAMES:
        assert get_model(name).name == name and get_model(name).uses_activation


def _small(tau: int, hidden_2_up_to: int = 3, **kw) -> RNNSpec:
    """n_in 1, n_out 2 (a softmax needs two classes); n_hidden 2 up to a tau, then 1 (the
    composed loss grows exponentially with tau and with n_hidden)."""
    return RNNSpec(tau=tau, n_in=1, n_hidden=2 if tau <= hidden_2_up_to else 1, n_out=2, **kw)


# ---------------------------------------------------------------- against sympy.diff

@pytest.mark.parametrize("model, tau", MODEL_TAUS)
def test_derivation_equals_composed_diff_generic(model, tau, monkeypatch):
    """Chain rule over the unrolled graph == sympy.diff of the fully composed loss, exactly,
    for every parameter entry and h(0) (o(0)), with a generic activation phi and softmax with a
    generic positive E in place of exp (so for tanh and exp among all others)."""
    loss = generic_softmax(monkeypatch)
    n = check_against_composed_diff(_small(tau, activation="phi", loss=loss, model=model))
    spec = _small(tau, model=model)
    assert n == sum(_entries(p, spec) for p in get_model(model).params) \
        + _initial_entries(model, spec)  # every leaf was compared


@pytest.mark.parametrize("model, tau", MODEL_TAUS)
def test_derivation_equals_composed_diff_tanh_softmax(model, tau):
    """The same with the note's concrete choice, tanh and softmax with exp (n_hidden 2 up to
    tau = 2: the generic sweep above covers tanh and exp already)."""
    check_against_composed_diff(_small(tau, 2, activation="tanh", loss="softmax-ce",
                                       model=model))


@pytest.mark.parametrize("activation, loss", [("sigmoid", "mse"), ("identity", "bce")])
@pytest.mark.parametrize("model", MODEL_NAMES)
def test_derivation_equals_composed_diff_other_choices(model, activation, loss):
    check_against_composed_diff(_small(1, activation=activation, loss=loss, model=model))


def _entries(p, spec) -> int:
    rows = getattr(spec, p.rows.name)
    return rows * (1 if p.cols is None else getattr(spec, p.cols.name))


def _initial_entries(model, spec) -> int:
    return sum(getattr(spec, q.size.name) for q, _side in get_model(model).initial_values())


# ---------------------------------------------------------------- the matrix equations

#: every activation and loss for the note's network; for each other model one activation
#: and loss by default, all of them with -m slow
EVERY_CHOICE = [pytest.param(m, a, l, marks=() if m == "rnn" or (a, l) == ("tanh", "mse") else
                             pytest.mark.slow) for m in MODEL_NAMES for a in F.ACTIVATIONS
                for l in F.LOSSES]


@pytest.mark.parametrize("model, activation, loss", EVERY_CHOICE)
def test_checked_equations_for_every_activation_and_loss(model, activation, loss):
    m = get_model(model)
    spec = RNNSpec(tau=3, n_in=1, n_hidden=2, n_out=2, activation=activation, loss=loss,
                   model=model)
    d = derive(unroll(m, spec))
    eqs = checked_equations(m, d)
    labels = [e.label for e in eqs]
    # a gradient for every parameter and every node, h(0) (o(0)) differentiated
    assert {f"grad_{p.name}" for p in m.params} <= set(labels)
    # every node (o only at tau for single-output: its equation is grad_o(tau))
    assert {f"grad_{e.target.name}" for e in m.equations} <= {l.split("(")[0] for l in labels}
    for q, side in m.initial_values():  # h(0), o(0), g(tau + 1), h1(0) and h2(0), ...
        # its own equation, or the range of one (single-output: grad_h for 0 <= t < tau)
        step = 0 if side == "start" else spec.tau + 1
        assert any(e.about is q and e.steps is not None and step in e.steps.points(spec.tau)
                   for e in eqs), (q.name, labels)
    assert all(check(e, d) for e in eqs)  # (checked_equations already did, exactly)


def test_output_recurrence_equations_read_as_fig_10_4():
    m = get_model("output-recurrence")
    spec = RNNSpec(tau=3, n_in=2, n_hidden=3, n_out=2, model="output-recurrence")
    by = {e.label: e for e in checked_equations(m, derive(unroll(m, spec)))}
    # the recurrence runs through o: grad_o(t) gets the loss and a(t+1); grad_h does not recur
    assert sp.sstr(by["grad_o"].rhs) == "-y(t) + yhat(t) + W.T*grad_a(t + 1) L"
    assert sp.sstr(by["grad_o(tau)"].rhs) == "-y(tau) + yhat(tau)"
    assert sp.sstr(by["grad_h"].rhs) == "V.T*grad_o(t) L"
    assert sp.sstr(by["grad_W"].rhs) == "sum_{t=1..tau} (grad_a(t) L*o(t - 1).T)"
    assert sp.sstr(by["grad_o(0)"].rhs) == "W.T*grad_a(1) L"


# ---------------------------------------------------------------- planted errors

def _setup(model):
    m = get_model(model)
    spec = RNNSpec(tau=3, n_in=2, n_hidden=2, n_out=2, model=model)  # W square in both
    d = derive(unroll(m, spec))
    return m, d, {e.label: e for e in checked_equations(m, d)}


@pytest.mark.parametrize("model, label", [("rnn", "grad_h"), ("output-recurrence", "grad_o"),
                                          ("rnn", "grad_h(0)"), ("output-recurrence", "grad_o(0)")])
def test_planted_transpose_is_rejected(model, label):
    """W for W^T in a derived equation's rhs: the shapes still agree (n_hidden = n_out), the
    values do not."""
    m, d, by = _setup(model)
    eq = by[label]
    W = m.param("W").symbol
    assert W in eq.rhs.atoms(sp.MatrixSymbol) and check(eq, d)
    assert not check(dataclasses.replace(eq, rhs=eq.rhs.subs(W, W.T)), d)


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_planted_missing_term_is_rejected(model):
    """Every equation whose rhs is a sum fails without any one of its terms."""
    m, d, by = _setup(model)
    sums = [e for e in by.values() if isinstance(e.rhs, sp.MatAdd)]
    assert sums
    assert_every_term_needed(sums, d)


@pytest.mark.parametrize("model", ["rnn", "output-recurrence"])
def test_planted_wrong_model_equation_is_rejected(model):
    """A model whose output equation has the wrong sign (o(t) = c - V h(t)): its matrix
    equations are refused against the true model's derivation."""
    m, d, _ = _setup(model)
    o, h = m.quantity("o"), m.quantity("h")
    c, V = m.param("c").symbol, m.param("V").symbol
    wrong_o = dataclasses.replace(m.equation(o), rhs=sp.MatAdd(c, -V * h.now))
    wrong = dataclasses.replace(m, equations=tuple(
        wrong_o if e.target is o else e for e in m.equations))
    with pytest.raises(EquationMismatch, match="disagrees with sympy.diff"):
        checked_equations(wrong, d)
    # the wrong model is consistent with its own derivation
    spec = d.graph.spec
    assert checked_equations(wrong, derive(unroll(wrong, spec)))


# ---------------------------------------------------------------- a model defined as data

def _backward_model():
    """A model that is not registered: a forward state h and a backward-running state g
    (g(t) reads g(t+1), with g(tau+1) a given end value), both read by the output."""
    from symrnn.models.base import (N_HIDDEN, N_IN, N_OUT, PHI, Equation, Model, add, inp,
                                    node, param, state, target)
    from symrnn.functions import Apply
    x, y = inp("x", N_IN, "input"), target("y", N_OUT, "target")
    a, h = node("a", N_HIDDEN, "forward pre-activation"), state("h", N_HIDDEN, "forward state")
    e, g = node("e", N_HIDDEN, "backward pre-activation"), state("g", N_HIDDEN, "backward state")
    o = node("o", N_OUT, "output")
    U, W = param("U", N_HIDDEN, N_IN, "U"), param("W", N_HIDDEN, N_HIDDEN, "W")
    U2, W2 = param("U2", N_HIDDEN, N_IN, "U2"), param("W2", N_HIDDEN, N_HIDDEN, "W2")
    V, V2, c = param("V", N_OUT, N_HIDDEN, "V"), param("V2", N_OUT, N_HIDDEN, "V2"), \
        param("c", N_OUT, None, "c")
    return Model(
        name="test-backward", title="forward and backward states", reference="", describe="",
        params=(U, W, U2, W2, V, V2, c), quantities=(x, a, h, e, g, o, y),
        equations=(Equation(a, add(W * h.prev, U * x.now), "a"),
                   Equation(h, Apply(PHI, a.now), "h"),
                   Equation(e, add(W2 * g.next, U2 * x.now), "e"),
                   Equation(g, Apply(PHI, e.now), "g"),
                   Equation(o, add(c, V * h.now, V2 * g.now), "o")),
        output=o, target=y)


def test_a_backward_running_state_unrolls_derives_and_checks(monkeypatch):
    """g(t) reads g(t+1): unrolling computes g from tau down (every node after what it
    reads), the derivation equals sympy.diff of the composed loss, and the matrix equations,
    with grad_g(tau+1) for the end value, pass the exact check."""
    m = _backward_model()
    monkeypatch.setitem(MODELS, m.name, m)
    assert m.initial_values() == [(m.quantity("h"), "start"), (m.quantity("g"), "end")]
    spec = RNNSpec(tau=3, n_in=1, n_hidden=2, n_out=2, model=m.name)
    graph = unroll(m, spec)
    seen = set(graph.leaves) | {s for t in (1, 2, 3) for s in graph.value("x", t)}
    for s in graph.order:  # a topological order
        assert graph.defs[s].free_symbols <= seen, s
        seen.add(s)
    steps = [graph.where[s].step for s in graph.order if graph.where[s].name == "g"]
    assert steps == sorted(steps, reverse=True)  # g(3), g(2), g(1)
    assert set(graph.value("g", 4)) <= set(graph.initial)  # g(tau+1): given, differentiated
    labels = [e.label for e in checked_equations(m, derive(graph))]
    assert {"grad_g", "grad_g(1)", "grad_g(tau + 1)", "grad_h(0)", "grad_W2"} <= set(labels)
    check_against_composed_diff(RNNSpec(tau=3, n_in=1, n_hidden=1, n_out=2, model=m.name))


@pytest.mark.parametrize("which, circle", [("a reads h(t)", "a(1) <- h(1) <- a(1)"),
                                           ("h reads h(t)", "h(1) <- h(1)")])
def test_equations_that_read_each_other_at_one_step_are_refused(which, circle):
    """No order computes a(t) = W h(t) with h(t) = phi(a(t)), or h(t) = phi(h(t)): unrolling
    refuses such a model instead of reading the node as a given value."""
    from symrnn.models.base import Equation
    from symrnn.functions import Apply
    rnn = get_model("rnn")
    a, h = rnn.quantity("a"), rnn.quantity("h")
    W = rnn.param("W").symbol
    if which == "a reads h(t)":
        eqs = (Equation(a, W * h.now, which),) + rnn.equations[1:]
    else:
        eqs = rnn.equations[:1] + (Equation(h, Apply("phi", h.now), which),) + rnn.equations[2:]
    circular = dataclasses.replace(rnn, name="circular", equations=eqs)
    with pytest.raises(ValueError) as info:
        unroll(circular, RNNSpec(tau=2, n_in=1, n_hidden=2, n_out=2))
    assert f"model circular: the equations read each other in a circle ({circle})" \
        in str(info.value)


def _compact_model():
    """The note's network written without the a(t) node: h(t) = phi(W h(t-1) + U x(t) + b).
    Not registered. h(t+1)'s forward value then reads h(t) inside phi's argument."""
    from symrnn.models.base import Equation, add
    from symrnn.functions import Apply
    rnn = get_model("rnn")
    h, o, x = rnn.quantity("h"), rnn.quantity("o"), rnn.quantity("x")
    b, W, U = rnn.param("b"), rnn.param("W"), rnn.param("U")
    return dataclasses.replace(
        rnn, name="test-compact", catalogue=(),
        quantities=tuple(q for q in rnn.quantities if q.name != "a"),
        equations=(Equation(h, Apply("phi", add(b, W * h.prev, U * x.now)), "hidden state"),
                   rnn.equation(o)))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "identity"])
def test_a_model_without_preactivation_node_checks_exactly(activation, monkeypatch):
    """The matrix equations of h(t) = phi(W h(t-1) + U x(t) + b) pass the exact check (the
    reduction keeps h(t) one symbol inside phi's arguments on both sides), wrong ones fail,
    and the derivation equals sympy.diff of the composed loss."""
    m = _compact_model()
    monkeypatch.setitem(MODELS, m.name, m)
    spec = RNNSpec(tau=2, n_in=1, n_hidden=2, n_out=2, activation=activation, model=m.name)
    d = derive(unroll(m, spec))
    by = {e.label: e for e in checked_equations(m, d)}
    assert {"grad_h", "grad_h(tau)", "grad_W", "grad_h(0)"} <= set(by) and "grad_a" not in by
    W = m.param("W").symbol
    for label in ("grad_h", "grad_h(0)"):
        assert not check(dataclasses.replace(by[label], rhs=by[label].rhs.subs(W, W.T)), d)
    h = m.quantity("h")
    assert not check(dataclasses.replace(by["grad_W"], rhs=by["grad_W"].rhs.xreplace(
        {h.prev: h.now})), d)
    check_against_composed_diff(RNNSpec(tau=3, n_in=1, n_hidden=1, n_out=2,
                                        activation=activation, model=m.name))


def test_a_model_without_preactivation_node_refuses_relu(monkeypatch):
    """relu's derivative from its output, Piecewise((1, h > 0)), cannot be checked exactly when
    phi's argument is an expression (the exact check reported a mismatch, a cell hung): the
    spec refuses it, naming the equation and the fix."""
    m = _compact_model()
    monkeypatch.setitem(MODELS, m.name, m)
    with pytest.raises(ValueError, match=r"activation: relu is piecewise.*the equation of h is "
                                         r"h = relu\(.*own node"):
        RNNSpec(tau=3, n_in=1, n_hidden=2, n_out=2, activation="relu", model=m.name)
    RNNSpec(tau=3, n_in=1, n_hidden=2, n_out=2, activation="tanh", model=m.name)  # accepted


def test_a_model_checks_its_own_definition():
    """Bad definitions are refused where the model is made, naming the model and what is
    wrong: a name used twice, an input computed by an equation, a later target read."""
    from symrnn.models import teacher_forcing as tf
    from symrnn.models.base import Equation, add
    m = tf.MODEL
    with pytest.raises(ValueError, match="model teacher-forcing: names used twice: a"):
        dataclasses.replace(m, quantities=m.quantities + (tf.a,))
    with pytest.raises(ValueError, match="x is an input, not computed by an equation"):
        dataclasses.replace(m, equations=m.equations + (Equation(tf.x, tf.U.T * tf.a.now, "x"),))
    later = Equation(tf.a, add(tf.b, tf.W * tf.y.next, tf.U * tf.x.now), "a")
    with pytest.raises(ValueError, match=r"reads the target at t \+ 1, a later step"):
        dataclasses.replace(m, equations=(later,) + m.equations[1:])
    dataclasses.replace(m)  # the model as defined is accepted
