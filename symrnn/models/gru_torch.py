"""The GRU cell that PyTorch's ``nn.GRU`` computes (one layer)::

    r(t) = sigma(W_ir x(t) + b_ir + W_hr h(t-1) + b_hr)      reset gate
    z(t) = sigma(W_iz x(t) + b_iz + W_hz h(t-1) + b_hz)      update gate
    m(t) = W_hn h(t-1) + b_hn                                the recurrent part of n
    n(t) = tanh(W_in x(t) + b_in + r(t) (.) m(t))            candidate
    h(t) = (1 - z(t)) (.) n(t) + z(t) (.) h(t-1)
    o(t) = c + V h(t),  y^(t) = softmax(o(t)),  L = sum_t L(t).

Parameter names are PyTorch's: ``weight_ih_l0`` stacks W_ir, W_iz, W_in (gate order r, z, n),
``weight_hh_l0`` W_hr, W_hz, W_hn, and the biases likewise. How it differs from the book's
10.45-10.47 (``gru``): the reset gate multiplies W_hn h(t-1) + b_hn after the product (the book
resets h(t-1) before it, W (r (.) h)); the gates read h(t-1) and act at the same step; tanh,
not sigma, for the candidate; z(t) keeps the old state (the book's u(t-1)); two biases.
"""

from ..functions import Apply
from .base import (N_HIDDEN, N_IN, N_OUT, Equation, Model, TorchWeights, add, hadamard, inp, node,
                   one_minus, param, state, target)

x = inp("x", N_IN, "input")
y = target("y", N_OUT, "target")
h = state("h", N_HIDDEN, "hidden state")
o = node("o", N_OUT, "output (logits)")
a_r = node("a_r", N_HIDDEN, "reset gate pre-activation")
r = node("r", N_HIDDEN, "reset gate")
a_z = node("a_z", N_HIDDEN, "update gate pre-activation")
z = node("z", N_HIDDEN, "update gate")
m = node("m", N_HIDDEN, "recurrent part of the candidate, W_hn h(t-1) + b_hn")
a_n = node("a_n", N_HIDDEN, "candidate pre-activation")
n = node("n", N_HIDDEN, "candidate state")

P = {}
for k, what in (("r", "reset gate"), ("z", "update gate"), ("n", "candidate")):
    P[f"W_i{k}"] = param(f"W_i{k}", N_HIDDEN, N_IN, f"input weights of the {what} "
                         f"(weight_ih_l0)")
    P[f"W_h{k}"] = param(f"W_h{k}", N_HIDDEN, N_HIDDEN, f"recurrent weights of the {what} "
                         f"(weight_hh_l0)", init="recurrent")
    P[f"b_i{k}"] = param(f"b_i{k}", N_HIDDEN, None, f"input bias of the {what} (bias_ih_l0)")
    P[f"b_h{k}"] = param(f"b_h{k}", N_HIDDEN, None, f"recurrent bias of the {what} "
                         f"(bias_hh_l0)")
V = param("V", N_OUT, N_HIDDEN, "hidden-to-output weights")
c = param("c", N_OUT, None, "output bias")

MODEL = Model(
    name="gru-torch",
    title="GRU, as PyTorch's nn.GRU computes it",
    reference="torch.nn.GRU; cf. sec. 10.10.2",
    describe="PyTorch's GRU cell: reset gate applied after the recurrent product, "
             "r * (W_hn h + b_hn), tanh candidate, two biases",
    params=tuple(P.values()) + (V, c),
    quantities=(x, a_r, r, a_z, z, m, a_n, n, h, o, y),
    equations=(
        Equation(a_r, add(P["W_ir"] * x.now, P["b_ir"], P["W_hr"] * h.prev, P["b_hr"]),
                 "reset gate pre-activation"),
        Equation(r, Apply("sigmoid", a_r.now), "reset gate"),
        Equation(a_z, add(P["W_iz"] * x.now, P["b_iz"], P["W_hz"] * h.prev, P["b_hz"]),
                 "update gate pre-activation"),
        Equation(z, Apply("sigmoid", a_z.now), "update gate"),
        Equation(m, add(P["W_hn"] * h.prev, P["b_hn"]), "recurrent part of the candidate"),
        Equation(a_n, add(P["W_in"] * x.now, P["b_in"], hadamard(r.now, m.now)),
                 "candidate pre-activation"),
        Equation(n, Apply("tanh", a_n.now), "candidate state"),
        Equation(h, add(hadamard(one_minus(z.now), n.now), hadamard(z.now, h.prev)),
                 "hidden state"),
        Equation(o, add(c, V * h.now), "output"),
    ),
    output=o,
    target=y,
    notes=("Differs from the book's 10.45-10.47 (gru): the reset gate acts after the "
           "recurrent product, r * (W_hn h(t-1) + b_hn); gates read h(t-1) at the same step; "
           "tanh candidate; two biases per gate.",),
    # PyTorch's gate order r, z, n in each stacked tensor
    torch=TorchWeights("torch.nn.GRU", tuple(
        (name, tuple(f"{kind}{k}" for k in "rzn"))
        for name, kind in (("weight_ih_l0", "W_i"), ("weight_hh_l0", "W_h"),
                           ("bias_ih_l0", "b_i"), ("bias_hh_l0", "b_h"))), ("V", "c")),
)
