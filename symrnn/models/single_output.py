"""One output at the end of the sequence (*Deep Learning*, Fig. 10.5).

    a(t) = b + W h(t-1) + U x(t),  h(t) = phi(a(t))   for t = 1..tau,
    o(tau) = c + V h(tau),  y^(tau) = softmax(o(tau)),  L = L(tau).

The hidden recurrence is the note's; the output and the loss exist only at the last step, so
grad_h(t) L for t < tau comes from h(t+1) alone.
"""

from ..certificate.note import CATALOGUE as NOTE
from .base import N_OUT, Equation, Model, add, node, target
from .rnn import MODEL as RNN, U, V, W, a, b, c, h, x

# the note's hidden recurrence (10.8, 10.9) and its quantities, as the rnn module defines them
o = node("o", N_OUT, "output (logits), at the last step only")
y = target("y", N_OUT, "target (read at the last step)")


MODEL = Model(
    name="single-output",
    title="Single output at the end",
    reference="Fig. 10.5",
    describe="hidden-to-hidden recurrence that reads the whole sequence; one output and loss at tau",
    params=(U, W, V, b, c),
    quantities=(x, a, h, o, y),
    equations=(
        *RNN.equations[:2],
        Equation(o, add(c, V * h.now), "output, at t = tau only", "10.10", when="last"),
    ),
    output=o,
    target=y,
    loss_when="last",
    # the book's printed recurrence, 10.8 and 10.9, holds at every step (10.10 only at tau)
    catalogue=tuple(f for f in NOTE if f.id in ("fwd.10.8", "fwd.10.9")),
)
