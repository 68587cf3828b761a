"""The gated recurrent unit of *Deep Learning* section 10.10.2, eqs. 10.45-10.47, as the
book prints them (in matrix form, with pre-activation nodes)::

    a(t) = b + U x(t) + W (r(t-1) (.) h(t-1))                  inside 10.45
    n(t) = sigma(a(t))                                         candidate (sigma, as printed)
    h(t) = u(t-1) (.) h(t-1) + (1 - u(t-1)) (.) n(t)           (10.45)
    u(t) = sigma(b_u + U_u x(t) + W_u h(t))                    update gate (10.46)
    r(t) = sigma(b_r + U_r x(t) + W_r h(t))                    reset gate (10.47)
    o(t) = c + V h(t),  y^(t) = softmax(o(t)),  L = sum_t L(t).

As printed, the gates of step t read h(t) and act on step t+1, so u(0) and r(0) are initial
values (given, like h(0)), and u(tau), r(tau) feed nothing. PyTorch's ``nn.GRU`` (``gru-torch``)
differs: its gates read h(t-1) at the same step, its candidate is tanh, the reset gate
multiplies W_hn h(t-1) + b_hn after the product, and h(t) = (1 - z) (.) n + z (.) h(t-1).
"""

from ..certificate.gated import GRU_CATALOGUE
from ..functions import Apply
from .base import (N_HIDDEN, N_IN, N_OUT, Equation, Model, add, hadamard, inp, node,
                   one_minus, param, state, target)

x = inp("x", N_IN, "input")
y = target("y", N_OUT, "target")
a = node("a", N_HIDDEN, "candidate pre-activation")
n = node("n", N_HIDDEN, "candidate state")
h = state("h", N_HIDDEN, "hidden state")
a_u = node("a_u", N_HIDDEN, "update gate pre-activation")
u = state("u", N_HIDDEN, "update gate")
a_r = node("a_r", N_HIDDEN, "reset gate pre-activation")
r = state("r", N_HIDDEN, "reset gate")
o = node("o", N_OUT, "output (logits)")
U = param("U", N_HIDDEN, N_IN, "input weights of the candidate")
W = param("W", N_HIDDEN, N_HIDDEN, "recurrent weights of the candidate", init="recurrent")
b = param("b", N_HIDDEN, None, "bias of the candidate")
U_u = param("U_u", N_HIDDEN, N_IN, "input weights of the update gate")
W_u = param("W_u", N_HIDDEN, N_HIDDEN, "recurrent weights of the update gate", init="recurrent")
b_u = param("b_u", N_HIDDEN, None, "bias of the update gate")
U_r = param("U_r", N_HIDDEN, N_IN, "input weights of the reset gate")
W_r = param("W_r", N_HIDDEN, N_HIDDEN, "recurrent weights of the reset gate", init="recurrent")
b_r = param("b_r", N_HIDDEN, None, "bias of the reset gate")
V = param("V", N_OUT, N_HIDDEN, "hidden-to-output weights")
c = param("c", N_OUT, None, "output bias")

SIGMA = "sigmoid"

MODEL = Model(
    name="gru",
    title="GRU, as the book prints it",
    reference="sec. 10.10.2, eqs. 10.45-10.47",
    describe="gated recurrent unit: update and reset gates of step t-1 act on h(t); sigma "
             "for the candidate as printed",
    params=(U, W, b, U_u, W_u, b_u, U_r, W_r, b_r, V, c),
    quantities=(x, a, n, h, a_u, u, a_r, r, o, y),
    equations=(
        Equation(a, add(b, U * x.now, W * hadamard(r.prev, h.prev)),
                 "candidate pre-activation", "10.45"),
        Equation(n, Apply(SIGMA, a.now), "candidate state (sigma, as printed)", "10.45"),
        Equation(h, add(hadamard(u.prev, h.prev), hadamard(one_minus(u.prev), n.now)),
                 "hidden state", "10.45"),
        Equation(a_u, add(b_u, U_u * x.now, W_u * h.now), "update gate pre-activation",
                 "10.46"),
        Equation(u, Apply(SIGMA, a_u.now), "update gate", "10.46"),
        Equation(a_r, add(b_r, U_r * x.now, W_r * h.now), "reset gate pre-activation",
                 "10.47"),
        Equation(r, Apply(SIGMA, a_r.now), "reset gate", "10.47"),
        Equation(o, add(c, V * h.now), "output"),
    ),
    output=o,
    target=y,
    catalogue=GRU_CATALOGUE,
    notes=("As printed, u(t-1) and r(t-1) act on h(t): u(0) and r(0) are initial values.",
           "The book prints sigma for the candidate; PyTorch's nn.GRU uses tanh, reads its "
           "gates at h(t-1) of the same step and applies the reset gate after the recurrent "
           "product: see gru-torch."),
)
