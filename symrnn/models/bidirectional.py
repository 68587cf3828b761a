"""Bidirectional RNN (*Deep Learning*, section 10.3, Fig. 10.11).

    h(t) = phi(b + W h(t-1) + U x(t))        forward in time (h(0) given),
    g(t) = phi(b' + W' g(t+1) + U' x(t))     backward in time (g(tau+1) given),
    o(t) = c + V h(t) + V' g(t),  y^(t) = softmax(o(t)),  L = sum_t L(t).

Each output sees the whole input sequence: the past through h, the future through g.
"""

from ..functions import Apply
from .base import (N_HIDDEN, N_IN, N_OUT, PHI, Equation, Model, add, inp, node, param, state,
                   target)

x = inp("x", N_IN, "input")
a = node("a", N_HIDDEN, "forward pre-activation")
h = state("h", N_HIDDEN, "forward hidden state")
e = node("e", N_HIDDEN, "backward pre-activation")
g = state("g", N_HIDDEN, "backward hidden state")
o = node("o", N_OUT, "output (logits)")
y = target("y", N_OUT, "target")
U = param("U", N_HIDDEN, N_IN, "input-to-forward weights")
W = param("W", N_HIDDEN, N_HIDDEN, "forward recurrent weights", init="recurrent")
b = param("b", N_HIDDEN, None, "forward bias")
Ub = param("Ub", N_HIDDEN, N_IN, "input-to-backward weights (U')")
Wb = param("Wb", N_HIDDEN, N_HIDDEN, "backward recurrent weights (W')", init="recurrent")
bb = param("bb", N_HIDDEN, None, "backward bias (b')")
V = param("V", N_OUT, N_HIDDEN, "forward-to-output weights")
Vb = param("Vb", N_OUT, N_HIDDEN, "backward-to-output weights (V')")
c = param("c", N_OUT, None, "output bias")

MODEL = Model(
    name="bidirectional",
    title="Bidirectional RNN",
    reference="sec. 10.3, Fig. 10.11",
    describe="a forward state h(t) and a backward state g(t) (from g(t+1)) both feed o(t)",
    params=(U, W, b, Ub, Wb, bb, V, Vb, c),
    quantities=(x, a, h, e, g, o, y),
    equations=(
        Equation(a, add(b, W * h.prev, U * x.now), "forward pre-activation"),
        Equation(h, Apply(PHI, a.now), "forward hidden state"),
        Equation(e, add(bb, Wb * g.next, Ub * x.now), "backward pre-activation"),
        Equation(g, Apply(PHI, e.now), "backward hidden state"),
        Equation(o, add(c, V * h.now, Vb * g.now), "output"),
    ),
    output=o,
    target=y,
)
