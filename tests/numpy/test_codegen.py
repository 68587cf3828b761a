"""Generated NumPy modules: every model x activation x loss, both forms, against independent
oracles.

Oracles: (a) the element-level SymPy derivation evaluated by ``lambdify`` at 50 digits
(``DerivationOracle``); (b) central finite differences; (c) ``autograd`` differentiating an
independent forward of the model (``tests/reference.py``); (d) random configurations by
hypothesis; (e) extreme logits against mpmath; (f) float32 vs float64. Then the API details,
the emitted source itself, the committed modules and the ``codegen`` command.
"""

from __future__ import annotations

import ast
import datetime
import functools
import itertools
import os
import re
import shlex
import subprocess
import sys
import types

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from reference import _eval, initial_names, make_inputs, reference_grads, reference_loss
from support import ROOT, assert_matches_central_differences, env, import_file, no_temp_files
from symrnn import RNNSpec, analyse, emit_numpy, get_model
from symrnn.backends.numpy.checks import DerivationOracle, check_module, random_point
from symrnn.backends.numpy.emitter import codegen_command, module_filename
from symrnn.cli import main as cli_main
from symrnn.io import MARKER
from symrnn.functions import Apply

MODELS = ("rnn", "output-recurrence")
ACTS = ("tanh", "sigmoid", "relu", "identity")
LOSSES = ("softmax-ce", "mse", "bce")
#: every activation and every loss once by default (the whole product with -m slow)
QUICK_COMBOS = (("tanh", "softmax-ce"), ("sigmoid", "mse"), ("relu", "bce"),
                ("identity", "softmax-ce"))
ALL_COMBOS = list(itertools.product(ACTS, LOSSES))
COMBOS = [c if c in QUICK_COMBOS else pytest.param(*c, marks=pytest.mark.slow)
          for c in ALL_COMBOS]
INIT = {"rnn": "h0", "output-recurrence": "o0"}


# ---------------------------------------------------------------- modules and inputs

@functools.lru_cache(maxsize=None)
def analysed(model, act, loss):
    """``analyse`` at a small instance (h(0) differentiated): the equations the code is
    generated from (they hold for every size) and the graph of the SymPy oracle."""
    return analyse(RNNSpec(tau=3, n_in=2, n_hidden=3, n_out=2, activation=act, loss=loss,
                           h0="symbol", model=model), certify=False)


@functools.lru_cache(maxsize=None)
def module(model, n_in, n_h, n_out, act, loss, form, tau=3):
    """The generated module, executed from its source (cached per configuration)."""
    spec = RNNSpec(tau=tau, n_in=n_in, n_hidden=n_h, n_out=n_out, activation=act, loss=loss,
                   model=model)
    src = emit_numpy(spec, form, results=analysed(model, act, loss))
    m = types.ModuleType(f"gen_{model}_{act}_{loss}_{form}")
    exec(compile(src, f"<{m.__name__}>", "exec"), m.__dict__)
    m.SOURCE = src
    return m


def inputs(model, rng, n_in, n_h, n_out, tau, batch, loss, dtype=np.float64):
    """(P, xs, y, init): init is {"h0": (batch, n_hidden)} or {"o0": (batch, n_out)}."""
    return make_inputs(model, rng, {"n_in": n_in, "n_hidden": n_h, "n_out": n_out}, tau, batch,
                       loss, dtype)


def keys(model) -> set[str]:
    return {p.name for p in get_model(model).params} | {INIT[model]}


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def assert_grads_close(model, got, want, tol):
    assert set(got) == keys(model)
    for k in got:
        assert got[k].shape == np.shape(want[k]), k
        assert rel_err(got[k], want[k]) <= tol, (k, rel_err(got[k], want[k]))


def first(init):
    """The initial values of the first sequence only, batch axis kept."""
    return {k: v[:1] for k, v in init.items()}


def activation_arguments(model, act, P, xs, init):
    """Every argument of the activation, all steps (an independent forward, for relu's kink)."""
    m = get_model(model)
    values = {(name, 0): init[arg] for name, side, arg in initial_names(m)}
    args = []
    for t in range(1, xs.shape[0] + 1):
        for q in m.inputs:
            values[(q.name, t)] = xs[t - 1]
        for eq in m.with_activation(act):
            if isinstance(eq.rhs, Apply):
                args.append(_eval(eq.rhs.arg, values, P, t))
            values[(eq.target.name, t)] = _eval(eq.rhs, values, P, t)
    return args


def test_the_test_helpers_emit_what_the_public_api_emits():
    """The modules here reuse one analysis per (model, activation, loss); the public path
    analyses its own small instance: the sources agree."""
    for model in MODELS:
        spec = RNNSpec(tau=5, n_in=6, n_hidden=7, n_out=5, activation="relu", loss="mse",
                       model=model)
        for form in ("loop", "unrolled"):
            assert emit_numpy(spec, form) == module(model, 6, 7, 5, "relu", "mse", form, 5).SOURCE


# ---------------------------------------------------------------- (c) autograd, every combo

@pytest.mark.parametrize("form", ["loop", "unrolled"])
@pytest.mark.parametrize("act, loss", COMBOS)
@pytest.mark.parametrize("model", MODELS)
def test_matches_autograd(model, act, loss, form):
    rng = np.random.default_rng(7)
    P, xs, y, init = inputs(model, rng, 3, 5, 4, 3, 3, loss)
    m = module(model, 3, 5, 4, act, loss, form)
    L, g = m.loss_and_grad(P, xs, y, **init)
    Lw, want = reference_grads(model, act, loss, P, xs, y, init)
    assert rel_err(L, Lw) <= 1e-12
    assert rel_err(m.loss(P, xs, y, **init), L) == 0
    assert_grads_close(model, g, want, 1e-12)
    h, yhat = m.forward(P, xs, **init)
    assert h.shape == (3, 3, 5) and yhat.shape == (3, 3, 4)


# ---------------------------------------------------------------- (a) the SymPy derivation

@functools.lru_cache(maxsize=None)
def oracle(model, act, loss):
    r = analysed(model, act, loss)
    return r.graph, DerivationOracle(r.graph, r.derivation)


@pytest.mark.parametrize("act, loss", COMBOS)
@pytest.mark.parametrize("model", MODELS)
def test_matches_sympy_derivation_lambdified(model, act, loss):
    """Against derive(): lambdified at 50 digits (mpmath), so the float code's error shows."""
    graph, f = oracle(model, act, loss)
    P, xs, init, y, ys = random_point(graph, np.random.default_rng(3))
    assert set(init) == {INIT[model]}
    want_L, want, _kink = f(P, xs, init, ys)
    assert set(want) == keys(model)
    for form in ("loop", "unrolled"):
        L, got = module(model, 2, 3, 2, act, loss, form).loss_and_grad(P, xs, y, **init)
        assert rel_err(L, want_L) <= 1e-12
        assert_grads_close(model, got, want, 1e-12)


@pytest.mark.parametrize("model", MODELS)
def test_check_module_passes_and_catches_a_wrong_gradient(model, tmp_path):
    """The run's own numeric check (``check_module``) on an emitted file, and on a broken one."""
    graph, f = oracle(model, "tanh", "softmax-ce")
    spec = graph.spec
    path = tmp_path / module_filename(spec, "loop")
    src = emit_numpy(spec, "loop", results=analysed(model, "tanh", "softmax-ce"))
    path.write_text(src)
    checks = check_module(path, graph, f)
    assert len(checks) == 2 and all(c.passed for c in checks), checks
    broken = src.replace("grad_U = dh_all.T @ x_all", "grad_U = 1.001 * (dh_all.T @ x_all)")
    assert broken != src
    path.write_text(broken)
    checks = check_module(path, graph, f)
    assert not any(c.passed for c in checks) and {c.worst for c in checks} == {"U"}


# ---------------------------------------------------------------- (b) central finite differences

@pytest.mark.parametrize("act, loss", COMBOS)
@pytest.mark.parametrize("model", MODELS)
def test_matches_central_differences(model, act, loss):
    rng = np.random.default_rng(11)
    P, xs, y, init = inputs(model, rng, 2, 3, 3, 4, 2, loss)
    m = module(model, 2, 3, 3, act, loss, "loop")
    eps = 1e-6
    if act == "relu":  # the test is only valid away from the kink a = 0
        assert min(np.min(np.abs(a)) for a in activation_arguments(model, act, P, xs, init)) \
            > 1e3 * eps
    g = assert_matches_central_differences(m, P, xs, y, init, eps=eps)
    assert set(g) == keys(model)


# ---------------------------------------------------------------- (d) random configurations

@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.sampled_from(MODELS), tau=st.integers(1, 20), n_in=st.integers(1, 8),
       n_h=st.integers(1, 8), n_out=st.integers(1, 8), batch=st.integers(1, 4),
       form=st.sampled_from(["loop", "unrolled"]), combo=st.sampled_from(ALL_COMBOS),
       seed=st.integers(0, 2**16), single=st.booleans())
def test_random_configurations(model, tau, n_in, n_h, n_out, batch, form, combo, seed, single):
    act, loss = combo
    rng = np.random.default_rng(seed)
    P, xs, y, init = inputs(model, rng, n_in, n_h, n_out, tau, batch, loss)
    m = module(model, n_in, n_h, n_out, act, loss, form, tau if form == "unrolled" else 3)
    if single:  # one sequence without a batch axis
        L, g = m.loss_and_grad(P, xs[:, 0], y[:, 0], **{k: v[0] for k, v in init.items()})
        Lw, want = reference_grads(model, act, loss, P, xs[:, :1], y[:, :1], first(init))
        want = {k: (v[0] if k in init else v) for k, v in want.items()}
    else:
        L, g = m.loss_and_grad(P, xs, y, **init)
        Lw, want = reference_grads(model, act, loss, P, xs, y, init)
    assert set(g) == keys(model)
    assert abs(L - Lw) <= 1e-10 * max(abs(Lw), 1.0)
    for k in g:
        assert g[k].shape == np.shape(want[k]), k
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
@pytest.mark.parametrize("model", MODELS)
def test_softmax_at_logits_near_1000_and_shifted(model, form):
    rng = np.random.default_rng(5)
    P, xs, y, init = inputs(model, rng, 3, 4, 3, 3, 2, "softmax-ce")
    P["V"] = np.zeros((3, 4))  # o(t) = c exactly, so mpmath sees the same logits
    m = module(model, 3, 4, 3, "tanh", "softmax-ce", form)
    with mpmath.workdps(50):
        for c in ([1000.0, -1000.0, 999.5], [-1000.0, -999.0, -1000.5], [1000.0, 1000.0, -1000.0]):
            P["c"] = np.array(c)
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                L, g = m.loss_and_grad(P, xs, y, **init)
            want_L, want_c = _mp_softmax_ce([c] * 6, y.ravel())
            assert np.isfinite(L) and all(np.isfinite(v).all() for v in g.values())
            assert rel_err(L, float(want_L)) <= 1e-12
            np.testing.assert_allclose(g["c"], [float(v) for v in want_c], rtol=1e-12, atol=1e-12)
    # every logit o(t) shifted by a constant k: the same loss and gradients
    P = inputs(model, rng, 3, 4, 3, 3, 2, "softmax-ce")[0]
    k = 777.0
    L0, g0 = m.loss_and_grad(P, xs, y, **init)
    if model == "rnn":
        L1, g1 = m.loss_and_grad({**P, "c": P["c"] + k}, xs, y, **init)
        assert rel_err(L1, L0) <= 1e-12
        assert_grads_close(model, g1, g0, 1e-10)
    else:  # o(t-1) feeds a(t): shift o(0) too, and take W k 1 off b, so a(t) is unchanged
        shifted = {**P, "c": P["c"] + k, "b": P["b"] - k * P["W"].sum(axis=1)}
        L1, g1 = m.loss_and_grad(shifted, xs, y, o0=init["o0"] + k)
        assert rel_err(L1, L0) <= 1e-11
        # grad_W = sum_t grad_a(t) o(t-1)^T gains k sum_t grad_a(t) 1^T = k grad_b 1^T
        g1["W"] = g1["W"] - k * np.outer(g1["b"], np.ones(3))
        assert_grads_close(model, g1, g0, 1e-9)


@pytest.mark.parametrize("model", MODELS)
def test_bce_at_logits_near_1000(model):
    rng = np.random.default_rng(6)
    P, xs, y, init = inputs(model, rng, 2, 3, 3, 2, 2, "bce")
    P["V"] = np.zeros((3, 3))
    P["c"] = np.array([1000.0, -1000.0, 0.25])
    m = module(model, 2, 3, 3, "sigmoid", "bce", "loop")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        L, g = m.loss_and_grad(P, xs, y, **init)
    with mpmath.workdps(50):
        want = mpmath.fsum(mpmath.log(1 + mpmath.exp(mpmath.mpf(o))) - mpmath.mpf(float(t)) * o
                           for row in y.reshape(-1, 3) for o, t in zip(P["c"], row))
        sig = [float(1 / (1 + mpmath.exp(-mpmath.mpf(o)))) for o in P["c"]]
    assert rel_err(L, float(want)) <= 1e-12
    np.testing.assert_allclose(g["c"], (np.array(sig) - y).sum(axis=(0, 1)), rtol=1e-12)
    assert all(np.isfinite(v).all() for v in g.values())


# ---------------------------------------------------------------- (f) float32

@pytest.mark.parametrize("form", ["loop", "unrolled"])
@pytest.mark.parametrize("act, loss", [("tanh", "softmax-ce"), ("sigmoid", "bce"),
                                       ("relu", "mse")])
@pytest.mark.parametrize("model", MODELS)
def test_float32_close_to_float64(model, act, loss, form):
    rng = np.random.default_rng(9)
    P, xs, y, init = inputs(model, rng, 3, 5, 4, 3, 3, loss)
    m = module(model, 3, 5, 4, act, loss, form)
    L64, g64 = m.loss_and_grad(P, xs, y, **init)
    f32 = lambda a: a.astype(np.float32) if a.dtype.kind == "f" else a
    P32, I32 = {k: f32(v) for k, v in P.items()}, {k: f32(v) for k, v in init.items()}
    L32, g32 = m.loss_and_grad(P32, f32(xs), f32(y), **I32)
    assert L32.dtype == np.float32 and all(v.dtype == np.float32 for v in g32.values())
    h32, p32 = m.forward(P32, f32(xs), **I32)
    assert h32.dtype == np.float32 and p32.dtype == np.float32
    assert rel_err(L32, L64) <= 1e-5
    for k in g64:
        assert rel_err(g32[k], g64[k]) <= 1e-4, k


# ---------------------------------------------------------------- API details

@pytest.mark.parametrize("model", MODELS)
def test_module_constants(model):
    m = module(model, 3, 4, 3, "tanh", "softmax-ce", "loop")
    n_init = {"rnn": 4, "output-recurrence": 3}[model]
    assert (m.N_IN, m.N_HIDDEN, m.N_OUT) == (3, 4, 3)
    assert (m.MODEL, m.ACTIVATION, m.LOSS) == (model, "tanh", "softmax-ce")
    assert m.INITIAL == {INIT[model]: n_init}
    W_shape = (4, 4) if model == "rnn" else (4, 3)
    assert m.PARAM_SHAPES == {"U": (4, 3), "W": W_shape, "V": (3, 4), "b": (4,), "c": (3,)}
    for f, options in ((m.forward, {"return_state": False, "validate": True}),
                       (m.loss, {"validate": True}),
                       (m.loss_and_grad, {"return_state": False, "validate": True})):
        names = f.__code__.co_varnames[:f.__code__.co_argcount]
        assert names[-len(options) - 1:] == (INIT[model], *options)
        assert f.__defaults__ == (None, *options.values())
    unrolled = module(model, 3, 4, 3, "tanh", "softmax-ce", "unrolled")
    assert unrolled.TAU == 3 and not hasattr(m, "TAU")


@pytest.mark.parametrize("model", MODELS)
def test_single_sequence_and_shared_initial_value(model):
    rng = np.random.default_rng(2)
    P, xs, y, init = inputs(model, rng, 3, 4, 3, 5, 3, "softmax-ce")
    (name, v0), = init.items()
    n = v0.shape[1]
    m = module(model, 3, 4, 3, "tanh", "softmax-ce", "loop")
    L1, g1 = m.loss_and_grad(P, xs[:, 1], y[:, 1], **{name: v0[1]})
    Lb, gb = m.loss_and_grad(P, xs[:, 1:2], y[:, 1:2], **{name: v0[1:2]})
    assert L1 == Lb and g1[name].shape == (n,)
    np.testing.assert_array_equal(g1[name], gb[name][0])
    shared = v0[0]
    Ls, gs = m.loss_and_grad(P, xs, y, **{name: shared})
    Lf, gf = m.loss_and_grad(P, xs, y, **{name: np.tile(shared, (3, 1))})
    assert Ls == Lf and gs[name].shape == (n,)
    np.testing.assert_allclose(gs[name], gf[name].sum(axis=0), rtol=1e-14)
    L0, g0 = m.loss_and_grad(P, xs, y)  # None is zeros
    Lz, gz = m.loss_and_grad(P, xs, y, **{name: np.zeros((3, n))})
    assert L0 == Lz and g0[name].shape == (3, n)
    h, p = m.forward(P, xs[:, 0])
    assert h.shape == (5, 4) and p.shape == (5, 3)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-14)
    other = "o0" if name == "h0" else "h0"
    with pytest.raises(TypeError, match=other):
        m.loss_and_grad(P, xs, y, **{other: shared})


@pytest.mark.parametrize("model", MODELS)
def test_loop_form_any_tau_unrolled_rejects_other_tau(model):
    rng = np.random.default_rng(4)
    loop = module(model, 3, 4, 3, "tanh", "softmax-ce", "loop")
    unrolled = module(model, 3, 4, 3, "tanh", "softmax-ce", "unrolled")
    for tau in (1, 3, 40):
        P, xs, y, init = inputs(model, rng, 3, 4, 3, tau, 2, "softmax-ce")
        want = reference_loss(model, "tanh", "softmax-ce", P, xs, y, init)
        assert rel_err(loop.loss(P, xs, y, **init), want) <= 1e-12
    P, xs, y, init = inputs(model, rng, 3, 4, 3, 5, 2, "softmax-ce")
    with pytest.raises(ValueError, match=r"x: expected tau = 3 .* got 5"):
        unrolled.loss_and_grad(P, xs, y, **init)


# INIT and N stand for the initial value's name and size (h0, 4 or o0, 3).
BAD_INPUTS = [
    (lambda a: {**a, "x": a["x"][..., :2]},
     r"x: expected shape \(tau, batch, 3\).*got \(3, 2, 2\)"),
    (lambda a: {**a, "x": a["x"][None]}, r"x: expected shape .* got \(1, 3, 2, 3\)"),
    (lambda a: {**a, "x": a["x"].astype(complex)}, r"x: expected a real floating array"),
    (lambda a: {**a, "y": a["y"][:2]}, r"y: expected shape \(3, 2\) .* got \(2, 2\)"),
    (lambda a: {**a, "y": a["y"][:, :1]}, r"y: expected shape \(3, 2\) .* got \(3, 1\)"),
    (lambda a: {**a, "y": a["y"] + 3}, r"y: expected labels in 0\.\.2, got \d"),
    (lambda a: {**a, "y": -a["y"] - 1}, r"y: expected labels in 0\.\.2, got -\d"),
    (lambda a: {**a, "y": a["y"].astype(float)},
     r"y: expected integer class labels .* got dtype float64"),
    (lambda a: {**a, "x": np.where(a["x"] > 0, np.nan, a["x"])}, r"x: expected finite values"),
    (lambda a: {**a, "init": {k: np.zeros((5, v.shape[1])) for k, v in a["init"].items()}},
     r"INIT: expected shape \(N,\) or \(2, N\) .* got \(5, N\)"),
    (lambda a: {**a, "init": {k: np.zeros(v.shape[1] + 1) for k, v in a["init"].items()}},
     r"INIT: expected shape \(N,\) or \(2, N\) .* got \(N1,\)"),
    (lambda a: {**a, "init": {k: np.full(v.shape, np.inf) for k, v in a["init"].items()}},
     r"INIT: expected finite values"),
    (lambda a: {**a, "P": {k: v for k, v in a["P"].items() if k != "W"}}, r"params: .*missing W"),
    (lambda a: {**a, "P": {**a["P"], "b": np.zeros((4, 1))}},
     r"params\['b'\]: expected shape \(4,\), got \(4, 1\)"),
    (lambda a: {**a, "P": {**a["P"], "V": np.full((3, 4), np.inf)}},
     r"params\['V'\]: expected finite"),
]


@pytest.mark.parametrize("change, message", BAD_INPUTS)
@pytest.mark.parametrize("model", MODELS)
def test_bad_input_names_argument_expected_and_actual(model, change, message):
    rng = np.random.default_rng(1)
    P, xs, y, init = inputs(model, rng, 3, 4, 3, 3, 2, "softmax-ce")
    n = {"rnn": 4, "output-recurrence": 3}[model]
    message = message.replace("INIT", INIT[model]).replace("N1", str(n + 1)).replace("N", str(n))
    a = change({"P": P, "x": xs, "y": y, "init": init})
    for form in ("loop", "unrolled"):
        m = module(model, 3, 4, 3, "tanh", "softmax-ce", form)
        with pytest.raises(ValueError, match=message):
            m.loss_and_grad(a["P"], a["x"], a["y"], **a["init"])
        if not message.startswith("y"):  # forward checks the same arguments but y
            with pytest.raises(ValueError, match=message):
                m.forward(a["P"], a["x"], **a["init"])
        with pytest.raises(ValueError, match=message):
            m.loss(a["P"], a["x"], a["y"], **a["init"])


@pytest.mark.parametrize("model", MODELS)
def test_vector_target_validation(model):
    rng = np.random.default_rng(1)
    P, xs, y, init = inputs(model, rng, 3, 4, 3, 3, 2, "bce")
    m = module(model, 3, 4, 3, "tanh", "bce", "loop")
    with pytest.raises(ValueError, match=r"y: expected targets in \[0, 1\]"):
        m.loss(P, xs, y + 1, **init)
    with pytest.raises(ValueError, match=r"y: expected shape \(3, 2, 3\) .* got \(3, 2, 2\)"):
        m.loss(P, xs, y[..., :2], **init)
    with pytest.raises(ValueError, match=r"y: expected finite values"):
        m.loss(P, xs, np.full_like(y, np.nan), **init)
    with pytest.raises(TypeError, match="params: expected a mapping"):
        m.loss([1, 2], xs, y, **init)
    mse = module(model, 3, 4, 3, "tanh", "mse", "loop")
    assert np.isfinite(mse.loss(P, xs, y + 1, **init))  # mse targets are any real numbers


@pytest.mark.parametrize("model", MODELS)
def test_phi_is_refused_with_a_suggestion(model, capsys):
    with pytest.raises(ValueError, match=r"concrete activation.*--activation tanh"):
        emit_numpy(RNNSpec(activation="phi", model=model), "loop")
    assert cli_main(["codegen", "--model", model, "--activation", "phi"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert err.count("\n") == 1 and err.startswith("symrnn: error: ")
    assert "--activation tanh" in err and "Traceback" not in err


def test_bad_form_and_spec_are_refused():
    with pytest.raises(ValueError,
                       match="form must be one of loop, unrolled, checkpointed, got 'rolled'"):
        emit_numpy(RNNSpec(), "rolled")
    with pytest.raises(TypeError, match="spec must be an RNNSpec"):
        emit_numpy({"tau": 3}, "loop")


# ---------------------------------------------------------------- the emitted source

@pytest.mark.parametrize("act, loss", COMBOS)
@pytest.mark.parametrize("form", ["loop", "unrolled", "checkpointed"])
@pytest.mark.parametrize("model", MODELS)
def test_source_is_numpy_only_and_formatted(model, form, act, loss):
    src = module(model, 3, 4, 3, act, loss, form).SOURCE
    lines = src.splitlines()
    assert MARKER in lines[0] and "do not edit" in lines[0]
    assert lines[1] == "# Regenerate: " + codegen_command(
        RNNSpec(model=model, activation=act, loss=loss), form)
    assert f"symrnn codegen{' --model ' + model if model != 'rnn' else ''} --form {form}" \
        in lines[1]
    if (act, loss) == ("tanh", "softmax-ce"):
        assert len(lines[1]) <= 99
    lines = lines[:1] + lines[2:]  # the command is one line, however long its options
    year = str(datetime.date.today().year)
    assert not any(w in src.lower() for w in ("version", "timestamp", year))
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", src)
    imports = [n for n in ast.walk(ast.parse(src)) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [a.name for n in imports for a in n.names] == ["numpy"]
    assert all(len(x) <= 99 and x == x.rstrip() for x in lines)
    assert src.endswith("\n") and not src.endswith("\n\n")
    assert "\n\n\n\n" not in src
    # two blank lines only before a top-level definition, at most one inside a function
    for i in range(len(lines) - 2):
        if lines[i] == lines[i + 1] == "":
            assert not lines[i + 2].startswith(" "), (i + 3, lines[i + 2])
    # every scratch array a function allocates is used by it
    for fn in ast.walk(ast.parse(src)):
        if isinstance(fn, ast.FunctionDef):
            names = [n for n in ast.walk(fn) if isinstance(n, ast.Name)]
            stored = {n.id for n in names if isinstance(n.ctx, ast.Store)}
            loaded = {n.id for n in names if isinstance(n.ctx, ast.Load)}
            assert {s for s in stored if s.startswith("tmp_")} <= loaded, fn.name
    # no dense one-hot y(t), no identity matrix, no copy of an array onto itself
    assert "numpy.arange(N_OUT)" not in src and "numpy.eye" not in src
    assert not re.search(r"^ *(\S+)\[\.\.\.\] = \1$", src, re.M)
    assert ("numpy.tanh(" in src) == (act == "tanh")
    # sigmoid: e^a / (1 + e^a), in place where it is a whole equation, else by _sigmoid
    in_place = re.search(r"numpy\.minimum\(([^,]+), (tmp_\w+), out=\1\)\n *numpy\.exp\(\1, out=\1\)",
                         src)
    assert ("_sigmoid(" in src or in_place is not None) == (act == "sigmoid")
    assert "logaddexp" not in src or loss == "bce"  # the loss keeps its log-domain form


def test_rnn_source_is_optimized():
    """The note's network: tanh' from the stored h via a ufunc chain into a scratch array, one
    GEMM for all U x(t), V^T grad_o(t) for all steps in the storage of grad_h(t), parameter
    gradients as single GEMMs over stacked steps, the one-hot subtracted at the labels."""
    for form in ("loop", "unrolled"):
        src = module("rnn", 3, 4, 3, "tanh", "softmax-ce", form).SOURCE
        chain = "numpy.square(hs[{t}], out=tmp_hidden)\n{i}numpy.subtract(1, tmp_hidden, " \
                "out=tmp_hidden)\n{i}numpy.multiply(tmp_hidden, dhs[{t}], out=dhs[{t}])"
        steps = [("t", 8), ("tau", 4)] if form == "loop" else [("3", 4), ("2", 4), ("1", 4)]
        for t, n in steps:
            assert chain.format(t=t, i=" " * n) in src, (form, t)
        assert "numpy.tanh(hs[" in src and "1 - hs" not in src  # never recomputes tanh(a)
        assert "numpy.matmul(x_all, U.T, out=h_all)\n    h_all += b" in src
        assert src.count("U.T") == 1 and "\n    numpy.matmul(x_all, U.T, out=h_all)\n" in src
        # the loss's gradient, by itself: the backward pass is a vector-Jacobian product
        assert "yhat_rows[numpy.arange(len(yhat_rows)), labels.ravel()] -= 1" in src
        assert "numpy.matmul(do_all, V, out=dh_all)" in src
        for line in ("grad_W = dh_all.T @ h_prev_all", "grad_U = dh_all.T @ x_all",
                     "grad_V = do_all.T @ h_all", "grad_b = dh_all.sum(axis=0)",
                     "grad_c = do_all.sum(axis=0)"):
            assert src.count(line) == 1, line
        assert "WT = _aligned(W.T)" in src  # W^T once, contiguous, for every step's GEMM
        prev = "t - 1" if form == "loop" else "2"
        assert f"numpy.matmul(hs[{prev}], WT, out=tmp_hidden)" in src
        if form == "loop":
            assert "# grad_h(t) L = W^T grad_a(t+1) L + V^T grad_o(t) L" in src
            assert "# grad_a(t) L = diag(1 - h(t)^2) grad_h(t) L" in src
            assert src.count("for t in range(") == 2
        else:
            assert "# grad_h(2) L = W^T grad_a(3) L + V^T grad_o(2) L" in src
            assert "# grad_a(2) L = diag(1 - h(2)^2) grad_h(2) L" in src
            assert "for t in range(" not in src
        # the parameter gradients are outside every loop
        tail = src[src.index("# parameter gradients"):src.index("def _aligned")]
        assert "for t in" not in tail and "[t]" not in tail


def test_deterministic_across_hash_seeds():
    code = ("import sys; from symrnn import RNNSpec, emit_numpy; "
            "sys.stdout.write(''.join(emit_numpy(RNNSpec(tau=4, activation='relu', loss='bce', "
            "model=m), 'unrolled') for m in ('rnn', 'output-recurrence')))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, cwd=ROOT, env={**env(), "PYTHONHASHSEED": s},
                           timeout=300).stdout
            for s in ("0", "12345")}
    assert len(outs) == 1
    assert outs.pop() == "".join(emit_numpy(RNNSpec(tau=4, activation="relu", loss="bce",
                                                    model=m), "unrolled") for m in MODELS)


COMMITTED = [("generated/rnn_loop.py", "rnn", 5), ("generated/rnn_unrolled_tau3.py", "rnn", 3),
             ("generated/output_recurrence_loop.py", "output-recurrence", 5)]


@pytest.mark.parametrize("rel, model, tau", COMMITTED)
def test_committed_modules_compile_and_run(rel, model, tau):
    m = import_file(ROOT / rel, f"committed_{model.replace('-', '_')}_{tau}")
    assert m.MODEL == model and (m.ACTIVATION, m.LOSS) == ("tanh", "softmax-ce")
    P, xs, y, init = inputs(model, np.random.default_rng(0), 3, 4, 3, tau, 2, "softmax-ce")
    L, g = m.loss_and_grad(P, xs, y, **init)
    Lw, want = reference_grads(model, "tanh", "softmax-ce", P, xs, y, init)
    assert rel_err(L, Lw) <= 1e-12
    assert_grads_close(model, g, want, 1e-12)


def test_cli_writes_atomically_and_respects_foreign_files(tmp_path, capsys, monkeypatch):
    out = tmp_path / "my out"  # a folder name that needs quoting in the header
    assert cli_main(["codegen", "--form", "unrolled", "--tau", "4", "--out", str(out)]) == 0
    path = out / "rnn_unrolled_tau4.py"
    text = path.read_text()
    assert MARKER in text.splitlines()[0]
    header = text.splitlines()[1]
    assert header == "# Regenerate: " + shlex.join(
        ["symrnn", "codegen", "--form", "unrolled", "--tau", "4", "--out", str(out)])
    # the header's command, run as written, writes the same file again
    words = shlex.split(header[len("# Regenerate: "):])
    assert words[:2] == ["symrnn", "codegen"]
    assert cli_main(words[1:]) == 0 and path.read_text() == text
    foreign = out / "rnn_loop.py"
    foreign.write_text("mine\n")
    capsys.readouterr()
    assert cli_main(["codegen", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err
    assert foreign.read_text() == "mine\n"
    assert cli_main(["codegen", "--out", str(out), "--force"]) == 0
    assert MARKER in foreign.read_text()
    assert no_temp_files(out)
    # the other model, in the same folder, under its own name
    assert cli_main(["codegen", "--model", "output-recurrence", "--out", str(out)]) == 0
    other = out / "output_recurrence_loop.py"
    assert "--model output-recurrence" in other.read_text().splitlines()[1]
    assert import_file(other, "cli_output_recurrence").INITIAL == {"o0": 3}
    # without --out: the module on stdout, its header without --out
    capsys.readouterr()
    assert cli_main(["codegen", "--model", "output-recurrence", "--form", "unrolled"]) == 0
    spec = RNNSpec(model="output-recurrence")
    assert capsys.readouterr().out == emit_numpy(spec, "unrolled",
                                                 command=codegen_command(spec, "unrolled"))
    # a failure while replacing the file leaves the old one whole and no temporary file
    before = foreign.read_text()

    def fail(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    # disk full is not the user's input: exit 1, one line naming the file
    assert cli_main(["codegen", "--out", str(out), "--hidden", "5"]) == 1
    assert cli_main(["codegen", "--out", str(out)]) == 1
    assert "cannot write" in capsys.readouterr().err
    monkeypatch.undo()
    assert foreign.read_text() == before
    assert not (out / "rnn_loop_h5.py").exists()
    assert no_temp_files(out)


# ---------------------------------------------------------------- sizes and the spec

@pytest.mark.parametrize("model", MODELS)
def test_large_sizes_emit_a_correct_module(model):
    spec = RNNSpec(tau=4, n_in=40, n_hidden=33, n_out=20, model=model)
    ns: dict = {}
    exec(emit_numpy(spec, "loop"), ns)
    assert (ns["N_IN"], ns["N_HIDDEN"], ns["N_OUT"]) == (40, 33, 20)
    P, xs, y, init = inputs(model, np.random.default_rng(0), 40, 33, 20, 4, 2, "softmax-ce")
    L, g = ns["loss_and_grad"](P, xs, y, **init)
    Lw, want = reference_grads(model, "tanh", "softmax-ce", P, xs, y, init)
    assert rel_err(L, Lw) <= 1e-12
    assert_grads_close(model, g, want, 1e-12)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"n_hidden": 0}, ValueError, r"^n_hidden must be .*\b1\b.*, got 0$"),
    ({"n_in": 100_001}, ValueError, r"^n_in must be .*\b100000\b.*, got 100001$"),
    ({"n_out": -3}, ValueError, r"^n_out must be .*\b1\b.*, got -3$"),
    ({"n_out": 2.5}, TypeError, r"^n_out must be an integer"),
    ({"n_hidden": True}, TypeError, r"^n_hidden must be an integer"),
    ({"n_in": "4"}, TypeError, r"^n_in must be an integer"),
    ({"tau": 0}, ValueError, r"^tau must be"),
    ({"n_hidden": 50, "activation": "gelu"}, ValueError, r"^activation must be one of"),
    ({"loss": "hinge"}, ValueError, r"^loss must be one of"),
    ({"model": "transformer"}, ValueError, r"^model must be one of"),
])
def test_spec_validates_each_field_by_name(kwargs, error, message):
    with pytest.raises(error, match=message):
        RNNSpec(**kwargs)
    assert RNNSpec(n_in=100_000, n_hidden=1, n_out=100_000).n_in == 100_000
