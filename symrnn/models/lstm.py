"""The LSTM of *Deep Learning* section 10.10.1, eqs. 10.40-10.44, as the book prints them.

Written per unit in the book; here, in matrix form, with a pre-activation node per gate::

    f(t) = sigma(b_f + U_f x(t) + W_f h(t-1))                 forget gate        (10.40)
    g(t) = sigma(b_g + U_g x(t) + W_g h(t-1))                 external input gate (10.42)
    q(t) = sigma(b_o + U_o x(t) + W_o h(t-1))                 output gate        (10.44)
    z(t) = sigma(b + U x(t) + W h(t-1))                       cell input, inside 10.41
    s(t) = f(t) (.) s(t-1) + g(t) (.) z(t)                    internal state     (10.41)
    h(t) = tanh(s(t)) (.) q(t)                                output             (10.43)
    o(t) = c + V h(t),  y^(t) = softmax(o(t)),  L = sum_t L(t).

Two states run through time, h and s, with h(0) and s(0) given. The book prints sigma for the
cell input z(t) (10.41); PyTorch's ``nn.LSTM`` uses tanh there, orders its gates i, f, g, o
and adds two biases per gate: that cell is ``lstm-torch``. The cell input has no name in the
book; z ("block input") is ours.
"""

from ..certificate.gated import LSTM_CATALOGUE
from ..functions import Apply
from .base import (N_HIDDEN, N_IN, N_OUT, Equation, Model, add, hadamard, inp, node, param,
                   state, target)

x = inp("x", N_IN, "input")
y = target("y", N_OUT, "target")
a_f = node("a_f", N_HIDDEN, "forget gate pre-activation")
f = node("f", N_HIDDEN, "forget gate")
a_g = node("a_g", N_HIDDEN, "external input gate pre-activation")
g = node("g", N_HIDDEN, "external input gate")
a_q = node("a_q", N_HIDDEN, "output gate pre-activation")
q = node("q", N_HIDDEN, "output gate")
a_z = node("a_z", N_HIDDEN, "cell input pre-activation")
z = node("z", N_HIDDEN, "cell input")
s = state("s", N_HIDDEN, "internal (cell) state")
h = state("h", N_HIDDEN, "output of the cell (hidden state)")
o = node("o", N_OUT, "output (logits)")

U_f = param("U_f", N_HIDDEN, N_IN, "input weights of the forget gate")
W_f = param("W_f", N_HIDDEN, N_HIDDEN, "recurrent weights of the forget gate", init="recurrent")
b_f = param("b_f", N_HIDDEN, None, "bias of the forget gate")
U_g = param("U_g", N_HIDDEN, N_IN, "input weights of the external input gate")
W_g = param("W_g", N_HIDDEN, N_HIDDEN, "recurrent weights of the external input gate",
            init="recurrent")
b_g = param("b_g", N_HIDDEN, None, "bias of the external input gate")
U_o = param("U_o", N_HIDDEN, N_IN, "input weights of the output gate")
W_o = param("W_o", N_HIDDEN, N_HIDDEN, "recurrent weights of the output gate", init="recurrent")
b_o = param("b_o", N_HIDDEN, None, "bias of the output gate")
U = param("U", N_HIDDEN, N_IN, "input weights of the cell input")
W = param("W", N_HIDDEN, N_HIDDEN, "recurrent weights of the cell input", init="recurrent")
b = param("b", N_HIDDEN, None, "bias of the cell input")
V = param("V", N_OUT, N_HIDDEN, "hidden-to-output weights")
c = param("c", N_OUT, None, "output bias")

SIGMA = "sigmoid"

MODEL = Model(
    name="lstm",
    title="LSTM, as the book prints it",
    reference="sec. 10.10.1, eqs. 10.40-10.44",
    describe="long short-term memory: forget, external input and output gates, internal "
             "state s; sigma for the cell input as printed",
    params=(U_f, W_f, b_f, U_g, W_g, b_g, U_o, W_o, b_o, U, W, b, V, c),
    quantities=(x, a_f, f, a_g, g, a_q, q, a_z, z, s, h, o, y),
    equations=(
        Equation(a_f, add(b_f, U_f * x.now, W_f * h.prev), "forget gate pre-activation", "10.40"),
        Equation(f, Apply(SIGMA, a_f.now), "forget gate", "10.40"),
        Equation(a_g, add(b_g, U_g * x.now, W_g * h.prev), "external input gate "
                 "pre-activation", "10.42"),
        Equation(g, Apply(SIGMA, a_g.now), "external input gate", "10.42"),
        Equation(a_q, add(b_o, U_o * x.now, W_o * h.prev), "output gate pre-activation",
                 "10.44"),
        Equation(q, Apply(SIGMA, a_q.now), "output gate", "10.44"),
        Equation(a_z, add(b, U * x.now, W * h.prev), "cell input pre-activation", "10.41"),
        Equation(z, Apply(SIGMA, a_z.now), "cell input (sigma, as printed)", "10.41"),
        Equation(s, add(hadamard(f.now, s.prev), hadamard(g.now, z.now)), "internal state",
                 "10.41"),
        Equation(h, hadamard(Apply("tanh", s.now), q.now), "output of the cell", "10.43"),
        Equation(o, add(c, V * h.now), "output"),
    ),
    output=o,
    target=y,
    catalogue=LSTM_CATALOGUE,
    notes=("The book prints sigma for the cell input (10.41); PyTorch's nn.LSTM uses tanh, "
           "orders its gates i, f, g, o and has two biases per gate: see lstm-torch.",),
)
