"""Activations and losses, each defined in one place.

An activation is phi in h(t) = phi(a(t)) (the note's first section; tanh in 10.9).
A loss turns o(t) into y^(t) (10.11) and defines the per-step loss L(t).
Adding one is adding one entry to ``ACTIVATIONS`` or ``LOSSES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp

Expr = sp.Expr


@dataclass(frozen=True)
class Activation:
    """phi applied elementwise: h = phi(a).

    ``phi`` maps one SymPy scalar to one; its derivative always comes from ``sympy.diff``.
    ``dphi_from_h`` writes phi'(a) with the output h = phi(a) (1 - h^2 for tanh), where that
    is possible; the derivation checks it against ``sympy.diff`` before anything uses it.
    ``note_form`` is True for the one activation the note's printed formulas assume (tanh).
    """

    name: str
    phi: Callable[[Expr], Expr]
    dphi_from_h: Callable[[Expr], Expr] | None
    latex: str
    summary: str
    note_form: bool = False


_phi_generic = sp.Function("phi", real=True)

ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("tanh", sp.tanh, lambda h: 1 - h**2, r"\tanh",
                   "hyperbolic tangent, the note's choice (10.9)", note_form=True),
        Activation("sigmoid", lambda a: 1 / (1 + sp.exp(-a)), lambda h: h * (1 - h), r"\sigma",
                   "logistic sigmoid 1/(1+exp(-a))"),
        Activation("relu", lambda a: sp.Piecewise((a, a > 0), (0, True)),
                   lambda h: sp.Piecewise((1, h > 0), (0, True)), r"\operatorname{ReLU}",
                   "max(0, a); derivative 0 at a = 0 as in PyTorch, JAX and TensorFlow"),
        Activation("identity", lambda a: a, lambda h: sp.Integer(1), r"\operatorname{id}",
                   "h = a (a linear RNN)"),
        Activation("phi", _phi_generic, None, r"\phi",
                   "a generic, undefined activation phi (symbolic only)"),
    )
}


@dataclass(frozen=True)
class Loss:
    """Output nonlinearity y^ = out(o) and per-step loss L(t) = ell(y^, y).

    ``target`` is "class" (y(t) is an integer index, the note's case) or "vector" (y(t) is a
    real vector of length n_out). ``grad_o`` writes grad_o(t) L with y^ and the target vector
    (one-hot for a class); the derivation checks it against ``sympy.diff`` before it is used.
    """

    name: str
    output: Callable[[list[Expr]], list[Expr]]
    per_step: Callable[[list[Expr], list[Expr]], Expr]
    grad_o: Callable[[list[Expr], list[Expr]], list[Expr]]
    target: str
    output_latex: str
    summary: str


def _softmax(o: list[Expr]) -> list[Expr]:
    s = sp.Add(*[sp.exp(v) for v in o])
    return [sp.exp(v) / s for v in o]


def _sigmoid(o: list[Expr]) -> list[Expr]:
    return [1 / (1 + sp.exp(-v)) for v in o]


def _minus_y(yhat: list[Expr], y: list[Expr]) -> list[Expr]:
    return [p - q for p, q in zip(yhat, y)]


LOSSES: dict[str, Loss] = {
    l.name: l
    for l in (
        Loss("softmax-ce", _softmax,
             lambda yhat, y: -sp.Add(*[q * sp.log(p) for p, q in zip(yhat, y) if q != 0]),
             _minus_y, "class", r"\operatorname{softmax}",
             "softmax and the negative log-likelihood of the label, as in the note"),
        Loss("mse", lambda o: list(o),
             lambda yhat, y: sp.Rational(1, 2) * sp.Add(*[(p - q) ** 2 for p, q in zip(yhat, y)]),
             _minus_y, "vector", r"\operatorname{id}",
             "mean squared error 1/2 ||o - y||^2 on o(t), for regression"),
        Loss("bce", _sigmoid,
             lambda yhat, y: -sp.Add(*[q * sp.log(p) + (1 - q) * sp.log(1 - p)
                                       for p, q in zip(yhat, y)]),
             _minus_y, "vector", r"\sigma",
             "sigmoid and binary cross-entropy per output, for multi-label targets"),
    )
}
