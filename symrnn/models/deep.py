"""A deep RNN of two stacked recurrent layers (*Deep Learning*, section 10.5, Fig. 10.13a).

    h1(t) = phi(b1 + W1 h1(t-1) + U1 x(t)),
    h2(t) = phi(b2 + W2 h2(t-1) + U2 h1(t)),
    o(t) = c + V h2(t),  y^(t) = softmax(o(t)),  L = sum_t L(t).

Both layers have n_hidden units; the gradient reaches layer 1 through layer 2 at the same
step and through its own recurrence.
"""

from ..functions import Apply
from .base import (N_HIDDEN, N_IN, N_OUT, PHI, Equation, Model, add, inp, node, param, state,
                   target)

x = inp("x", N_IN, "input")
a1 = node("a1", N_HIDDEN, "layer-1 pre-activation", r"\boldsymbol{a}_{1}")
h1 = state("h1", N_HIDDEN, "layer-1 hidden state", r"\boldsymbol{h}_{1}")
a2 = node("a2", N_HIDDEN, "layer-2 pre-activation", r"\boldsymbol{a}_{2}")
h2 = state("h2", N_HIDDEN, "layer-2 hidden state", r"\boldsymbol{h}_{2}")
o = node("o", N_OUT, "output (logits)")
y = target("y", N_OUT, "target")
U1 = param("U1", N_HIDDEN, N_IN, "input-to-layer-1 weights")
W1 = param("W1", N_HIDDEN, N_HIDDEN, "layer-1 recurrent weights", init="recurrent")
b1 = param("b1", N_HIDDEN, None, "layer-1 bias")
U2 = param("U2", N_HIDDEN, N_HIDDEN, "layer-1-to-layer-2 weights")
W2 = param("W2", N_HIDDEN, N_HIDDEN, "layer-2 recurrent weights", init="recurrent")
b2 = param("b2", N_HIDDEN, None, "layer-2 bias")
V = param("V", N_OUT, N_HIDDEN, "layer-2-to-output weights")
c = param("c", N_OUT, None, "output bias")

MODEL = Model(
    name="deep",
    title="Deep RNN, two layers",
    reference="sec. 10.5, Fig. 10.13a",
    describe="two stacked recurrent layers h1(t), h2(t); an output and a loss at every step",
    params=(U1, W1, b1, U2, W2, b2, V, c),
    quantities=(x, a1, h1, a2, h2, o, y),
    equations=(
        Equation(a1, add(b1, W1 * h1.prev, U1 * x.now), "layer-1 pre-activation"),
        Equation(h1, Apply(PHI, a1.now), "layer-1 hidden state"),
        Equation(a2, add(b2, W2 * h2.prev, U2 * h1.now), "layer-2 pre-activation"),
        Equation(h2, Apply(PHI, a2.now), "layer-2 hidden state"),
        Equation(o, add(c, V * h2.now), "output"),
    ),
    output=o,
    target=y,
)
