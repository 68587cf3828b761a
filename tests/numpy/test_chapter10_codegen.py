"""The generated NumPy code of the chapter-10 models beyond the note's and of the example
cell files: loop and unrolled forms against an independent autograd forward pass
(``tests/reference.py``) and against central differences, on random sizes. Every activation
and loss for each model is in the slow sweep (-m slow)."""

from __future__ import annotations

import functools
import itertools
import types
from pathlib import Path

import numpy as np
import pytest

from reference import initial_names, make_inputs, reference_grads
from symrnn import RNNSpec
from symrnn.api import emit_numpy
from symrnn.models import get_model
from symrnn.pipeline import analyse
from support import assert_matches_central_differences

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NEW = ("single-output", "teacher-forcing", "bidirectional", "deep")
CELLS = tuple(str(EXAMPLES / f"{e}.toml") for e in ("elman", "mgu", "peephole_lstm"))
COMBOS = list(itertools.product(("tanh", "sigmoid", "relu", "identity"),
                                ("softmax-ce", "mse", "bce")))
QUICK = [("tanh", "softmax-ce"), ("sigmoid", "mse"), ("identity", "bce")]


@functools.lru_cache(maxsize=None)
def analysed(model, act, loss):
    hidden = 1 if model in CELLS[1:] else 2  # gated cells: the exact checks grow fast
    return analyse(RNNSpec(tau=3, n_in=1, n_hidden=hidden, n_out=2, activation=act, loss=loss,
                           h0="symbol", model=model), certify=False)


@functools.lru_cache(maxsize=None)
def module(model, sizes, act, loss, form, tau):
    n_in, n_h, n_out = sizes
    spec = RNNSpec(tau=tau, n_in=n_in, n_hidden=n_h, n_out=n_out, activation=act, loss=loss,
                   model=model)
    src = emit_numpy(spec, form, results=analysed(model, act, loss))
    m = types.ModuleType("gen")
    exec(compile(src, "<gen>", "exec"), m.__dict__)
    return m


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def _against_autograd(model, act, loss, seed):
    rng = np.random.default_rng(seed)
    sizes = tuple(int(n) for n in rng.integers(1, 6, size=3))
    sizes = (sizes[0], sizes[1], max(sizes[2], 2))
    tau, batch = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    P, xs, y, init = make_inputs(model, rng, dict(zip(("n_in", "n_hidden", "n_out"), sizes)),
                                 tau, batch, loss)
    Lw, want = reference_grads(model, act, loss, P, xs, y, init)
    keys = {p.name for p in get_model(model).params} | {a for _n, _s, a in
                                                         initial_names(get_model(model))}
    for form in ("loop", "unrolled"):
        m = module(model, sizes, act, loss, form, tau)
        L, g = m.loss_and_grad(P, xs, y, **init)
        assert set(g) == keys == set(want)
        assert rel_err(L, Lw) <= 1e-11, (form, L, Lw)
        for k in g:
            assert g[k].shape == np.shape(want[k]), k
            assert rel_err(g[k], want[k]) <= 1e-10, (form, k, rel_err(g[k], want[k]))


@pytest.mark.parametrize("act, loss", QUICK)
@pytest.mark.parametrize("model", NEW + CELLS[:1])
def test_matches_autograd(model, act, loss):
    _against_autograd(model, act, loss, seed=hash((model[-8:], act, loss)) % 1000)


@pytest.mark.parametrize("model", CELLS[1:])
def test_gated_cells_match_autograd(model):
    _against_autograd(model, "tanh", "softmax-ce", seed=5)


@pytest.mark.slow
@pytest.mark.parametrize("act, loss", COMBOS)
@pytest.mark.parametrize("model", NEW + CELLS)
def test_matches_autograd_every_combination(model, act, loss):
    for seed in range(3):
        _against_autograd(model, act, loss, seed)


@pytest.mark.parametrize("model", NEW + CELLS)
def test_matches_central_differences(model):
    rng = np.random.default_rng(11)
    sizes, tau, batch = (2, 3, 3), 4, 2
    P, xs, y, init = make_inputs(model, rng, dict(zip(("n_in", "n_hidden", "n_out"), sizes)),
                                 tau, batch, "mse")
    m = module(model, sizes, "tanh", "mse", "loop", tau)
    assert_matches_central_differences(m, P, xs, y, init)


def test_teacher_forcing_forward_reads_the_previous_target():
    """forward takes y: h(1) sees no target (y(0) = 0), h(2) the one-hot of y(1)."""
    rng = np.random.default_rng(2)
    P, xs, y, init = make_inputs("teacher-forcing", rng, {"n_in": 2, "n_hidden": 3,
                                                         "n_out": 3}, 3, 2, "softmax-ce")
    m = module("teacher-forcing", (2, 3, 3), "tanh", "softmax-ce", "loop", 3)
    h, _yhat = m.forward(P, xs, y)
    want1 = np.tanh(P["b"] + xs[0] @ P["U"].T)
    want2 = np.tanh(P["b"] + P["W"][:, y[0]].T + xs[1] @ P["U"].T)
    assert np.allclose(h[0], want1) and np.allclose(h[1], want2)


def test_single_output_has_one_loss_at_tau():
    """L = L(tau): the targets before tau do not change the loss."""
    rng = np.random.default_rng(4)
    P, xs, y, init = make_inputs("single-output", rng, {"n_in": 2, "n_hidden": 3,
                                                       "n_out": 3}, 4, 2, "softmax-ce")
    m = module("single-output", (2, 3, 3), "tanh", "softmax-ce", "loop", 4)
    y2 = y.copy()
    y2[:-1] = (y2[:-1] + 1) % 3
    assert m.loss(P, xs, y, **init) == m.loss(P, xs, y2, **init)
    assert m.loss(P, xs, y, **init) != m.loss(P, xs, np.roll(y, 1, axis=0), **init) or \
        np.array_equal(y[-1], np.roll(y, 1, axis=0)[-1])


@pytest.mark.parametrize("model", NEW)
def test_committed_modules_match_autograd(model):
    """generated/<model>_loop.py (python -m symrnn.regenerate) on the CLI's default sizes."""
    import importlib.util
    path = EXAMPLES.parent / "generated" / f"{model.replace('-', '_')}_loop.py"
    spec = importlib.util.spec_from_file_location(f"committed_{model.replace('-', '_')}", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    assert m.MODEL == model
    P, xs, y, init = make_inputs(model, np.random.default_rng(0),
                                 {"n_in": 3, "n_hidden": 4, "n_out": 3}, 5, 2, "softmax-ce")
    L, g = m.loss_and_grad(P, xs, y, **init)
    Lw, want = reference_grads(model, "tanh", "softmax-ce", P, xs, y, init)
    assert rel_err(L, Lw) <= 1e-12
    assert all(rel_err(g[k], want[k]) <= 1e-12 for k in want)
