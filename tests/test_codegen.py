"""Generated NumPy modules: every activation x loss, both forms, against independent oracles.

Oracles: (a) the element-level SymPy derivation evaluated by ``lambdify``; (b) central finite
differences; (c) ``autograd`` differentiating a plain NumPy forward written here; (d) random
configurations by hypothesis; (e) extreme logits against mpmath; (f) float32 vs float64.
"""

from __future__ import annotations

import ast
import functools
import itertools
import os
import subprocess
import sys
import types
from pathlib import Path

import autograd
import autograd.numpy as anp
import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings, strategies as st

from symrnn import RNNSpec, derive, emit_numpy, unroll
from symrnn.cli import main as cli_main
from symrnn.io import MARKER
from symrnn.regenerate import ROOT, check

ACTS = ("tanh", "sigmoid", "relu", "identity")
LOSSES = ("softmax-ce", "mse", "bce")
COMBOS = list(itertools.product(ACTS, LOSSES))
KEYS = ("U", "W", "V", "b", "c")


@functools.lru_cache(maxsize=None)
def module(n_in, n_h, n_out, act, loss, form, tau=3):
    """The generated module, executed from its source (cached per configuration)."""
    spec = RNNSpec(tau=tau, n_in=n_in, n_hidden=n_h, n_out=n_out, activation=act, loss=loss)
    src = emit_numpy(spec, form)
    m = types.ModuleType(f"gen_{act}_{loss}_{form}")
    exec(compile(src, f"<{m.__name__}>", "exec"), m.__dict__)
    m.SOURCE = src
    return m


def make_inputs(rng, n_in, n_h, n_out, tau, batch, loss, scale=1.0, dtype=np.float64):
    P = {"U": rng.normal(size=(n_h, n_in)), "W": rng.normal(size=(n_h, n_h)) * 0.6,
         "V": rng.normal(size=(n_out, n_h)) * scale, "b": rng.normal(size=n_h) * 0.3,
         "c": rng.normal(size=n_out) * 0.3}
    P = {k: v.astype(dtype) for k, v in P.items()}
    xs = rng.normal(size=(tau, batch, n_in)).astype(dtype)
    h0 = (rng.normal(size=(batch, n_h)) * 0.5).astype(dtype)
    if loss == "softmax-ce":
        y = rng.integers(0, n_out, size=(tau, batch))
    else:
        y = rng.uniform(size=(tau, batch, n_out)).astype(dtype)
    return P, xs, y, h0


# ---------------------------------------------------------------- an independent NumPy forward

def _act(name):
    return {"tanh": anp.tanh, "sigmoid": lambda a: 1 / (1 + anp.exp(-a)),
            "relu": lambda a: anp.where(a > 0, a, 0.0), "identity": lambda a: a}[name]


def reference_loss(P, xs, y, h0, act, loss):
    """L = sum over t and batch, written step by step with plain (autograd) NumPy."""
    f = _act(act)
    h, total = h0, 0.0
    for t in range(xs.shape[0]):
        h = f(anp.dot(P["W"], h.T).T + anp.dot(P["U"], xs[t].T).T + P["b"])
        o = anp.dot(P["V"], h.T).T + P["c"]
        if loss == "softmax-ce":
            m = anp.max(o, axis=1, keepdims=True)
            logp = o - m - anp.log(anp.sum(anp.exp(o - m), axis=1, keepdims=True))
            onehot = (y[t][:, None] == np.arange(o.shape[1])).astype(float)
            total = total - anp.sum(onehot * logp)
        elif loss == "mse":
            total = total + 0.5 * anp.sum((o - y[t]) ** 2)
        else:  # log sigmoid(o) = -log(1 + exp(-o)), log(1 - sigmoid(o)) = -log(1 + exp(o))
            total = total + anp.sum(y[t] * anp.logaddexp(0, -o) + (1 - y[t]) * anp.logaddexp(0, o))
    return total


def reference_grads(P, xs, y, h0, act, loss):
    g = autograd.grad(lambda Q, h: reference_loss(Q, xs, y, h, act, loss), argnum=(0, 1))(P, h0)
    return {**g[0], "h0": g[1]}


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def assert_grads_close(got, want, tol):
    assert set(got) == set(KEYS) | {"h0"}
    for k in got:
        assert got[k].shape == np.shape(want[k]), k
        assert rel_err(got[k], want[k]) <= tol, (k, rel_err(got[k], want[k]))


# ---------------------------------------------------------------- (c) autograd, every combo

@pytest.mark.parametrize("form", ["loop", "unrolled"])
@pytest.mark.parametrize("act, loss", COMBOS)
def test_matches_autograd(act, loss, form):
    rng = np.random.default_rng(7)
    P, xs, y, h0 = make_inputs(rng, 3, 5, 4, 3, 3, loss)
    m = module(3, 5, 4, act, loss, form)
    L, g = m.loss_and_grad(P, xs, y, h0)
    assert rel_err(L, reference_loss(P, xs, y, h0, act, loss)) <= 1e-12
    assert rel_err(m.loss(P, xs, y, h0), L) == 0
    assert_grads_close(g, reference_grads(P, xs, y, h0, act, loss), 1e-12)
    h, yhat = m.forward(P, xs, h0)
    assert h.shape == (3, 3, 5) and yhat.shape == (3, 3, 4)


# ---------------------------------------------------------------- (a) SymPy derivation via lambdify

def sympy_gradient_function(spec):
    """Gradients from ``derive`` (element-level adjoints), evaluated by ``lambdify``.

    The node and adjoint definitions are handed to lambdify in derivation order as its
    common subexpressions, so nothing is composed and the size stays linear in tau.
    """
    g = unroll(spec)
    d = derive(g)
    defined = [*g.order, *d.order]
    exprs = {**g.defs, **d.defs}
    inputs = ([s for k in KEYS for s in g.params[k]] + list(g.h[0]) +
              [s for t in sorted(g.x) for s in g.x[t]] +
              [s for t in sorted(g.targets) for s in g.targets[t] if isinstance(s, sp.Symbol)])
    rename = {s: sp.Symbol(f"v{i}") for i, s in enumerate(inputs + defined)}
    steps = [(rename[s], exprs[s].xreplace(rename)) for s in defined]
    outputs = [[rename[d.adj[s]] for s in g.params[k]] for k in KEYS]
    outputs.append([rename[d.adj[s]] for s in g.h[0]])
    outputs.append([rename[g.L]])
    f = sp.lambdify([rename[s] for s in inputs], outputs, modules="mpmath",
                    cse=lambda e: (steps, e))
    return g, f


@pytest.mark.parametrize("act, loss", COMBOS)
def test_matches_sympy_derivation_lambdified(act, loss):
    """Against derive(): lambdified at 50 digits (mpmath), so the float code's error shows."""
    spec = RNNSpec(tau=3, n_in=2, n_hidden=3, n_out=2, activation=act, loss=loss)
    g, f = sympy_gradient_function(spec)
    rng = np.random.default_rng(3)
    P, xs, y, h0 = make_inputs(rng, 2, 3, 2, 3, 1, loss)
    if loss == "softmax-ce":
        y = np.array(spec.class_labels)[:, None]
    args = ([v for k in KEYS for v in P[k].ravel()] + list(h0[0]) + list(xs[:, 0].ravel()) +
            ([] if loss == "softmax-ce" else list(y[:, 0].ravel())))
    mpmath.mp.dps = 50  # evaluated at 50 digits: a reference well beyond float64
    out = f(*[mpmath.mpf(float(v)) for v in args])
    want = {k: np.array(out[i], dtype=float).reshape(P[k].shape) for i, k in enumerate(KEYS)}
    want["h0"] = np.array(out[5], dtype=float)
    for form in ("loop", "unrolled"):
        L, got = module(2, 3, 2, act, loss, form).loss_and_grad(P, xs[:, 0], y[:, 0], h0[0])
        assert rel_err(L, float(out[6][0])) <= 1e-12
        assert_grads_close(got, want, 1e-12)


# ---------------------------------------------------------------- (b) central finite differences

@pytest.mark.parametrize("act, loss", COMBOS)
def test_matches_central_differences(act, loss):
    rng = np.random.default_rng(11)
    P, xs, y, h0 = make_inputs(rng, 2, 3, 3, 4, 2, loss)
    m = module(2, 3, 3, act, loss, "loop")
    eps = 1e-6
    if act == "relu":  # the test is only valid away from the kink a = 0
        a_min = np.inf
        h = h0
        for t in range(4):
            a = h @ P["W"].T + xs[t] @ P["U"].T + P["b"]
            a_min, h = min(a_min, np.min(np.abs(a))), np.maximum(a, 0)
        assert a_min > 1e3 * eps
    _, g = m.loss_and_grad(P, xs, y, h0)
    for k in (*KEYS, "h0"):
        fd = np.zeros_like(g[k])
        for idx in np.ndindex(fd.shape):
            def at(delta):
                Q = {q: v.copy() for q, v in P.items()}
                hh = h0.copy()
                (hh if k == "h0" else Q[k])[idx] += delta
                return m.loss(Q, xs, y, hh)
            fd[idx] = (at(eps) - at(-eps)) / (2 * eps)
        assert np.linalg.norm(g[k] - fd) <= 1e-6 * np.linalg.norm(fd), k


# ---------------------------------------------------------------- (d) random configurations

@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tau=st.integers(1, 20), n_in=st.integers(1, 8), n_h=st.integers(1, 8),
       n_out=st.integers(1, 8), batch=st.integers(1, 4), form=st.sampled_from(["loop", "unrolled"]),
       combo=st.sampled_from(COMBOS), seed=st.integers(0, 2**16), single=st.booleans())
def test_random_configurations(tau, n_in, n_h, n_out, batch, form, combo, seed, single):
    act, loss = combo
    rng = np.random.default_rng(seed)
    P, xs, y, h0 = make_inputs(rng, n_in, n_h, n_out, tau, batch, loss)
    m = module(n_in, n_h, n_out, act, loss, form, tau if form == "unrolled" else 3)
    want = reference_grads(P, xs, y, h0, act, loss)
    Lw = reference_loss(P, xs, y, h0, act, loss)
    if single:  # one sequence without a batch axis
        L, g = m.loss_and_grad(P, xs[:, 0], y[:, 0], h0[0])
        want = reference_grads(P, xs[:, :1], y[:, :1], h0[:1], act, loss)
        Lw = reference_loss(P, xs[:, :1], y[:, :1], h0[:1], act, loss)
        want["h0"] = want["h0"][0]
    else:
        L, g = m.loss_and_grad(P, xs, y, h0)
    assert abs(L - Lw) <= 1e-10 * max(abs(Lw), 1.0)
    for k in g:
        assert np.linalg.norm(g[k] - want[k]) <= 1e-10 * max(np.linalg.norm(want[k]), 1e-12), k


# ---------------------------------------------------------------- (e) extreme logits

def _mp_softmax_ce(o_rows, labels):
    loss, grad_c = mpmath.mpf(0), [mpmath.mpf(0)] * len(o_rows[0])
    for o, y in zip(o_rows, labels):
        o = [mpmath.mpf(float(v)) for v in o]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in o))
        loss += lse - o[y]
        grad_c = [gc + mpmath.exp(v - lse) - (i == y) for i, (gc, v) in enumerate(zip(grad_c, o))]
    return loss, grad_c


@pytest.mark.parametrize("form", ["loop", "unrolled"])
def test_softmax_at_logits_near_1000_and_shifted(form):
    mpmath.mp.dps = 50
    rng = np.random.default_rng(5)
    P, xs, y, h0 = make_inputs(rng, 3, 4, 3, 3, 2, "softmax-ce")
    P["V"] = np.zeros((3, 4))  # o(t) = c exactly, so mpmath sees the same logits
    m = module(3, 4, 3, "tanh", "softmax-ce", form)
    for c in ([1000.0, -1000.0, 999.5], [-1000.0, -999.0, -1000.5], [1000.0, 1000.0, -1000.0]):
        P["c"] = np.array(c)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            L, g = m.loss_and_grad(P, xs, y, h0)
        want_L, want_c = _mp_softmax_ce([c] * 6, y.ravel())
        assert np.isfinite(L) and all(np.isfinite(v).all() for v in g.values())
        assert rel_err(L, float(want_L)) <= 1e-12
        np.testing.assert_allclose(g["c"], [float(v) for v in want_c], rtol=1e-12, atol=1e-12)
    # all logits shifted by a constant: same loss and gradients
    P = make_inputs(rng, 3, 4, 3, 3, 2, "softmax-ce")[0]
    L0, g0 = m.loss_and_grad(P, xs, y, h0)
    L1, g1 = m.loss_and_grad({**P, "c": P["c"] + 777.0}, xs, y, h0)
    assert rel_err(L1, L0) <= 1e-12
    assert_grads_close(g1, g0, 1e-10)


def test_bce_at_logits_near_1000():
    mpmath.mp.dps = 50
    rng = np.random.default_rng(6)
    P, xs, y, h0 = make_inputs(rng, 2, 3, 3, 2, 2, "bce")
    P["V"] = np.zeros((3, 3))
    P["c"] = np.array([1000.0, -1000.0, 0.25])
    m = module(2, 3, 3, "sigmoid", "bce", "loop")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        L, g = m.loss_and_grad(P, xs, y, h0)
    want = mpmath.fsum(mpmath.log(1 + mpmath.exp(mpmath.mpf(o))) - mpmath.mpf(float(t)) * o
                       for row in y.reshape(-1, 3) for o, t in zip(P["c"], row))
    assert rel_err(L, float(want)) <= 1e-12
    sig = [float(1 / (1 + mpmath.exp(-mpmath.mpf(o)))) for o in P["c"]]
    np.testing.assert_allclose(g["c"], (np.array(sig) - y).sum(axis=(0, 1)), rtol=1e-12)


# ---------------------------------------------------------------- (f) float32

@pytest.mark.parametrize("form", ["loop", "unrolled"])
@pytest.mark.parametrize("act, loss", [("tanh", "softmax-ce"), ("sigmoid", "bce"), ("relu", "mse")])
def test_float32_close_to_float64(act, loss, form):
    rng = np.random.default_rng(9)
    P, xs, y, h0 = make_inputs(rng, 3, 5, 4, 3, 3, loss)
    m = module(3, 5, 4, act, loss, form)
    L64, g64 = m.loss_and_grad(P, xs, y, h0)
    f32 = lambda a: a.astype(np.float32) if a.dtype.kind == "f" else a
    L32, g32 = m.loss_and_grad({k: f32(v) for k, v in P.items()}, f32(xs), f32(y), f32(h0))
    assert L32.dtype == np.float32 and all(v.dtype == np.float32 for v in g32.values())
    h32, p32 = m.forward({k: f32(v) for k, v in P.items()}, f32(xs), f32(h0))
    assert h32.dtype == np.float32 and p32.dtype == np.float32
    assert rel_err(L32, L64) <= 1e-5
    for k in g64:
        assert rel_err(g32[k], g64[k]) <= 1e-4, k


# ---------------------------------------------------------------- API details

def test_single_sequence_and_shared_h0():
    rng = np.random.default_rng(2)
    P, xs, y, h0 = make_inputs(rng, 3, 4, 3, 5, 3, "softmax-ce")
    m = module(3, 4, 3, "tanh", "softmax-ce", "loop")
    L1, g1 = m.loss_and_grad(P, xs[:, 1], y[:, 1], h0[1])
    Lb, gb = m.loss_and_grad(P, xs[:, 1:2], y[:, 1:2], h0[1:2])
    assert L1 == Lb and g1["h0"].shape == (4,)
    np.testing.assert_array_equal(g1["h0"], gb["h0"][0])
    shared = h0[0]
    Ls, gs = m.loss_and_grad(P, xs, y, shared)
    Lf, gf = m.loss_and_grad(P, xs, y, np.tile(shared, (3, 1)))
    assert Ls == Lf and gs["h0"].shape == (4,)
    np.testing.assert_allclose(gs["h0"], gf["h0"].sum(axis=0), rtol=1e-14)
    L0, g0 = m.loss_and_grad(P, xs, y)  # h0=None is zeros
    Lz, gz = m.loss_and_grad(P, xs, y, np.zeros((3, 4)))
    assert L0 == Lz and g0["h0"].shape == (3, 4)
    h, p = m.forward(P, xs[:, 0])
    assert h.shape == (5, 4) and p.shape == (5, 3)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-14)


def test_loop_form_any_tau_unrolled_rejects_other_tau():
    rng = np.random.default_rng(4)
    loop = module(3, 4, 3, "tanh", "softmax-ce", "loop")
    unrolled = module(3, 4, 3, "tanh", "softmax-ce", "unrolled")
    for tau in (1, 3, 40):
        P, xs, y, h0 = make_inputs(rng, 3, 4, 3, tau, 2, "softmax-ce")
        assert rel_err(loop.loss(P, xs, y, h0), reference_loss(P, xs, y, h0, "tanh", "softmax-ce")) <= 1e-12
    P, xs, y, h0 = make_inputs(rng, 3, 4, 3, 5, 2, "softmax-ce")
    with pytest.raises(ValueError, match=r"x: expected tau = 3 .* got 5"):
        unrolled.loss_and_grad(P, xs, y, h0)


@pytest.mark.parametrize("change, message", [
    (lambda a: {**a, "x": a["x"][..., :2]}, r"x: expected shape \(tau, batch, 3\).*got \(3, 2, 2\)"),
    (lambda a: {**a, "x": a["x"][None]}, r"x: expected shape .* got \(1, 3, 2, 3\)"),
    (lambda a: {**a, "y": a["y"][:2]}, r"y: expected shape \(3, 2\) .* got \(2, 2\)"),
    (lambda a: {**a, "y": a["y"][:, :1]}, r"y: expected shape \(3, 2\) .* got \(3, 1\)"),
    (lambda a: {**a, "y": a["y"] + 3}, r"y: expected labels in 0\.\.2, got \d"),
    (lambda a: {**a, "y": -a["y"] - 1}, r"y: expected labels in 0\.\.2, got -\d"),
    (lambda a: {**a, "y": a["y"].astype(float)}, r"y: expected integer class labels .* got dtype float64"),
    (lambda a: {**a, "x": np.where(a["x"] > 0, np.nan, a["x"])}, r"x: expected finite values"),
    (lambda a: {**a, "h0": np.zeros((5, 4))}, r"h0: expected shape \(4,\) or \(2, 4\) .* got \(5, 4\)"),
    (lambda a: {**a, "P": {k: v for k, v in a["P"].items() if k != "W"}}, r"params: .*missing W"),
    (lambda a: {**a, "P": {**a["P"], "b": np.zeros((4, 1))}}, r"params\['b'\]: expected shape \(4,\), got \(4, 1\)"),
    (lambda a: {**a, "P": {**a["P"], "V": np.full((3, 4), np.inf)}}, r"params\['V'\]: expected finite"),
])
def test_bad_input_names_argument_expected_and_actual(change, message):
    rng = np.random.default_rng(1)
    P, xs, y, h0 = make_inputs(rng, 3, 4, 3, 3, 2, "softmax-ce")
    a = change({"P": P, "x": xs, "y": y, "h0": h0})
    for form in ("loop", "unrolled"):
        with pytest.raises(ValueError, match=message):
            module(3, 4, 3, "tanh", "softmax-ce", form).loss_and_grad(a["P"], a["x"], a["y"], a["h0"])


def test_vector_target_validation():
    rng = np.random.default_rng(1)
    P, xs, y, h0 = make_inputs(rng, 3, 4, 3, 3, 2, "bce")
    m = module(3, 4, 3, "tanh", "bce", "loop")
    with pytest.raises(ValueError, match=r"y: expected targets in \[0, 1\]"):
        m.loss(P, xs, y + 1, h0)
    with pytest.raises(ValueError, match=r"y: expected shape \(3, 2, 3\) .* got \(3, 2, 2\)"):
        m.loss(P, xs, y[..., :2], h0)
    with pytest.raises(TypeError, match="params: expected a mapping"):
        m.loss([1, 2], xs, y, h0)


def test_phi_is_refused_with_a_suggestion(capsys):
    with pytest.raises(ValueError, match=r"concrete activation.*--activation tanh"):
        emit_numpy(RNNSpec(activation="phi"), "loop")
    assert cli_main(["codegen", "--activation", "phi"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--activation tanh" in err


# ---------------------------------------------------------------- the emitted source

def test_source_is_numpy_only_formatted_and_optimized():
    for form in ("loop", "unrolled"):
        src = module(3, 4, 3, "tanh", "softmax-ce", form).SOURCE
        lines = src.splitlines()
        assert MARKER in lines[0] and "do not edit" in lines[0]
        assert f"symrnn codegen --form {form}" in lines[1]
        assert not any(w in src.lower() for w in ("version", "2026", "timestamp"))
        imports = [n for n in ast.walk(ast.parse(src)) if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert [a.name for n in imports for a in n.names] == ["numpy"]
        assert all(len(x) <= 99 and x == x.rstrip() for x in lines)
        assert src.endswith("\n") and not src.endswith("\n\n")
        assert "\n\n\n\n" not in src
        # tanh' from the stored h, one GEMM for all U x(t), parameter gradients over stacked steps
        assert any(f"numpy.square(hs[{t}], out=prod)\n{' ' * n}numpy.subtract(1, prod, out=prod)"
                   in src for t, n in (("t", 8), ("1", 4)))
        assert "numpy.matmul(x_all, U.T, out=h_all)\n    h_all += b" in src
        assert "grad_W = da_all.T @ hprev_all" in src
        # few large arrays: V^T grad_o(t) in the storage of grad_a(t), no dense one-hot y(t)
        assert "numpy.matmul(do_all, V, out=da_all)" in src and "numpy.arange(N_OUT)" not in src
        assert "grad_h(t) L = W^T diag(1 - h(t+1)^2) grad_h(t+1) L + V^T grad_o(t) L" in src


def test_deterministic_across_hash_seeds():
    code = ("import sys; from symrnn import RNNSpec, emit_numpy; "
            "sys.stdout.write(emit_numpy(RNNSpec(tau=4, activation='relu', loss='bce'), 'unrolled'))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": s}).stdout
            for s in ("0", "12345")}
    assert len(outs) == 1
    assert outs.pop() == emit_numpy(RNNSpec(tau=4, activation="relu", loss="bce"), "unrolled")


def test_committed_generated_files_are_fresh():
    diffs = check(ROOT)
    assert not diffs, "stale generated files (run python -m symrnn.regenerate):\n" + "".join(diffs)


def test_committed_modules_compile_and_run():
    for rel in ("generated/rnn_loop.py", "generated/rnn_unrolled_tau3.py"):
        src = (ROOT / rel).read_text()
        ns: dict = {}
        exec(compile(src, rel, "exec"), ns)
        P, xs, y, h0 = make_inputs(np.random.default_rng(0), 3, 4, 3, 3, 2, "softmax-ce")
        L, g = ns["loss_and_grad"](P, xs, y, h0)
        assert rel_err(L, reference_loss(P, xs, y, h0, "tanh", "softmax-ce")) <= 1e-12


def test_cli_writes_atomically_and_respects_foreign_files(tmp_path, capsys):
    assert cli_main(["codegen", "--form", "unrolled", "--tau", "4", "--out", str(tmp_path)]) == 0
    path = tmp_path / "rnn_unrolled_tau4.py"
    assert MARKER in path.read_text().splitlines()[0]
    assert "--tau 4 --out" in path.read_text().splitlines()[1]
    assert cli_main(["codegen", "--form", "unrolled", "--tau", "4", "--out", str(tmp_path)]) == 0
    foreign = tmp_path / "rnn_loop.py"
    foreign.write_text("mine\n")
    assert cli_main(["codegen", "--out", str(tmp_path)]) == 2
    assert foreign.read_text() == "mine\n"
    assert cli_main(["codegen", "--out", str(tmp_path), "--force"]) == 0
    assert MARKER in foreign.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_codegen_spec_allows_large_sizes_and_validates_the_rest():
    from symrnn import CodegenSpec
    spec = CodegenSpec(tau=4, n_in=40, n_hidden=33, n_out=20)
    ns: dict = {}
    exec(emit_numpy(spec, "loop"), ns)
    P, xs, y, h0 = make_inputs(np.random.default_rng(0), 40, 33, 20, 4, 2, "softmax-ce", scale=0.2)
    L, g = ns["loss_and_grad"](P, xs, y, h0)
    assert_grads_close(g, reference_grads(P, xs, y, h0, "tanh", "softmax-ce"), 1e-12)
    with pytest.raises(ValueError, match="n_hidden must be an integer in 1..100000, got 0"):
        CodegenSpec(n_hidden=0)
    with pytest.raises(ValueError, match="activation must be one of"):
        CodegenSpec(n_hidden=50, activation="gelu")
