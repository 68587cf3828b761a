"""Recurrence from the output to the hidden layer: *Deep Learning* Fig. 10.4.

    h(t) = tanh(b + W o(t-1) + U x(t)),  o(t) = c + V h(t),  y^(t) = softmax(o(t)),

with W of shape n_hidden x n_out and o(0) a given initial output. The only recurrence runs
through o, so the network is less powerful than the note's, but each step can be trained
in parallel when o(t-1) is replaced by its target (teacher forcing, Fig. 10.6).
"""

from ..functions import Apply
from .base import (N_HIDDEN, N_IN, N_OUT, PHI, Equation, Model, add, inp, node, param, state,
                   target)

x = inp("x", N_IN, "input")
a = node("a", N_HIDDEN, "pre-activation")
h = node("h", N_HIDDEN, "hidden state")
o = state("o", N_OUT, "output (logits), fed back to the next step")
y = target("y", N_OUT, "target")
U = param("U", N_HIDDEN, N_IN, "input-to-hidden weights")
W = param("W", N_HIDDEN, N_OUT, "output-to-hidden (recurrent) weights", init="recurrent")
V = param("V", N_OUT, N_HIDDEN, "hidden-to-output weights")
b = param("b", N_HIDDEN, None, "hidden bias")
c = param("c", N_OUT, None, "output bias")

MODEL = Model(
    name="output-recurrence",
    title="Output-to-hidden recurrence",
    reference="Fig. 10.4",
    describe="recurrence from the output o(t-1) to the hidden layer, a loss at every step",
    params=(U, W, V, b, c),
    quantities=(x, a, h, o, y),
    equations=(
        Equation(a, add(b, W * o.prev, U * x.now), "pre-activation"),
        Equation(h, Apply(PHI, a.now), "hidden state"),
        Equation(o, add(c, V * h.now), "output"),
    ),
    output=o,
    target=y,
)
