"""The LSTM cell that PyTorch's ``nn.LSTM`` computes (one layer), so a user can match it bit
for bit::

    i(t) = sigma(W_ii x(t) + b_ii + W_hi h(t-1) + b_hi)      input gate
    f(t) = sigma(W_if x(t) + b_if + W_hf h(t-1) + b_hf)      forget gate
    g(t) = tanh(W_ig x(t) + b_ig + W_hg h(t-1) + b_hg)       cell input
    q(t) = sigma(W_io x(t) + b_io + W_ho h(t-1) + b_ho)      output gate (PyTorch's o)
    s(t) = f(t) (.) s(t-1) + i(t) (.) g(t)                   cell state (PyTorch's c)
    h(t) = q(t) (.) tanh(s(t))
    o(t) = c + V h(t),  y^(t) = softmax(o(t)),  L = sum_t L(t).

Parameter names are PyTorch's: ``weight_ih_l0`` stacks W_ii, W_if, W_ig, W_io (gate order
i, f, g, o), ``weight_hh_l0`` W_hi, W_hf, W_hg, W_ho, and there are two biases per gate,
``bias_ih_l0`` and ``bias_hh_l0`` (their gradients are equal). How it differs from the book's
10.40-10.44 (``lstm``): tanh, not sigma, for the cell input; the input gate is the book's
external input gate g; two biases; PyTorch's o and c are q and s here (o is the output layer,
c its bias).
"""

from ..functions import Apply
from .base import (N_HIDDEN, N_IN, N_OUT, Equation, Model, TorchWeights, add, hadamard, inp, node,
                   param, state, target)

x = inp("x", N_IN, "input")
y = target("y", N_OUT, "target")
GATES = (("i", "input gate", "sigmoid"), ("f", "forget gate", "sigmoid"),
         ("g", "cell input", "tanh"), ("o", "output gate", "sigmoid"))
NODE = {"i": "i", "f": "f", "g": "g", "o": "q"}  # PyTorch's o is q here (o is the output)

pre, gate, W_i, W_h, b_i, b_h = {}, {}, {}, {}, {}, {}
for k, what, _f in GATES:
    n = NODE[k]
    pre[k] = node(f"a_{n}", N_HIDDEN, f"{what} pre-activation")
    gate[k] = node(n, N_HIDDEN, what)
    W_i[k] = param(f"W_i{k}", N_HIDDEN, N_IN, f"input weights of the {what} (weight_ih_l0)")
    W_h[k] = param(f"W_h{k}", N_HIDDEN, N_HIDDEN,
                   f"recurrent weights of the {what} (weight_hh_l0)", init="recurrent")
    b_i[k] = param(f"b_i{k}", N_HIDDEN, None, f"input bias of the {what} (bias_ih_l0)")
    b_h[k] = param(f"b_h{k}", N_HIDDEN, None, f"recurrent bias of the {what} (bias_hh_l0)")
s = state("s", N_HIDDEN, "cell state (PyTorch's c)")
h = state("h", N_HIDDEN, "hidden state")
o = node("o", N_OUT, "output (logits)")
V = param("V", N_OUT, N_HIDDEN, "hidden-to-output weights")
c = param("c", N_OUT, None, "output bias")

_eqs = []
for k, what, fn in GATES:
    _eqs.append(Equation(pre[k], add(W_i[k] * x.now, b_i[k], W_h[k] * h.prev, b_h[k]),
                         f"{what} pre-activation"))
    _eqs.append(Equation(gate[k], Apply(fn, pre[k].now), what))
_eqs += [
    Equation(s, add(hadamard(gate["f"].now, s.prev), hadamard(gate["i"].now, gate["g"].now)),
             "cell state"),
    Equation(h, hadamard(gate["o"].now, Apply("tanh", s.now)), "hidden state"),
    Equation(o, add(c, V * h.now), "output"),
]

MODEL = Model(
    name="lstm-torch",
    title="LSTM, as PyTorch's nn.LSTM computes it",
    reference="torch.nn.LSTM; cf. sec. 10.10.1",
    describe="PyTorch's LSTM cell: tanh cell input, gates i, f, g, o, two biases per gate",
    params=tuple(p for k, _w, _f in GATES for p in (W_i[k], W_h[k], b_i[k], b_h[k])) + (V, c),
    quantities=(x,) + tuple(q for k, _w, _f in GATES for q in (pre[k], gate[k]))
    + (s, h, o, y),
    equations=tuple(_eqs),
    output=o,
    target=y,
    notes=("Differs from the book's 10.40-10.44 (lstm): tanh for the cell input where the "
           "book prints sigma; two biases per gate (b_i* + b_h*); PyTorch's output gate o and "
           "cell state c are q and s here.",),
    torch=TorchWeights("torch.nn.LSTM", tuple(
        (name, tuple(group[k].name for k, _w, _f in GATES))
        for name, group in (("weight_ih_l0", W_i), ("weight_hh_l0", W_h), ("bias_ih_l0", b_i),
                            ("bias_hh_l0", b_h))), ("V", "c")),
)
