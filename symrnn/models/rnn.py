"""The note's network: the vanilla RNN of *Deep Learning*, eqs. 10.8-10.11 (Fig. 10.3).

    a(t) = b + W h(t-1) + U x(t),  h(t) = phi(a(t)) (tanh in the note),
    o(t) = c + V h(t),             y^(t) = softmax(o(t)),  L = sum_t -log y^(t)[y(t)].

The note's printed formulas (its certificate catalogue) are attached as data.
"""

from ..certificate.note import CATALOGUE
from ..functions import Apply
from .base import (N_HIDDEN, N_IN, N_OUT, PHI, Equation, Model, TorchWeights, add, inp, node,
                   param, state, target)

x = inp("x", N_IN, "input")
a = node("a", N_HIDDEN, "pre-activation")
h = state("h", N_HIDDEN, "hidden state")
o = node("o", N_OUT, "output (logits)")
y = target("y", N_OUT, "target")
U = param("U", N_HIDDEN, N_IN, "input-to-hidden weights")
W = param("W", N_HIDDEN, N_HIDDEN, "hidden-to-hidden (recurrent) weights", init="recurrent")
V = param("V", N_OUT, N_HIDDEN, "hidden-to-output weights")
b = param("b", N_HIDDEN, None, "hidden bias")
c = param("c", N_OUT, None, "output bias")

MODEL = Model(
    name="rnn",
    title="Vanilla RNN",
    reference="eqs. 10.8-10.11, Fig. 10.3",
    describe="the note's network: hidden-to-hidden recurrence, an output and a loss at every step",
    params=(U, W, V, b, c),
    quantities=(x, a, h, o, y),
    equations=(
        Equation(a, add(b, W * h.prev, U * x.now), "pre-activation", "10.8"),
        Equation(h, Apply(PHI, a.now), "hidden state", "10.9"),
        Equation(o, add(c, V * h.now), "output", "10.10"),
    ),
    output=o,
    target=y,
    catalogue=CATALOGUE,
    # torch.nn.RNN keeps two biases, bias_ih + bias_hh, where the note has b
    torch=TorchWeights("torch.nn.RNN", (("weight_ih_l0", ("U",)), ("weight_hh_l0", ("W",)),
                                        ("bias_ih_l0", ("b",)), ("bias_hh_l0", ("b",))),
                       ("V", "c"), activations=("tanh", "relu")),
)
