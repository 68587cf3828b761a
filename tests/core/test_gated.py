"""The gated cells (lstm, lstm-torch, gru, gru-torch) through the same core: the derivation
equals ``sympy.diff`` of the fully composed loss for tau 1..3, the matrix-form BPTT
equations derived from each model's own equations pass the exact check against the
derivation, and planted wrong equations are rejected."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from composed_support import check_against_composed_diff, generic_softmax
from symrnn.core.composed import generic_functions
from symrnn.core.derive import derive
from symrnn.core.equations import EquationMismatch, check, checked_equations
from symrnn.core.graph import unroll
from symrnn.models import MODELS, get_model
from symrnn.spec import RNNSpec
from support import assert_every_term_needed

GATED = ["lstm", "lstm-torch", "gru", "gru-torch"]


def test_the_gated_cells_are_registered_with_several_states():
    for name in GATED:
        m = get_model(name)
        assert name in MODELS and not m.uses_activation
        assert "sigmoid" in m.fixed_functions
    assert [q.name for q in get_model("lstm").states] == ["h", "s"]
    assert [q.name for q in get_model("lstm-torch").states] == ["h", "s"]
    assert {q.name for q in get_model("gru").states} == {"h", "u", "r"}  # u(t-1), r(t-1)
    assert [q.name for q in get_model("gru-torch").states] == ["h"]


def _tiny(model, tau, **kw):
    return RNNSpec(tau=tau, n_in=1, n_hidden=1, n_out=2, model=model, **kw)


def _leaves(spec) -> int:
    m = get_model(spec.model)
    n = sum(getattr(spec, p.rows.name) * (1 if p.cols is None else getattr(spec, p.cols.name))
            for p in m.params)
    return n + sum(getattr(spec, q.size.name) for q, _side in m.initial_values())


@pytest.mark.parametrize("model, tau", [(m, 1) for m in GATED] + [("gru", 2)] + [
    pytest.param(m, t, marks=pytest.mark.slow) for t in (2, 3) for m in GATED
    if (m, t) != ("gru", 2)])  # tau 2 for one cell by default, for every cell with -m slow
def test_derivation_equals_composed_diff_generic_gates(model, tau, monkeypatch):
    """Chain rule over the unrolled graph == sympy.diff of the fully composed loss, exactly,
    for every parameter entry and every initial value (h(0), s(0), u(0), r(0)), with the
    cell's sigmoid and tanh as undefined functions and softmax with a generic E: so for
    every choice of them, sigmoid and tanh included."""
    loss = generic_softmax(monkeypatch)
    spec = _tiny(model, tau, loss=loss)
    with generic_functions(get_model(model).fixed_functions):
        n = check_against_composed_diff(spec)
    assert n == _leaves(spec)


@pytest.mark.parametrize("model", GATED)
def test_derivation_equals_composed_diff_concrete(model):
    """The same with sigmoid = 1/(1+exp(-a)), tanh and exp themselves, at tau = 1 (the
    exact comparison of rational functions of exponentials grows fast with tau)."""
    check_against_composed_diff(_tiny(model, 1))


@pytest.mark.parametrize("loss", ["softmax-ce", "mse", "bce"])
@pytest.mark.parametrize("model", GATED)
def test_checked_equations_for_every_loss(model, loss):
    m = get_model(model)
    spec = RNNSpec(tau=3, n_in=1, n_hidden=2, n_out=2, loss=loss, model=model)
    d = derive(unroll(m, spec))
    eqs = checked_equations(m, d)
    labels = {e.label for e in eqs}
    assert {f"grad_{p.name}" for p in m.params} <= labels
    assert {f"grad_{e.target.name}" for e in m.equations} <= labels
    for q in m.states:  # every initial value differentiated
        assert f"grad_{q.name}(0)" in labels or any(
            e.about is q and e.steps is not None and e.steps.lo == 0 for e in eqs)


def _by(model, **kw):
    """Checked equations at a tiny instance (tau 2, one unit): a wrong equation's difference
    is expanded before it is found nonzero, which grows fast with the gates' sizes."""
    m = get_model(model)
    spec = RNNSpec(tau=2, n_in=1, n_hidden=1, n_out=2, model=model, **kw)
    d = derive(unroll(m, spec))
    return m, d, {e.label: e for e in checked_equations(m, d)}


def test_lstm_equations_read_as_the_book_writes_bptt():
    """The cell state carries the gradient through the forget gate of the next step; the
    output gate sees tanh(s(t)); sigma' is written with the gate's output."""
    m, _d, by = _by("lstm")
    assert sp.sstr(by["grad_s"].rhs) == ("DiagMatrix(1 - tanh(s(t))**2)*(HadamardProduct(q(t), "
                                         "grad_h(t) L)) + HadamardProduct(f(t + 1), "
                                         "grad_s(t + 1) L)")
    assert sp.sstr(by["grad_q"].rhs) == "HadamardProduct(tanh(s(t)), grad_h(t) L)"
    assert sp.sstr(by["grad_a_f"].rhs) == "DiagMatrix(f(t)*(1 - f(t)))*grad_f(t) L"
    assert sp.sstr(by["grad_s(0)"].rhs) == "HadamardProduct(f(1), grad_s(1) L)"


def test_gru_torch_reset_gate_after_the_product():
    """grad_m(t) = r(t) (.) grad_a_n(t), and grad_r(t) = m(t) (.) grad_a_n(t): the reset
    gate multiplies W_hn h(t-1) + b_hn, as in nn.GRU."""
    _m, _d, by = _by("gru-torch")
    assert sp.sstr(by["grad_m"].rhs) == "HadamardProduct(r(t), grad_a_n(t) L)"
    assert sp.sstr(by["grad_r"].rhs) == "HadamardProduct(m(t), grad_a_n(t) L)"


@pytest.mark.parametrize("model", GATED)
def test_planted_errors_are_rejected(model):
    """The gradient equation of every state fails without any one of its terms; a Hadamard
    factor of a state's or gate's gradient read one step late fails too."""
    from symrnn.naming import At
    m, d, by = _by(model)
    sums = [by[f"grad_{q.name}"] for q in m.states
            if isinstance(by[f"grad_{q.name}"].rhs, sp.MatAdd)]
    assert sums
    assert_every_term_needed(sums, d)
    shifted = 0
    for eq in by.values():
        ats = [a for hp in eq.rhs.atoms(sp.HadamardProduct) for a in hp.args
               if isinstance(a, At) and a.step.has(sp.Symbol("t", integer=True))]
        if eq.steps is None or eq.steps.is_point or not ats or shifted >= 2:
            continue
        wrong = eq.rhs.xreplace({ats[0]: ats[0].shifted(1)})
        assert not check(dataclasses.replace(eq, rhs=wrong), d), eq.label
        shifted += 1
    assert shifted


def test_a_model_with_the_wrong_cell_input_is_refused():
    """The book's LSTM with tanh for its cell input (PyTorch's choice): its matrix equations
    are refused against the book's derivation (sigma' is not tanh')."""
    m, d, _ = _by("lstm")
    z = m.quantity("z")
    from symrnn.functions import Apply
    wrong_z = dataclasses.replace(m.equation(z), rhs=Apply("tanh", m.equation(z).rhs.arg))
    wrong = dataclasses.replace(m, equations=tuple(wrong_z if e.target is z else e
                                                   for e in m.equations))
    with pytest.raises(EquationMismatch, match="disagrees with sympy.diff"):
        checked_equations(wrong, d)
