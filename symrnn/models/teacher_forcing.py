"""Teacher forcing (*Deep Learning*, Fig. 10.6): in training, the hidden layer reads the
previous step's target y(t-1) instead of the model's own output o(t-1).

    a(t) = b + W y(t-1) + U x(t),  h(t) = phi(a(t)),  o(t) = c + V h(t),
    y^(t) = softmax(o(t)),  L = sum_t L(t),

with y(t-1) the one-hot vector of the previous label (y(0) a given vector). There is no
recurrence through h or o: each step's gradient stays in its step, which is why the book says
the steps can be trained in parallel.
"""

from ..functions import Apply
from .base import (N_HIDDEN, N_IN, N_OUT, PHI, Equation, Model, add, inp, node, param, target)

x = inp("x", N_IN, "input")
a = node("a", N_HIDDEN, "pre-activation")
h = node("h", N_HIDDEN, "hidden state")
o = node("o", N_OUT, "output (logits)")
y = target("y", N_OUT, "target, fed to the next step in training")
U = param("U", N_HIDDEN, N_IN, "input-to-hidden weights")
W = param("W", N_HIDDEN, N_OUT, "target-to-hidden weights", init="recurrent")
V = param("V", N_OUT, N_HIDDEN, "hidden-to-output weights")
b = param("b", N_HIDDEN, None, "hidden bias")
c = param("c", N_OUT, None, "output bias")

MODEL = Model(
    name="teacher-forcing",
    title="Teacher forcing",
    reference="Fig. 10.6",
    describe="the hidden layer reads the previous target y(t-1) in training; no recurrence",
    params=(U, W, V, b, c),
    quantities=(x, a, h, o, y),
    equations=(
        Equation(a, add(b, W * y.prev, U * x.now), "pre-activation, from the previous target"),
        Equation(h, Apply(PHI, a.now), "hidden state"),
        Equation(o, add(c, V * h.now), "output"),
    ),
    output=o,
    target=y,
)
