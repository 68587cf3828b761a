"""The emitted JAX modules (``--backend jax``) against JAX's own autodiff.

The reference is jax.vjp / jax.grad of the model's forward pass evaluated equation by
equation with jax.numpy (``tests/framework_reference.py``, which reads the model, not the
emitted code). Every registered model and the example cells under -m slow; one of each kind
by default. Float64 comparisons run inside ``jax.enable_x64(True)``. Skipped without JAX
(pip install -e ".[jax]")."""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest

from framework_reference import (EXAMPLES, QUICK, ROOT, forward, framework_module, jax_ops,
                                 random_problem, target_vectors)
from symrnn import MODELS, RNNSpec

jax = pytest.importorskip("jax", reason="jax is not installed (the jax extra: "
                                        "pip install -e '.[jax]')")
jnp = pytest.importorskip("jax.numpy")

ALL = tuple(MODELS) + EXAMPLES
SWEEP = [pytest.param(m, marks=() if m in QUICK else pytest.mark.slow) for m in ALL]


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def _module(model, **kw):
    return framework_module("jax", RNNSpec(model=model, **kw))


def _ykw(mod, y) -> dict:
    return {"y": y} if "y" in inspect.signature(mod.apply).parameters else {}


def _rel(got, want) -> float:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.abs(got - want).max() / max(float(np.abs(want).max()), 1e-300))


def _reference(mod, model, x, y):
    tv = None
    if _ykw(mod, y):
        tv = jnp.asarray(target_vectors(model, y, mod.N_OUT, mod.LOSS))
    return lambda P, init: forward(model, mod.ACTIVATION, P, jnp.asarray(x), init, jax_ops(), tv)


@pytest.mark.parametrize("model", SWEEP)
def test_vjp_matches_jax_vjp(model):
    """vjp_forward's out and final and vjp_backward's gradients, for random gradients of
    every output and final state, equal jax.vjp of the reference forward (float64)."""
    mod = _module(model)
    rng = np.random.default_rng(1)
    P, x, init, y = random_problem(mod, rng, tau=5, batch=3)
    (ref_out, ref_final), vjp = jax.vjp(_reference(mod, model, x, y), P, init)
    out, final, tape = mod.vjp_forward(P, x, **_ykw(mod, y), **init)
    for k in ref_out:
        assert out[k].dtype == jnp.float64 and _rel(out[k], ref_out[k]) < 1e-13, k
    d_out = {k: rng.normal(size=v.shape) for k, v in ref_out.items()}
    d_final = {k: rng.normal(size=v.shape) for k, v in ref_final.items()}
    want_P, want_init = vjp((d_out, d_final))
    grads, d_init = mod.vjp_backward(P, tape, d_out, d_final)
    for k, w in {**want_P, **want_init}.items():
        assert _rel({**grads, **d_init}[k], w) < 1e-11, k


@pytest.mark.parametrize("model", SWEEP)
def test_grad_of_apply_under_jit(model):
    """jax.jit(jax.grad(...)) through ``apply`` (the custom_vjp) equals jax.grad of the
    reference forward, for a function of every output and final state."""
    mod = _module(model)
    rng = np.random.default_rng(2)
    P, x, init, y = random_problem(mod, rng, tau=4, batch=2)
    ykw = _ykw(mod, y)
    ref = _reference(mod, model, x, y)
    d = {k: rng.normal(size=v.shape) for k, v in ref(P, init)[0].items()}

    def scalar(out, final):
        return sum((out[k] * d[k]).sum() for k in out) + \
            sum((v ** 2).sum() for v in final.values())

    got = jax.jit(jax.grad(lambda P, i: scalar(*mod.apply(P, x, **ykw, **i)),
                           argnums=(0, 1)))(P, init)
    want = jax.grad(lambda P, i: scalar(*ref(P, i)), argnums=(0, 1))(P, init)
    for g, w in zip(got, want):
        for k in w:
            assert _rel(g[k], w[k]) < 1e-11, k


@pytest.mark.parametrize("spec", [
    RNNSpec(),
    RNNSpec(activation="relu", loss="mse", reduction="mean"),
    RNNSpec(activation="sigmoid", loss="bce"),
    pytest.param(RNNSpec(model="teacher-forcing"), marks=pytest.mark.slow),
    pytest.param(RNNSpec(model="single-output", loss="mse"), marks=pytest.mark.slow),
], ids=lambda s: f"{s.model}-{s.activation}-{s.loss}-{s.reduction}")
def test_loss_and_grad(spec):
    """loss_and_grad (the loss's y^ - y, then the BPTT) equals jax.grad of ``loss`` and the
    reference forward with the same criterion; a shared initial value's gradient is summed
    over the batch."""
    mod = framework_module("jax", spec)
    rng = np.random.default_rng(3)
    P, x, init, y = random_problem(mod, rng, tau=4, batch=3)
    init = {k: v[0] for k, v in init.items()}
    L, grads = mod.loss_and_grad(P, x, y, **init)
    L2, (gP, gI) = jax.value_and_grad(lambda P, i: mod.loss(P, x, y, **i), argnums=(0, 1))(P, init)
    assert _rel(L, L2) < 1e-13
    for k, w in {**gP, **gI}.items():
        assert grads[k].shape == w.shape and _rel(grads[k], w) < 1e-11, k
    batched = {k: jnp.broadcast_to(v, (3, v.shape[0])) for k, v in init.items()}
    out, _final = _reference(mod, spec.model, x, y)(P, batched)
    assert _rel(L, mod.criterion(out[list(mod.OUTPUTS)[0]], y)) < 1e-13


def test_float32_by_default():
    """Without x64 JAX computes in float32; the module keeps it, within 1e-4 of float64."""
    mod = _module("gru-torch")
    rng = np.random.default_rng(4)
    P, x, init, y = random_problem(mod, rng, tau=6, batch=4)
    L64, g64 = mod.loss_and_grad(P, x, y)
    with jax.enable_x64(False):
        L32, g32 = mod.loss_and_grad(P, x, y)
        assert L32.dtype == jnp.float32 and all(g.dtype == jnp.float32 for g in g32.values())
    assert _rel(L32, L64) < 1e-5
    for k in g64:
        assert _rel(g32[k], g64[k]) < 1e-4, k


def test_windows_chain_exactly():
    """The second window's d_initial carried into the first window's d_final gives the
    gradient over the whole sequence."""
    mod = _module("gru-torch")
    rng = np.random.default_rng(7)
    P, x, init, y = random_problem(mod, rng, tau=8, batch=2)
    d_o = rng.normal(size=(8, 2, mod.N_OUT))
    _out, _final, tape = mod.vjp_forward(P, x, **init)
    whole, whole_init = mod.vjp_backward(P, tape, {"o": d_o})
    _o1, final1, tape1 = mod.vjp_forward(P, x[:5], **init)
    _o2, _f2, tape2 = mod.vjp_forward(P, x[5:], **final1)
    g2, d2 = mod.vjp_backward(P, tape2, {"o": d_o[5:]})
    g1, d1 = mod.vjp_backward(P, tape1, {"o": d_o[:5]}, d_final=d2)
    for k in whole:
        assert _rel(g1[k] + g2[k], whole[k]) < 1e-12, k
    assert _rel(d1["h0"], whole_init["h0"]) < 1e-12


def test_bad_input_raises_a_clear_error():
    mod = _module("rnn")
    rng = np.random.default_rng(9)
    P, x, init, y = random_problem(mod, rng, tau=3, batch=2)
    with pytest.raises(ValueError, match=r"params: expected keys U, W, V, b, c"):
        mod.apply({**P, "Wx": P["W"]}, x)
    with pytest.raises(ValueError, match=r"x: expected shape \(tau, batch, 3\)"):
        mod.apply(P, x[..., :2])
    with pytest.raises(ValueError, match=r"h0: expected shape \(4,\) or \(2, 4\)"):
        mod.apply(P, x, h0=np.zeros(5))


@pytest.mark.parametrize("path", ["generated/rnn_jax.py", "generated/lstm_torch_jax.py"])
def test_committed_modules_import_only_jax(path):
    tree = ast.parse((ROOT / path).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.module}
    assert imported == {"functools", "jax"}
