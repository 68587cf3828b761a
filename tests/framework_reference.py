"""The model's forward pass evaluated equation by equation with a framework's own operations
(torch or jax.numpy), so its autograd is an independent reference for the emitted BPTT.

This reads the model's equations (SymPy matrix expressions) and nothing the emitters print:
each step of each quantity is evaluated on demand (memoised), in row layout (a batch of
sequences as rows): A v is v @ A.T, diag(d) g and u (.) v are elementwise. Steps come from
the equations themselves, so a recurrence read forwards (h(t-1)) and one read backwards
(g(t+1), the bidirectional network) both work.
"""

from __future__ import annotations

import functools
import types
from pathlib import Path

import numpy as np
import sympy as sp

from symrnn.functions import Apply
from symrnn.models import get_model
from symrnn.models.base import steps_of
from symrnn.naming import TAU, T, At

ROOT = Path(__file__).resolve().parent.parent


class Ops:
    """What the evaluator needs from a framework."""

    def __init__(self, module, functions: dict):
        self.m = module
        self.functions = functions  # registry name -> elementwise function


def torch_ops():
    import torch
    return Ops(torch, {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
                       "identity": lambda a: a, "exp": torch.exp, "log": torch.log})


def jax_ops():
    import jax
    import jax.numpy as jnp
    return Ops(jnp, {"tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu,
                     "identity": lambda a: a, "exp": jnp.exp, "log": jnp.log})


def forward(model_name: str, activation: str, params: dict, xs, init: dict, ops: Ops,
            tv=None):
    """(out, final) as the emitted modules define them (``symrnn.backends.vjp``): out[o] at
    the loss's steps, out[q] at 1..tau for each carried state, final[q0] = q(tau); xs is
    (tau, batch, n_in), init maps "h0" / "g_end" to (batch, n), tv the target vectors
    (steps from 1 - k for a target read at t-k)."""
    m = get_model(model_name)
    eqs = {eq.target.name: eq for eq in m.with_activation(activation)}
    tau = xs.shape[0]
    memo = {}
    for q, side in m.initial_values():
        step = 0 if side == "start" else tau + 1
        memo[(q.name, step)] = init[f"{q.name}0" if side == "start" else f"{q.name}_end"]

    def value(name: str, step: int):
        if (name, step) in memo:
            return memo[(name, step)]
        if name == m.inputs[0].name:
            return xs[step - 1]
        if name == m.target.name:
            pad = tv.shape[0] - tau
            return tv[step - 1 + pad]
        eq = eqs[name]
        lo, hi = (int(s.subs(TAU, tau)) for s in steps_of(eq.when))
        if not lo <= step <= hi:
            raise KeyError(f"{name}({step}) is not computed")
        v = evaluate(eq.rhs.xreplace({T: step}).xreplace({TAU: tau}))
        memo[(name, step)] = v
        return v

    def evaluate(e):
        if isinstance(e, At):
            return value(e.name, int(e.step))
        if isinstance(e, sp.MatrixSymbol):
            return params[e.name]
        if isinstance(e, sp.OneMatrix):
            return 1.0
        if isinstance(e, sp.MatAdd):
            out = evaluate(e.args[0])
            for a in e.args[1:]:
                out = out + evaluate(a)
            return out
        if isinstance(e, sp.HadamardProduct):
            out = evaluate(e.args[0])
            for a in e.args[1:]:
                out = out * evaluate(a)
            return out
        if isinstance(e, sp.MatMul):
            coeff, factors = e.as_coeff_matrices()
            *mats, vec = factors
            out = evaluate(vec)
            for a in reversed(mats):
                if isinstance(a, sp.Transpose):
                    out = out @ params[a.arg.name]
                else:
                    out = out @ params[a.name].T
            return out if coeff == 1 else float(coeff) * out
        if isinstance(e, Apply):
            return ops.functions[e.f](evaluate(e.arg))
        raise NotImplementedError(f"reference evaluator: {type(e).__name__} {e}")

    llo, lhi = (int(s.subs(TAU, tau)) for s in steps_of(m.loss_when))
    out = {m.output.name: ops.m.stack([value(m.output.name, t) for t in range(llo, lhi + 1)])}
    for q in m.states:
        if q is not m.output:
            out[q.name] = ops.m.stack([value(q.name, t) for t in range(1, tau + 1)])
    final = {f"{q.name}0": value(q.name, tau) for q, side in m.initial_values()
             if side == "start"}
    return out, final


def random_problem(module, rng: np.random.Generator, tau: int, batch: int, scale=0.5):
    """Parameters, x, initial values (non-zero), the targets (labels or vectors) and random
    cotangents for every output and final state, as NumPy float64 arrays, for ``module``."""
    P = {k: rng.normal(size=s) * scale for k, s in module.PARAM_SHAPES.items()}
    x = rng.normal(size=(tau, batch, module.N_IN))
    init = {k: rng.normal(size=(batch, n)) * scale for k, n in module.INITIAL.items()}
    if module.LOSS == "softmax-ce":
        y = rng.integers(0, module.N_OUT, size=(tau, batch))
    else:
        y = rng.uniform(size=(tau, batch, module.N_OUT))
    return P, x, init, y


def target_vectors(model_name: str, y, n_out: int, loss: str) -> np.ndarray:
    """y(t) as vectors with the zero rows before step 1 that a model reading y(t-k) needs."""
    m = get_model(model_name)
    offsets = [int(sp.expand(a.step - T)) for eq in m.equations for a in eq.rhs.atoms(At)
               if a.name == m.target.name]
    pad = -min(min(offsets), 0)
    tau, batch = y.shape[0], y.shape[1]
    v = np.zeros((pad + tau, batch, n_out))
    if loss == "softmax-ce":
        v[pad:] = np.eye(n_out)[y]
    else:
        v[pad:] = y
    return v


# ---------------------------------------------------------------- the emitted modules, cached

@functools.lru_cache(maxsize=None)
def equations(spec):
    """The checked equations code is generated from (``pipeline.equations_for_code``), once
    per spec and test session."""
    from symrnn.pipeline import equations_for_code
    return equations_for_code(spec)


@functools.lru_cache(maxsize=None)
def framework_module(backend: str, spec):
    """The module ``--backend backend`` emits for ``spec``, executed from its source."""
    from symrnn.backends.registry import get_backend
    b = get_backend(backend)
    m = get_model(spec.model)
    src = b.emit(m, spec, equations(spec), b.forms[0], None, m.catalogue)
    mod = types.ModuleType(f"gen_{backend}_{spec.model_def.name}_{spec.activation}_{spec.loss}")
    exec(compile(src, f"<{mod.__name__}>", "exec"), mod.__dict__)
    mod.SOURCE = src
    return mod


#: Every registered model and the example cells.
EXAMPLES = tuple(sorted(str(p) for p in (ROOT / "examples").glob("*.toml")))
#: One of each kind in the default run (the rest under -m slow): the note's network, a gated
#: framework cell and a user's cell.
QUICK = ("rnn", "gru-torch", str(ROOT / "examples" / "mgu.toml"))
