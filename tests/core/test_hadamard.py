"""The elementwise (Hadamard) product and the ones vector in a model's equations (gated
cells): unrolling, the derivation against sympy.diff of the composed loss, and the exact check
of the matrix equations."""

from __future__ import annotations

import pytest
import sympy as sp

from composed_support import check_against_composed_diff
from symrnn.core.derive import derive
from symrnn.core.equations import checked_equations
from symrnn.core.graph import unroll
from symrnn.functions import Apply
from symrnn.models import MODELS
from symrnn.models.base import (N_HIDDEN, N_IN, N_OUT, Equation, Model, add, hadamard, inp,
                                node, ones, param, state, target)
from symrnn.spec import RNNSpec


def gated_model() -> Model:
    """h(t) = (1 - u(t)) (.) h(t-1) + u(t) (.) tanh(W (u(t) (.) h(t-1)) + U x(t)),
    u(t) = sigmoid(Wu h(t-1) + Uu x(t)): a gate, its complement and a gated product."""
    x, y = inp("x", N_IN, "input"), target("y", N_OUT, "target")
    u, c, h = node("u", N_HIDDEN, "gate"), node("c", N_HIDDEN, "candidate"), \
        state("h", N_HIDDEN, "state")
    o = node("o", N_OUT, "output")
    U, W = param("U", N_HIDDEN, N_IN, "U"), param("W", N_HIDDEN, N_HIDDEN, "W")
    Uu, Wu = param("Uu", N_HIDDEN, N_IN, "Uu"), param("Wu", N_HIDDEN, N_HIDDEN, "Wu")
    V = param("V", N_OUT, N_HIDDEN, "V")
    return Model(
        name="test-gated", title="gated", reference="", describe="",
        params=(U, W, Uu, Wu, V), quantities=(x, u, c, h, o, y),
        equations=(Equation(u, Apply("sigmoid", add(Wu * h.prev, Uu * x.now)), "gate"),
                   Equation(c, Apply("tanh", add(W * hadamard(u.now, h.prev), U * x.now)), "c"),
                   Equation(h, add(hadamard(ones(N_HIDDEN) - u.now, h.prev),
                                   hadamard(u.now, c.now)), "h"),
                   Equation(o, V * h.now, "o")),
        output=o, target=y)


def test_hadamard_needs_two_factors():
    with pytest.raises(ValueError, match="at least two factors"):
        hadamard(sp.MatrixSymbol("u", 2, 1))


@pytest.mark.parametrize("tau", [1, 2])
def test_gated_model_derives_exactly(tau, monkeypatch):
    m = gated_model()
    monkeypatch.setitem(MODELS, m.name, m)
    spec = RNNSpec(tau=tau, n_in=1, n_hidden=1, n_out=2, model=m.name)
    check_against_composed_diff(spec)
    labels = {e.label for e in checked_equations(m, derive(unroll(m, spec)))}
    assert {"grad_u", "grad_c", "grad_h", "grad_W", "grad_h(0)"} <= labels
