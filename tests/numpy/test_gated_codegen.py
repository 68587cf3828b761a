"""Generated NumPy code of the gated cells (lstm, lstm-torch, gru, gru-torch), loop form and
unrolled form, against autograd differentiating an independent forward of each model
(``tests/reference.py``) and against central differences, on random sizes."""

from __future__ import annotations

import functools
import types

import numpy as np
import pytest

from reference import make_inputs, reference_grads
from symrnn import RNNSpec, analyse, emit_numpy

GATED = ("lstm", "lstm-torch", "gru", "gru-torch")
#: the sweeps against autograd: the book's GRU and the framework LSTM by default, all with -m slow
SWEEP = [m if m in ("gru", "lstm-torch") else pytest.param(m, marks=pytest.mark.slow)
         for m in GATED]


@functools.lru_cache(maxsize=None)
def _results(model):
    return analyse(RNNSpec(tau=3, n_in=2, n_hidden=3, n_out=2, h0="symbol", model=model),
                   certify=False)


def _module(model, n_in, n_h, n_out, form, tau=3, loss="softmax-ce"):
    spec = RNNSpec(tau=tau, n_in=n_in, n_hidden=n_h, n_out=n_out, model=model, loss=loss)
    res = _results(model) if loss == "softmax-ce" else None
    src = emit_numpy(spec, form, results=res)
    m = types.ModuleType(f"gen_{model}_{form}")
    exec(compile(src, f"<{m.__name__}>", "exec"), m.__dict__)
    return m


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.mark.parametrize("form", ["loop", "unrolled"])
@pytest.mark.parametrize("model", SWEEP)
def test_against_autograd_on_random_sizes(model, form):
    rng = np.random.default_rng(sum(map(ord, model + form)))  # reproducible
    n_in, n_h, n_out = (int(v) for v in rng.integers(1, 7, size=3))
    n_out = max(n_out, 2)
    tau = 4 if form == "unrolled" else int(rng.integers(1, 9))
    batch = int(rng.integers(2, 5))
    gen = _module(model, n_in, n_h, n_out, form, tau)
    P, xs, y, init = make_inputs(model, rng, {"n_in": n_in, "n_hidden": n_h, "n_out": n_out},
                                 tau, batch, "softmax-ce")
    L, G = gen.loss_and_grad(P, xs, y, **init)
    L_ref, G_ref = reference_grads(model, "tanh", "softmax-ce", P, xs, y, init)
    assert abs(L - L_ref) <= 1e-12 * abs(L_ref)
    assert set(G) == set(G_ref)
    for k in G_ref:
        assert _rel(G[k], G_ref[k]) < 1e-11, k


@pytest.mark.parametrize("loss", ["mse", "bce"])
@pytest.mark.parametrize("model", SWEEP)
def test_other_losses_against_autograd(model, loss):
    rng = np.random.default_rng(7)
    gen = _module(model, 2, 3, 3, "loop", 5, loss)
    P, xs, y, init = make_inputs(model, rng, {"n_in": 2, "n_hidden": 3, "n_out": 3}, 5, 2, loss)
    L, G = gen.loss_and_grad(P, xs, y, **init)
    L_ref, G_ref = reference_grads(model, "tanh", loss, P, xs, y, init)
    assert abs(L - L_ref) <= 1e-12 * abs(L_ref)
    for k in G_ref:
        assert _rel(G[k], G_ref[k]) < 1e-11, k


@pytest.mark.parametrize("model", GATED)
def test_against_central_differences(model):
    """Every gradient entry of a small case against (L(p + e) - L(p - e)) / 2e."""
    rng = np.random.default_rng(11)
    gen = _module(model, 2, 3, 3, "loop", 5)
    P, xs, y, init = make_inputs(model, rng, {"n_in": 2, "n_hidden": 3, "n_out": 3}, 5, 2,
                                 "softmax-ce")
    _L, G = gen.loss_and_grad(P, xs, y, **init)
    eps = 1e-6
    for group in (P, init):
        for k, arr in group.items():
            fd = np.zeros_like(arr)
            for idx in np.ndindex(arr.shape):
                old = arr[idx]
                arr[idx] = old + eps
                up = gen.loss(P, xs, y, **init)
                arr[idx] = old - eps
                down = gen.loss(P, xs, y, **init)
                arr[idx] = old
                fd[idx] = (up - down) / (2 * eps)
            assert _rel(G[k], fd) < 1e-6, k


@pytest.mark.parametrize("model", GATED)
def test_float32_follows_float64(model):
    rng = np.random.default_rng(3)
    gen = _module(model, 2, 3, 3, "loop", 6)
    P, xs, y, init = make_inputs(model, rng, {"n_in": 2, "n_hidden": 3, "n_out": 3}, 6, 3,
                                 "softmax-ce")
    L64, G64 = gen.loss_and_grad(P, xs, y, **init)
    f32 = lambda d: {k: v.astype(np.float32) for k, v in d.items()}
    L32, G32 = gen.loss_and_grad(f32(P), xs.astype(np.float32), y, **f32(init))
    assert abs(float(L32) - L64) <= 1e-4 * abs(L64)
    for k in G64:
        assert G32[k].dtype == np.float32 and _rel(G32[k], G64[k]) < 1e-4, k
