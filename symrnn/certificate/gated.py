"""The printed equations of the gated cells of *Deep Learning* section 10.10 (the certificate
catalogues of the ``lstm`` and ``gru`` models).

The book prints each equation per unit i, with the matrix products as sums over j
(f_i(t) = sigma(b^f_i + sum_j U^f_ij x_j(t) + sum_j W^f_ij h_j(t-1))); each entry builds it in
matrix form with the same terms in the same order (sum_j U_ij x_j is (U x)_i, a product of two
units' values is the Hadamard product) and checks it as a definition against the model's own
equations: for every size and step (general), and against the unrolled graph (instance).
The book writes the gate parameters with superscripts (U^f, b^o); the model's names are
U_f, b_o. Nothing here decides a verdict.
"""

from __future__ import annotations

from ..functions import Apply
from ..naming import T
from ..models.base import hadamard, one_minus
from .claims import Formula, add, product
from .note import defines


def _gate(p: str, reads: str = "h", k: int = -1):
    """sigma(b^p + U^p x(t) + W^p h(t+k)), the book's gate (parameter suffix ``p``)."""
    return lambda G: Apply("sigmoid", add(G.P(f"b_{p}"), product(G.P(f"U_{p}"), G.node("x", T)),
                                          product(G.P(f"W_{p}"), G.node(reads, T + k))))


def _sum_print(lhs: str, sup: str, h: str = r"h_j^{(t-1)}") -> str:
    sup = f"^{{{sup}}}" if sup else ""
    return (rf"{lhs}=\sigma\Big(b_i{sup}+\sum_j U_{{i,j}}{sup} x_j^{{(t)}}"
            rf"+\sum_j W_{{i,j}}{sup} {h}\Big)")


def _sum_text(lhs: str, sup: str, h: str = "h_j(t-1)") -> str:
    s = f"^{sup}" if sup else ""
    return f"{lhs} = sigma(b{s}_i + sum_j U{s}_ij x_j(t) + sum_j W{s}_ij {h})"


def _cell_input(G):
    return Apply("sigmoid", add(G.P("b"), product(G.P("U"), G.node("x", T)),
                                product(G.P("W"), G.node("h", T - 1))))


LSTM_CATALOGUE: tuple[Formula, ...] = (
    Formula("lstm.10.40", "forward", "forget gate (10.40)", _sum_print("f_i^{(t)}", "f"),
            _sum_text("f_i(t)", "f"), defines("f", _gate("f")), method="definition",
            note="per unit i in the book; sum_j U_ij x_j(t) is (U x(t))_i"),
    Formula("lstm.10.41", "forward", "internal state (10.41)",
            r"s_i^{(t)}=f_i^{(t)} s_i^{(t-1)}+g_i^{(t)} \sigma\Big(b_i+\sum_j U_{i,j} "
            r"x_j^{(t)}+\sum_j W_{i,j} h_j^{(t-1)}\Big)",
            "s_i(t) = f_i(t) s_i(t-1) + g_i(t) sigma(b_i + sum_j U_ij x_j(t) + sum_j W_ij "
            "h_j(t-1))",
            defines("s", lambda G: add(hadamard(G.node("f", T), G.node("s", T - 1)),
                                       hadamard(G.node("g", T), _cell_input(G)))),
            method="definition",
            note="the book prints sigma for the cell input; PyTorch uses tanh (lstm-torch)"),
    Formula("lstm.10.42", "forward", "external input gate (10.42)", _sum_print("g_i^{(t)}", "g"),
            _sum_text("g_i(t)", "g"), defines("g", _gate("g")), method="definition"),
    Formula("lstm.10.43", "forward", "output of the cell (10.43)",
            r"h_i^{(t)}=\tanh\big(s_i^{(t)}\big) q_i^{(t)}", "h_i(t) = tanh(s_i(t)) q_i(t)",
            defines("h", lambda G: hadamard(Apply("tanh", G.node("s", T)), G.node("q", T))),
            method="definition"),
    Formula("lstm.10.44", "forward", "output gate (10.44)", _sum_print("q_i^{(t)}", "o"),
            _sum_text("q_i(t)", "o"), defines("q", _gate("o")), method="definition",
            note="the output gate q has parameters with superscript o in the book"),
)


GRU_CATALOGUE: tuple[Formula, ...] = (
    Formula("gru.10.45", "forward", "hidden state (10.45)",
            r"h_i^{(t)}=u_i^{(t-1)} h_i^{(t-1)}+\big(1-u_i^{(t-1)}\big) \sigma\Big(b_i"
            r"+\sum_j U_{i,j} x_j^{(t)}+\sum_j W_{i,j} r_j^{(t-1)} h_j^{(t-1)}\Big)",
            "h_i(t) = u_i(t-1) h_i(t-1) + (1 - u_i(t-1)) sigma(b_i + sum_j U_ij x_j(t) + "
            "sum_j W_ij r_j(t-1) h_j(t-1))",
            defines("h", lambda G: add(
                hadamard(G.node("u", T - 1), G.node("h", T - 1)),
                hadamard(one_minus(G.node("u", T - 1)), Apply("sigmoid", add(
                    G.P("b"), product(G.P("U"), G.node("x", T)),
                    product(G.P("W"), hadamard(G.node("r", T - 1), G.node("h", T - 1)))))))),
            method="definition",
            note="sum_j W_ij r_j h_j is (W (r (.) h))_i: the reset gate acts before the "
                 "product (PyTorch applies it after: gru-torch)"),
    Formula("gru.10.46", "forward", "update gate (10.46)",
            _sum_print("u_i^{(t)}", "u", r"h_j^{(t)}"), _sum_text("u_i(t)", "u", "h_j(t)"),
            defines("u", _gate("u", k=0)), method="definition",
            note="as printed, the gate of step t reads h(t) and acts on h(t+1)"),
    Formula("gru.10.47", "forward", "reset gate (10.47)",
            _sum_print("r_i^{(t)}", "r", r"h_j^{(t)}"), _sum_text("r_i(t)", "r", "h_j(t)"),
            defines("r", _gate("r", k=0)), method="definition"),
)
