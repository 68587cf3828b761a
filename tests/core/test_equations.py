"""BPTT in matrix form for the note's network: the equations derived from the model, each
checked exactly against the element-level derivation; a planted wrong equation fails."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

import symrnn
from symrnn import functions as F
from symrnn.core.derive import derive
from symrnn.core.equations import EquationMismatch, check, checked_equations, derive_equations
from symrnn.core.graph import unroll
from symrnn.models import get_model
from symrnn.naming import TAU, At, Grad, Steps, StepSum
from symrnn.spec import RNNSpec

RNN = get_model("rnn")


def _derivation(spec):
    return derive(unroll(get_model(spec.model), spec))


@pytest.mark.parametrize("activation", list(F.ACTIVATIONS))
@pytest.mark.parametrize("loss", list(F.LOSSES))
def test_matrix_equations_checked_for_every_activation_and_loss(activation, loss):
    eqs = symrnn.matrix_equations(RNNSpec(tau=2, n_in=2, n_hidden=3, n_out=2,
                                          activation=activation, loss=loss))
    labels = [e.label for e in eqs]
    assert labels[:4] == ["grad_o", "grad_h(tau)", "grad_h", "grad_a"]
    assert labels[4:] == ["grad_c", "grad_b", "grad_V", "grad_W", "grad_U", "grad_h(0)"]
    text = {e.label: sp.sstr(e.rhs) for e in eqs}
    assert text["grad_h"] == "V.T*grad_o(t) L + W.T*grad_a(t + 1) L"
    assert text["grad_h(tau)"] == "V.T*grad_o(tau) L"
    assert text["grad_W"] == "sum_{t=1..tau} (grad_a(t) L*h(t - 1).T)"
    assert text["grad_o"] == "-y(t) + yhat(t)"
    by = {e.label: e for e in eqs}
    assert by["grad_h"].steps == Steps(1, TAU - 1) and by["grad_h(tau)"].steps == Steps(TAU, TAU)
    assert by["grad_W"].steps is None and by["grad_W"].is_param
    assert isinstance(by["grad_W"].rhs, StepSum)
    assert by["grad_h(0)"].steps == Steps(0, 0)


def test_grad_a_writes_phi_prime_with_the_output_where_it_can():
    by = {e.label: e for e in symrnn.matrix_equations(RNNSpec(tau=2, n_in=1, n_hidden=2,
                                                              n_out=2))}
    assert sp.sstr(by["grad_a"].rhs) == "DiagMatrix(1 - h(t)**2)*grad_h(t) L"  # tanh
    by = {e.label: e for e in symrnn.matrix_equations(RNNSpec(
        tau=2, n_in=1, n_hidden=2, n_out=2, activation="phi"))}
    assert "phi" in sp.sstr(by["grad_a"].rhs) and "a(t)" in sp.sstr(by["grad_a"].rhs)


def test_readers_and_generic_step():
    by = {e.label: e for e in symrnn.matrix_equations(RNNSpec(tau=3, n_in=1, n_hidden=2,
                                                              n_out=2))}
    n_h, n_out = (sp.Symbol(n, integer=True, positive=True) for n in ("n_hidden", "n_out"))
    t = sp.Symbol("t", integer=True)
    assert set(by["grad_h"].readers) == {At("a", n_h, 1, t + 1), At("o", n_out, 1, t)}
    assert by["grad_h(tau)"].readers == (At("o", n_out, 1, TAU),)
    assert by["grad_h(tau)"].lhs == Grad(At("h", n_h, 1, TAU))
    lhs, rhs = by["grad_h"].at(2, 3)
    assert lhs == Grad(At("h", n_h, 1, 2)) and At("a", n_h, 1, 3) in rhs.atoms(At)


def test_h0_zeros_has_no_initial_gradient():
    labels = [e.label for e in symrnn.matrix_equations(RNNSpec(tau=2, n_in=1, n_hidden=2,
                                                               n_out=2, h0="zeros"))]
    assert "grad_h(0)" not in labels and labels[:4] == ["grad_o", "grad_h(tau)", "grad_h",
                                                        "grad_a"]


def _wrong(eq, **changes):
    return dataclasses.replace(eq, **changes)


def test_matrix_equation_check_can_fail():
    spec = RNNSpec(tau=2, n_in=2, n_hidden=3, n_out=2)
    d = _derivation(spec)
    eqs = checked_equations(RNN, d)
    eq = next(e for e in eqs if e.label == "grad_h")
    W = RNN.param("W").symbol
    assert W in eq.rhs.atoms(sp.MatrixSymbol)
    assert check(eq, d)
    assert not check(_wrong(eq, rhs=eq.rhs.subs(W, W.T)), d)  # W instead of W^T
    # the parameter gradient: a wrong sign, a wrong factor at a step
    eq = next(e for e in eqs if e.label == "grad_W")
    assert check(eq, d)
    assert not check(_wrong(eq, rhs=-eq.rhs), d)
    h = RNN.quantity("h")
    assert not check(_wrong(eq, rhs=eq.rhs.xreplace({h.prev: h.now})), d)  # h(t) for h(t-1)


def test_checked_equations_raise_on_a_mismatch():
    """``checked_equations`` refuses equations that disagree with the derivation: the
    equations of a model with W^T in place of W, against the derivation of the true one."""
    spec = RNNSpec(tau=2, n_in=2, n_hidden=2, n_out=2)
    d = _derivation(spec)
    a, h, x = (RNN.quantity(n) for n in "ahx")
    b, W, U = (RNN.param(n) for n in "bWU")
    wrong_eq = dataclasses.replace(RNN.equation(a), rhs=sp.MatAdd(
        b.symbol, W.symbol.T * h.prev, U.symbol * x.now))
    wrong = dataclasses.replace(RNN, equations=tuple(
        wrong_eq if e.target is a else e for e in RNN.equations))
    with pytest.raises(EquationMismatch, match="grad_h"):
        checked_equations(wrong, d)
    # each derived equation of the wrong model that involves W is refused by check
    eqs = derive_equations(wrong, "tanh", F.LOSSES["softmax-ce"].grad_matrix, True)
    verdict = {e.label: check(e, d) for e in eqs}
    assert not verdict["grad_h"] and not verdict["grad_W"] and not verdict["grad_h(0)"]
    assert verdict["grad_o"] and verdict["grad_V"] and verdict["grad_c"]
