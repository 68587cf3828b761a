"""An independent forward pass of any model, in autograd NumPy, for the numeric tests.

It reads the model's equations (SymPy matrix expressions) and evaluates them step by step
with plain (autograd) NumPy: nothing of symrnn's derivation, printer or emitter is used, so
its gradients (by ``autograd``) are an oracle for the generated code.
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import sympy as sp

from symrnn.models import get_model
from symrnn.naming import TAU, T, At
from symrnn.functions import Apply

ACTIVATION = {"tanh": anp.tanh, "sigmoid": lambda a: 1 / (1 + anp.exp(-a)),
              "relu": lambda a: anp.where(a > 0, a, 0.0), "identity": lambda a: a,
              "exp": anp.exp, "log": anp.log}


def initial_names(model) -> list[tuple[str, str, str]]:
    """(quantity, side, argument name): h0, o0, g_end."""
    return [(q.name, side, f"{q.name}0" if side == "start" else f"{q.name}_end")
            for q, side in model.initial_values()]


def _eval(expr, values, P, t):
    """``expr`` for a batch of rows: a column vector v is an array (batch, n)."""
    if isinstance(expr, At):
        return values[(expr.name, int(sp.sympify(expr.step).subs(T, t)))]
    if isinstance(expr, sp.MatrixSymbol):
        return P[expr.name]
    if isinstance(expr, sp.MatAdd):
        out = 0.0
        for a in expr.args:
            out = out + _eval(a, values, P, t)
        return out
    if isinstance(expr, sp.OneMatrix):
        return 1.0
    if isinstance(expr, sp.MatMul):
        coeff, factors = expr.as_coeff_matrices()
        *mats, v = factors
        out = _eval(v, values, P, t)
        for m in reversed(mats):  # rows: (A v)^T = v^T A^T
            A = P[m.arg.name].T if isinstance(m, sp.Transpose) else P[m.name]
            out = anp.dot(out, A.T)
        return float(coeff) * out
    if isinstance(expr, sp.HadamardProduct):
        out = 1.0
        for a in expr.args:
            out = out * _eval(a, values, P, t)
        return out
    if isinstance(expr, Apply):
        return ACTIVATION[expr.f](_eval(expr.arg, values, P, t))
    raise NotImplementedError(type(expr).__name__)


def reference_loss(model_name, activation, loss, P, xs, y, init):
    """L summed over t and the batch. xs (tau, batch, n_in); y labels (tau, batch) or targets
    (tau, batch, n_out); init {"h0": (batch, n)}."""
    model = get_model(model_name)
    tau = xs.shape[0]
    values = {}
    for name, side, arg in initial_names(model):
        values[(name, 0 if side == "start" else tau + 1)] = init[arg]
    for t in range(1, tau + 1):
        for q in model.inputs:
            values[(q.name, t)] = xs[t - 1]
    if model.reads_target:  # teacher forcing: y(t) as vectors, zero before step 1
        n_out = sizes_of(P, model)["n_out"]
        for t in range(-3, tau + 1):
            if t < 1:
                values[(model.target.name, t)] = np.zeros((xs.shape[1], n_out))
            elif loss == "softmax-ce":
                values[(model.target.name, t)] = (y[t - 1][:, None] == np.arange(n_out)) * 1.0
            else:
                values[(model.target.name, t)] = y[t - 1]
    eqs = model.with_activation(activation)
    lo_all = {eq.target.name: (1 if eq.when == "all" else tau) for eq in eqs}
    steps = range(1, tau + 1)
    # backward-running states (read at t+1) are computed from t = tau down
    backward = {m.name for eq in eqs for m in eq.rhs.atoms(At)
                if sp.expand(m.step - T).is_positive}
    order = [(t, eq) for t in steps for eq in eqs if eq.target.name not in backward]
    rev = [(t, eq) for t in reversed(steps) for eq in eqs if eq.target.name in backward]
    pending = order + rev
    while pending:  # evaluate what can be evaluated (states of both directions)
        rest = []
        for t, eq in pending:
            if t < lo_all[eq.target.name]:
                continue
            try:
                values[(eq.target.name, t)] = _eval(eq.rhs, values, P, t)
            except KeyError:
                rest.append((t, eq))
        if len(rest) == len(pending):
            raise RuntimeError("reference: cannot order the equations")
        pending = rest
    total = 0.0
    lo = 1 if model.loss_when == "all" else tau
    for t in range(lo, tau + 1):
        o = values[(model.output.name, t)]
        if loss == "softmax-ce":
            m = anp.max(o, axis=1, keepdims=True)
            logp = o - m - anp.log(anp.sum(anp.exp(o - m), axis=1, keepdims=True))
            onehot = (y[t - 1][:, None] == np.arange(o.shape[1])).astype(float)
            total = total - anp.sum(onehot * logp)
        elif loss == "mse":
            total = total + 0.5 * anp.sum((o - y[t - 1]) ** 2)
        else:
            total = total + anp.sum(y[t - 1] * anp.logaddexp(0, -o)
                                    + (1 - y[t - 1]) * anp.logaddexp(0, o))
    return total


def sizes_of(P, model) -> dict:
    """n_in, n_hidden, n_out read from the parameters' shapes."""
    out = {}
    for p in model.params:
        shape = np.shape(P[p.name])
        for d, n in zip(p.dims, shape):
            out[d.name] = n
    return out


def reference_grads(model_name, activation, loss, P, xs, y, init):
    """(L, gradients of every parameter and initial value) by autograd."""
    f = lambda Q, I: reference_loss(model_name, activation, loss, Q, xs, y, I)
    L = f(P, init)
    gP, gI = autograd.grad(f, argnum=(0, 1))(P, init)
    return L, {**gP, **gI}


def make_inputs(model_name, rng, sizes: dict, tau: int, batch: int, loss: str, dtype=np.float64):
    """Random parameters (recurrent weights smaller), inputs, targets and initial values."""
    model = get_model(model_name)
    scale = {"weight": 1.0, "recurrent": 0.6, "bias": 0.3}
    P = {}
    for p in model.params:
        shape = (sizes[p.rows.name],) if p.cols is None else (sizes[p.rows.name], sizes[p.cols.name])
        P[p.name] = (rng.normal(size=shape) * scale[p.init]).astype(dtype)
    xs = rng.normal(size=(tau, batch, sizes["n_in"])).astype(dtype)
    init = {arg: (rng.normal(size=(batch, sizes[model.quantity(name).size.name])) * 0.5).astype(dtype)
            for name, _side, arg in initial_names(model)}
    if loss == "softmax-ce":
        y = rng.integers(0, sizes["n_out"], size=(tau, batch))
    else:
        y = rng.uniform(size=(tau, batch, sizes["n_out"])).astype(dtype)
    return P, xs, y, init
