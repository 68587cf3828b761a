"""The emitted modules' public functions on every registered model, every form and the example
cells: forward, loss, loss_and_grad, and the vector-Jacobian product (vjp_forward /
vjp_backward) composed with a loss of our own, against central differences, and windows that
chain exactly (the initial-state gradient of window k+1 carried back into window k)."""

from __future__ import annotations

import functools
import types
from pathlib import Path

import numpy as np
import pytest

from reference import make_inputs
from symrnn import RNNSpec, analyse, emit_numpy
from symrnn.models import MODELS, get_model

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CELLS = tuple(str(EXAMPLES / f"{e}.toml") for e in ("elman", "mgu", "peephole_lstm"))
EVERY = list(MODELS) + list(CELLS)
SIZES = (2, 3, 3)  # n_in, n_hidden, n_out


def forms(model) -> list[str]:
    m = get_model(model)
    ok = m.loss_when == "all" and all(side == "start" for _q, side in m.initial_values())
    return ["loop", "unrolled"] + (["checkpointed"] if ok else [])


#: by default the note's network, a gated cell, a backward state and a user's cell (every
#: model and cell with -m slow)
QUICK = ("rnn", "gru-torch", "bidirectional", CELLS[1])
CASES = [(model, form) for model in EVERY for form in forms(model)]


def short(model) -> str:
    return Path(model).stem if model.endswith(".toml") else model


SWEEP = [pytest.param(m, f, id=f"{short(m)}-{f}", marks=() if m in QUICK else pytest.mark.slow)
         for m, f in CASES]


@functools.lru_cache(maxsize=None)
def analysed(model, loss):
    hidden = 1 if model in CELLS[1:] else 2  # gated cells: the exact checks grow fast
    return analyse(RNNSpec(tau=3, n_in=1, n_hidden=hidden, n_out=2, loss=loss, h0="symbol",
                           model=model), certify=False)


@functools.lru_cache(maxsize=None)
def module(model, form, tau=3, loss="softmax-ce", every=None):
    spec = RNNSpec(tau=tau, n_in=SIZES[0], n_hidden=SIZES[1], n_out=SIZES[2], model=model,
                   loss=loss)
    src = emit_numpy(spec, form, results=analysed(model, loss),
                     every=every if form == "checkpointed" else None)
    m = types.ModuleType(f"gen_{short(model)}_{form}_{tau}")
    exec(compile(src, f"<{m.__name__}>", "exec"), m.__dict__)
    m.SOURCE = src
    return m


def data(model, tau, batch, seed=0, loss="softmax-ce"):
    rng = np.random.default_rng(seed)
    return make_inputs(model, rng, dict(zip(("n_in", "n_hidden", "n_out"), SIZES)), tau, batch,
                       loss)


def fwd_args(model, x, y):
    """forward's and vjp_forward's positional arguments: teacher forcing reads y."""
    return (x, y) if get_model(model).reads_target else (x,)


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def softmax(o):
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------- every public function

@pytest.mark.parametrize("model,form", SWEEP)
def test_every_function_runs_and_agrees(model, form):
    """forward (with and without the state), loss, loss_and_grad and vjp_forward on one input:
    the same loss, y^ the softmax of vjp's o, the same final state everywhere."""
    m = module(model, form)
    P, x, y, init = data(model, 3, 2)
    fa = fwd_args(model, x, y)
    outs = m.forward(P, *fa, **init)
    *states, yhat, state = m.forward(P, *fa, **init, return_state=True)
    assert len(outs) == len(states) + 1
    for a, b in zip(outs, (*states, yhat)):
        assert np.array_equal(a, b)
    L = m.loss(P, x, y, **init)
    L2, grads, state2 = m.loss_and_grad(P, x, y, **init, return_state=True)
    assert rel(L2, L) <= 1e-14
    assert set(grads) == set(m.PARAM_SHAPES) | set(m.INITIAL)
    out, final, _tape = m.vjp_forward(P, *fa, **init)
    assert set(out) == set(m.OUT_SIZES) and set(final) == set(state) == set(state2)
    for k in final:
        assert np.array_equal(final[k], state[k]) and np.array_equal(final[k], state2[k]), k
    assert yhat.shape == out[m.OUTPUT].shape
    assert rel(yhat, softmax(out[m.OUTPUT])) <= 1e-14
    rows = x.shape[0] if m.LOSS_STEPS == "all" else 1
    assert yhat.shape == (rows, x.shape[1], m.N_OUT)  # single-output: y^(tau) only
    for k, a in out.items():
        assert a.shape == (rows if k == m.OUTPUT else x.shape[0], x.shape[1], m.OUT_SIZES[k])
        assert not a.flags.writeable


def test_bidirectional_forward_returns_both_states():
    """The loop form's forward read tau outside its function (NameError) before."""
    m = module("bidirectional", "loop")
    P, x, y, init = data("bidirectional", 4, 2)
    h, g, yhat = m.forward(P, x, **init)
    out, _final, _tape = m.vjp_forward(P, x, **init)
    assert h.shape == g.shape == (4, 2, 3) and yhat.shape == (4, 2, 3)
    assert np.array_equal(h, out["h"]) and np.array_equal(g, out["g"])


# ---------------------------------------------------------------- the vjp and a loss of ours

def own_loss(m, out, seed=1):
    """0.5 ||o - T||^2 + sum_q <S_q, q(t)> over out: a loss the module does not know, and the
    gradient of it with respect to each array of out."""
    rng = np.random.default_rng(seed)
    value, d_out = 0.0, {}
    for k, a in out.items():
        if k == m.OUTPUT:
            T = rng.normal(size=a.shape)
            value += 0.5 * np.sum((a - T) ** 2)
            d_out[k] = a - T
        else:
            S = rng.normal(size=a.shape)
            value += np.sum(S * a)
            d_out[k] = S
    return value, d_out


@pytest.mark.parametrize("model", ["rnn", "bidirectional", "lstm-torch", "gru", CELLS[1]],
                         ids=["rnn", "bidirectional", "lstm-torch", "gru", "mgu"])
def test_vjp_with_a_loss_of_our_own_matches_central_differences(model):
    m = module(model, "loop")
    P, x, y, init = data(model, 4, 2, seed=3)
    fa = fwd_args(model, x, y)

    def value(Q, I):
        out, _final, _tape = m.vjp_forward(Q, *fa, **I)
        return own_loss(m, out)[0]

    out, _final, tape = m.vjp_forward(P, *fa, **init)
    grads, d_init = m.vjp_backward(P, tape, own_loss(m, out)[1])
    assert set(grads) == set(m.PARAM_SHAPES) and set(d_init) == set(m.INITIAL)
    eps = 1e-6
    for group, got in ((P, grads), (init, d_init)):
        for k in group:
            fd = np.zeros_like(group[k])
            for idx in np.ndindex(fd.shape):
                Q = {q: v.copy() for q, v in P.items()}
                I = {q: v.copy() for q, v in init.items()}
                target = Q if group is P else I
                target[k][idx] += eps
                up = value(Q, I)
                target[k][idx] -= 2 * eps
                fd[idx] = (up - value(Q, I)) / (2 * eps)
            assert np.max(np.abs(got[k] - fd)) <= 1e-6 * max(1.0, np.max(np.abs(fd))), k


@pytest.mark.parametrize("model,form", SWEEP)
def test_loss_and_grad_is_the_vjp_of_its_loss(model, form):
    """d_out = y^ - y (the loss's gradient on o) through vjp_backward gives loss_and_grad's
    gradients."""
    m = module(model, form)
    P, x, y, init = data(model, 3, 2, seed=5)
    _L, want = m.loss_and_grad(P, x, y, **init)
    out, _final, tape = m.vjp_forward(P, *fwd_args(model, x, y), **init)
    o = out[m.OUTPUT]
    d = softmax(o)
    labels = y if m.LOSS_STEPS == "all" else y[-1:]
    np.put_along_axis(d, labels[..., None], np.take_along_axis(d, labels[..., None], -1) - 1,
                      axis=-1)
    grads, d_init = m.vjp_backward(P, tape, {m.OUTPUT: d})
    for k in want:
        got = grads[k] if k in grads else d_init[k]
        assert rel(got, want[k]) <= 1e-12, k


# ---------------------------------------------------------------- windows chain exactly

def _slice_out(m, d_out, s, e, last):
    """The part of a whole-sequence d_out that belongs to steps s..e-1 (o at tau only: the
    last window's)."""
    part = {}
    for k, a in d_out.items():
        if k == m.OUTPUT and m.LOSS_STEPS != "all":
            part[k] = a if last else np.zeros_like(a)
        else:
            part[k] = a[s:e]
    return part


def _windows(model, form):
    """(module of the whole sequence, module of a window, tau of each window)."""
    if form == "unrolled":
        return module(model, form, tau=6), module(model, form, tau=3), (3, 3)
    every = 2 if form == "checkpointed" else None
    m = module(model, form, every=every)
    return m, m, (2, 4)


@pytest.mark.parametrize("model,form", SWEEP)
def test_two_windows_chain_exactly(model, form):
    """vjp over two windows, the gradient of window 2's initial state carried back into
    window 1 as the gradient of its final state, equals one vjp over the whole sequence."""
    whole_m, win_m, taus = _windows(model, form)
    tau = sum(taus)
    P, x, y, init = data(model, tau, 2, seed=7)
    fa = lambda s, e: fwd_args(model, x[s:e], y[s:e])
    out, final, tape = whole_m.vjp_forward(P, *fa(0, tau), **init)
    _v, d_out = own_loss(whole_m, out)
    want, want_init = whole_m.vjp_backward(P, tape, d_out)
    mdl = get_model(model)
    cut = taus[0]
    if any(side == "end" for _q, side in mdl.initial_values()):  # bidirectional: both ways
        ends = {k: v for k, v in init.items() if k.endswith("_end")}
        starts = {k: v for k, v in init.items() if k not in ends}
        o2, _f, _t = win_m.vjp_forward(P, *fa(cut, tau), **starts, **ends)  # g needs no h
        later = {k: o2[k[:-len("_end")]][0] for k in ends}  # g(tau1 + 1) = g(1) of window 2
        o1, f1, t1 = win_m.vjp_forward(P, *fa(0, cut), **starts, **later)
        o2, f2, t2 = win_m.vjp_forward(P, *fa(cut, tau), **f1, **ends)
        # backward: window 1's gradient of g_end does not depend on its h(tau1)
        _g, d1 = win_m.vjp_backward(P, t1, _slice_out(win_m, d_out, 0, cut, False))
        part2 = _slice_out(win_m, d_out, cut, tau, True)
        for k in ends:
            part2[k[:-len("_end")]] = part2[k[:-len("_end")]].copy()
            part2[k[:-len("_end")]][0] += d1[k]
        g2, d2 = win_m.vjp_backward(P, t2, part2)
        g1, d1 = win_m.vjp_backward(P, t1, _slice_out(win_m, d_out, 0, cut, False),
                                    {k: d2[k] for k in f1 if k in d2})
        d_first = {**{k: d1[k] for k in starts}, **{k: d2[k] for k in ends}}
    else:
        o1, f1, t1 = win_m.vjp_forward(P, *fa(0, cut), **init)
        o2, f2, t2 = win_m.vjp_forward(P, *fa(cut, tau), **f1)
        for k in final:
            assert rel(f2[k], final[k]) <= 1e-14, k
        for k in out:  # the windows' outputs are the whole sequence's
            got = np.concatenate([o1[k], o2[k]]) if whole_m.LOSS_STEPS == "all" or \
                k != whole_m.OUTPUT else o2[k]
            assert rel(got, out[k]) <= 1e-14, k
        g2, d2 = win_m.vjp_backward(P, t2, _slice_out(win_m, d_out, cut, tau, True))
        g1, d1 = win_m.vjp_backward(P, t1, _slice_out(win_m, d_out, 0, cut, False),
                                    {k: d2[k] for k in f1 if k in d2})
        d_first = d1
    for k in want:
        assert rel(g1[k] + g2[k], want[k]) <= 1e-12, k
    for k in want_init:
        assert rel(d_first[k], want_init[k]) <= 1e-12, k


@pytest.mark.parametrize("form", ["loop", "checkpointed"])
@pytest.mark.parametrize("loss", ["softmax-ce", "mse"])
def test_teacher_forcing_runs_over_windows(form, loss):
    """y(0) is an input (y0) and the last target the state: two windows equal one call, in
    the loss and every gradient (3.8e-3 and 0.46 apart before)."""
    m = module("teacher-forcing", form, loss=loss, every=2 if form == "checkpointed" else None)
    P, x, y, init = data("teacher-forcing", 7, 3, seed=2, loss=loss)
    L, g, state = m.loss_and_grad(P, x, y, return_state=True)
    L1, g1, s1 = m.loss_and_grad(P, x[:3], y[:3], return_state=True)
    assert set(s1) == {"y0"} and np.array_equal(s1["y0"], y[2])
    L2, g2, s2 = m.loss_and_grad(P, x[3:], y[3:], **s1, return_state=True)
    assert rel(L1 + L2, L) <= 1e-13
    for k in g:
        assert rel(g1[k] + g2[k], g[k]) <= 1e-12, k
    assert np.array_equal(s2["y0"], state["y0"])
    # y0 = -1 (or None) is no previous target: the zero vector
    if loss == "softmax-ce":
        assert m.loss(P, x, y, y0=np.full(3, -1)) == m.loss(P, x, y)
        with pytest.raises(ValueError, match="y0: expected labels in -1..2, got 3"):
            m.loss(P, x, y, y0=np.array([0, 3, 1]))
    # one sequence: the state is one label
    _L, _g, s = m.loss_and_grad(P, x[:, 0], y[:, 0], return_state=True)
    assert np.shape(s["y0"]) == np.shape(y[-1, 0])


def test_vjp_validates_what_it_is_given():
    m = module("rnn", "loop")
    P, x, y, init = data("rnn", 3, 2)
    out, final, tape = m.vjp_forward(P, x, **init)
    with pytest.raises(ValueError, match=r"d_out: unexpected keys 'a'"):
        m.vjp_backward(P, tape, {"a": out["o"]})
    with pytest.raises(ValueError, match=r"d_out\['h'\]: expected shape \(3, 2, 3\)"):
        m.vjp_backward(P, tape, {"h": out["h"][:2]})
    with pytest.raises(ValueError, match=r"d_final\['h0'\]: expected shape \(2, 3\)"):
        m.vjp_backward(P, tape, {}, {"h0": np.zeros(3)})
    with pytest.raises(TypeError, match="tape: expected the tape vjp_forward returned"):
        m.vjp_backward(P, ("x",), {})
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        out["o"][0] = 0
    # nothing given: zero gradients; the tape can be used again
    grads, d_init = m.vjp_backward(P, tape, {})
    assert all(not np.any(v) for v in grads.values()) and not np.any(d_init["h0"])
    a = m.vjp_backward(P, tape, {"o": np.ones_like(out["o"])})
    b = m.vjp_backward(P, tape, {"o": np.ones_like(out["o"])})
    assert all(np.array_equal(a[0][k], b[0][k]) for k in a[0])
