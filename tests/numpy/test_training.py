"""Generated modules for training: the final state (truncated BPTT over windows), the
checkpointed form against the loop form, the mean reduction, the fast path, and a character
model written by the CLI at min-char-rnn's sizes that learns."""

from __future__ import annotations

import functools
import itertools
import re
import types

import numpy as np
import pytest

from reference import make_inputs
from support import import_file
from symrnn import RNNSpec, analyse, emit_numpy, to_latex
from symrnn.backends.numpy.emitter import codegen_command, module_filename
from symrnn.cli import main as cli_main
from symrnn.models import MODELS

ACTS = ("tanh", "sigmoid", "relu", "identity")
LOSSES = ("softmax-ce", "mse", "bce")


def quick(models: list[str]) -> list:
    """The note's network and one gated cell by default, every model with -m slow."""
    return [m if m in ("rnn", "gru-torch") else pytest.param(m, marks=pytest.mark.slow)
            for m in models]


def loop_models() -> list[str]:
    """Every registered model that the loop form can emit (so has a checkpointed form too
    when its states run forward in time)."""
    return [name for name, m in MODELS.items()
            if m.loss_when == "all" and all(side == "start" for _q, side in m.initial_values())]


@functools.lru_cache(maxsize=None)
def analysed(model, act, loss):
    return analyse(RNNSpec(tau=3, n_in=2, n_hidden=3, n_out=2, activation=act, loss=loss,
                           h0="symbol", model=model), certify=False)


@functools.lru_cache(maxsize=None)
def module(model, act, loss, form, every=None, reduction="sum", sizes=(3, 5, 4)):
    spec = RNNSpec(n_in=sizes[0], n_hidden=sizes[1], n_out=sizes[2], activation=act,
                   loss=loss, model=model, reduction=reduction)
    src = emit_numpy(spec, form, results=analysed(model, act, loss), every=every)
    m = types.ModuleType(f"gen_{model}_{form}_{every}_{reduction}")
    exec(compile(src, f"<{m.__name__}>", "exec"), m.__dict__)
    m.SOURCE = src
    return m


def inputs(model, loss, tau, batch, seed=0, sizes=(3, 5, 4)):
    rng = np.random.default_rng(seed)
    return make_inputs(model, rng, {"n_in": sizes[0], "n_hidden": sizes[1], "n_out": sizes[2]},
                       tau, batch, loss, np.float64)


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


# ---------------------------------------------------------------- checkpointed = loop

#: every interval and activation for the note's network; the other models with tanh at two
#: intervals by default, the whole sweep with -m slow
CHECKPOINTED = [pytest.param(m, a, l, k, marks=() if m == "rnn" or (a, k) in (
    ("tanh", None), ("tanh", 3)) else pytest.mark.slow) for m in loop_models()
    for a, l in (("tanh", "softmax-ce"), ("sigmoid", "mse"), ("relu", "bce"),
                 ("identity", "softmax-ce")) for k in (None, 1, 3, 4, 50)]


@pytest.mark.parametrize("model, act, loss, every", CHECKPOINTED)
def test_checkpointed_agrees_with_loop(model, act, loss, every):
    tau, batch = 13, 3
    P, xs, y, init = inputs(model, loss, tau, batch)
    loop = module(model, act, loss, "loop")
    ck = module(model, act, loss, "checkpointed", every)
    l0, g0, s0 = loop.loss_and_grad(P, xs, y, **init, return_state=True)
    l1, g1, s1 = ck.loss_and_grad(P, xs, y, **init, return_state=True)
    assert rel(l1, l0) <= 1e-12
    assert g1.keys() == g0.keys()
    for k in g0:
        assert g1[k].shape == g0[k].shape and rel(g1[k], g0[k]) <= 1e-12, k
    assert s1.keys() == s0.keys()
    for k in s0:
        assert rel(s1[k], s0[k]) <= 1e-12, k
    assert rel(ck.loss(P, xs, y, **init), l0) <= 1e-12


@pytest.mark.parametrize("model", quick(loop_models()))
def test_checkpointed_single_sequence_shared_initial_value_and_float32(model):
    tau = 9
    P, xs, y, init = inputs(model, "softmax-ce", tau, 1)
    loop = module(model, "tanh", "softmax-ce", "loop")
    ck = module(model, "tanh", "softmax-ce", "checkpointed", 2)
    one = {k: v[0] for k, v in init.items()}
    l0, g0, s0 = loop.loss_and_grad(P, xs[:, 0], y[:, 0], **one, return_state=True)
    l1, g1, s1 = ck.loss_and_grad(P, xs[:, 0], y[:, 0], **one, return_state=True)
    assert rel(l1, l0) <= 1e-12
    for k in g0:
        assert g1[k].shape == g0[k].shape and rel(g1[k], g0[k]) <= 1e-12
    for k in s0:  # h0 shaped like the initial value; teacher forcing's y0 one label
        assert s1[k].shape == s0[k].shape == (one[k].shape if k in one else ())
    P32 = {k: v.astype(np.float32) for k, v in P.items()}
    l32, g32 = ck.loss_and_grad(P32, xs.astype(np.float32), y)
    assert all(g.dtype == np.float32 for g in g32.values())
    assert rel(l32, loop.loss(P, xs, y)) < 1e-4


def test_checkpointed_is_refused_where_it_does_not_apply():
    with pytest.raises(ValueError, match="every: the checkpoint interval is for form "
                                         "checkpointed"):
        emit_numpy(RNNSpec(), "loop", every=3)
    with pytest.raises(ValueError, match="every must be at least 1"):
        emit_numpy(RNNSpec(), "checkpointed", every=0)


def test_checkpointed_keeps_memory_sublinear():
    """The peak memory of loss_and_grad at tau = 400 (k = 20) against the loop form: the
    loop form keeps every state, the checkpointed one a state per segment and a segment."""
    import tracemalloc
    tau, batch = 400, 4
    P, xs, y, init = inputs("rnn", "softmax-ce", tau, batch, sizes=(3, 32, 4))
    peaks = []
    for form in ("loop", "checkpointed"):
        m = module("rnn", "tanh", "softmax-ce", form, sizes=(3, 32, 4))
        tracemalloc.start()
        m.loss_and_grad(P, xs, y, **init)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 0.25 * peaks[0], peaks


# ---------------------------------------------------------------- the final state

@pytest.mark.parametrize("model", quick(loop_models()))
@pytest.mark.parametrize("form", ["loop", "checkpointed"])
def test_state_carried_over_windows_continues_the_sequence(model, form):
    """Two windows, the second from the first's returned state, make the same loss as the
    whole sequence, and the state is the last one forward() computes."""
    tau, batch = 10, 2
    P, xs, y, init = inputs(model, "softmax-ce", tau, batch)
    m = module(model, "tanh", "softmax-ce", form)
    whole = m.loss(P, xs, y, **init)
    l1, _g, state = m.loss_and_grad(P, xs[:6], y[:6], **init, return_state=True)
    # the states, and for teacher forcing the last target y(tau) the next window reads
    assert set(state) == set(init) | ({"y0"} if MODELS[model].reads_target else set())
    l2, _g, state2 = m.loss_and_grad(P, xs[6:], y[6:], **state, return_state=True)
    assert rel(l1 + l2, whole) <= 1e-12
    # the state after two windows is the state after the whole sequence, for every state
    _l, _g, state_whole = m.loss_and_grad(P, xs, y, **init, return_state=True)
    assert set(state2) == set(state_whole)
    for name in state2:
        assert rel(state2[name], state_whole[name]) <= 1e-14, name
    if set(state2) == {"h0"}:  # and it is the last hidden state forward() computes
        assert rel(state2["h0"], m.forward(P, xs, **init)[0][-1]) <= 1e-14
    for v in state2.values():  # a copy: the next call cannot change it
        assert v.base is None
    # the default call still returns a pair
    assert len(m.loss_and_grad(P, xs, y, **init)) == 2


def test_unrolled_form_returns_the_state_too():
    P, xs, y, init = inputs("rnn", "softmax-ce", 3, 2)
    m = module("rnn", "tanh", "softmax-ce", "unrolled")
    loop = module("rnn", "tanh", "softmax-ce", "loop")
    _l, _g, s = m.loss_and_grad(P, xs, y, **init, return_state=True)
    assert rel(s["h0"], loop.forward(P, xs, **init)[0][-1]) <= 1e-14


# ---------------------------------------------------------------- reduction

@pytest.mark.parametrize("model", quick(loop_models()))
@pytest.mark.parametrize("form", ["loop", "checkpointed", "unrolled"])
@pytest.mark.parametrize("loss", LOSSES)
def test_mean_reduction_is_the_sum_over_the_count(model, form, loss):
    tau, batch = 3, 4
    P, xs, y, init = inputs(model, loss, tau, batch)
    s = module(model, "tanh", loss, form)
    m = module(model, "tanh", loss, form, reduction="mean")
    ls, gs = s.loss_and_grad(P, xs, y, **init)
    lm, gm = m.loss_and_grad(P, xs, y, **init)
    n = tau * batch
    assert rel(lm, ls / n) <= 1e-14 and rel(m.loss(P, xs, y, **init), ls / n) <= 1e-14
    for k in gs:
        assert rel(gm[k], gs[k] / n) <= 1e-14, k
    assert m.REDUCTION == "mean" and s.REDUCTION == "sum"
    assert "reduction mean" in m.SOURCE and "divided by tau * batch" in m.SOURCE


def test_mean_reduction_matches_central_differences():
    tau, batch = 4, 3
    P, xs, y, init = inputs("rnn", "softmax-ce", tau, batch)
    m = module("rnn", "tanh", "softmax-ce", "loop", reduction="mean")
    _l, g = m.loss_and_grad(P, xs, y, **init)
    eps = 1e-6
    for k in ("W", "c"):
        for idx in list(np.ndindex(P[k].shape))[:4]:
            Q = {q: v.copy() for q, v in P.items()}
            Q[k][idx] += eps
            up = m.loss(Q, xs, y, **init)
            Q[k][idx] -= 2 * eps
            fd = (up - m.loss(Q, xs, y, **init)) / (2 * eps)
            assert abs(fd - g[k][idx]) <= 1e-7 * max(1.0, abs(fd))


def test_reduction_in_filename_command_and_latex(tmp_path):
    spec = RNNSpec(reduction="mean")
    assert module_filename(spec, "loop") == "rnn_loop_mean.py"
    assert codegen_command(spec, "checkpointed", "out", 5) == \
        "symrnn codegen --form checkpointed --checkpoint-every 5 --reduction mean --out out"
    assert module_filename(spec, "checkpointed", 5) == "rnn_checkpointed_k5_mean.py"
    tex = to_latex(RNNSpec(reduction="mean", tau=2, n_in=1, n_hidden=2, n_out=2))
    assert r"\frac{1}{\tau B}" in tex and "mean of the per-step losses" in tex
    assert r"\frac{1}{\tau B}" not in to_latex(RNNSpec(tau=2, n_in=1, n_hidden=2, n_out=2))
    with pytest.raises(ValueError, match="reduction must be one of sum, mean, got 'avg'"):
        RNNSpec(reduction="avg")


# ---------------------------------------------------------------- the fast path

@pytest.mark.parametrize("model", quick(loop_models()))
@pytest.mark.parametrize("form", ["loop", "checkpointed"])
def test_fast_path_gives_the_validated_results(model, form):
    P, xs, y, init = inputs(model, "mse", 5, 2)
    m = module(model, "tanh", "mse", form)
    for args in ((xs, y, init), (xs[:, 0], y[:, 0], {k: v[0] for k, v in init.items()}),
                 (xs, y, {})):
        x_, y_, i_ = args
        l0, g0, s0 = m.loss_and_grad(P, x_, y_, **i_, return_state=True)
        l1, g1, s1 = m.loss_and_grad(P, x_, y_, **i_, return_state=True, validate=False)
        assert l1 == l0
        for k in g0:
            assert g1[k].shape == g0[k].shape and np.array_equal(g1[k], g0[k])
        for k in s0:
            assert np.array_equal(s1[k], s0[k])
        assert m.loss(P, x_, y_, **i_, validate=False) == m.loss(P, x_, y_, **i_)
        fx = (x_, y_) if MODELS[model].reads_target else (x_,)  # teacher forcing reads y
        for a, b in zip(m.forward(P, *fx, **i_, validate=False), m.forward(P, *fx, **i_)):
            assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="x: expected"):  # the default still validates
        m.loss_and_grad(P, xs[..., :2], y)


# ---------------------------------------------------------------- training over windows

def test_cli_character_model_learns_over_windows(tmp_path, capsys):
    """min-char-rnn's sizes from the command line; Adagrad over windows of a text, each
    window starting from the state the previous one returned: the loss falls."""
    assert cli_main(["codegen", "--inputs", "65", "--hidden", "100", "--outputs", "65",
                     "--out", str(tmp_path)]) == 0
    path = tmp_path / "rnn_loop_in65_h100_out65.py"
    assert capsys.readouterr().out.strip() == f"wrote {path}"
    header = path.read_text().splitlines()[1]
    assert header == f"# Regenerate: symrnn codegen --form loop --inputs 65 --hidden 100 " \
                     f"--outputs 65 --out {tmp_path}"
    m = import_file(path, "char_model")
    text = "hello world, said the rnn. " * 15  # the next letter depends on the context
    chars = sorted(set(text))
    ix = np.array([chars.index(c) for c in text])
    V, H, seq = 65, 100, 25
    rng = np.random.default_rng(0)
    P = {"U": rng.normal(size=(H, V)) * 0.01, "W": rng.normal(size=(H, H)) * 0.01,
         "V": rng.normal(size=(V, H)) * 0.01, "b": np.zeros(H), "c": np.zeros(V)}
    mem = {k: np.zeros_like(v) for k, v in P.items()}
    eye = np.eye(V)
    per_char = []
    for epoch in range(12):
        state, total, n = {}, 0.0, 0
        for p in range(0, len(ix) - seq - 1, seq):
            x, y = eye[ix[p:p + seq]], ix[p + 1:p + seq + 1]
            loss, grads, state = m.loss_and_grad(P, x, y, **state, return_state=True)
            total, n = total + loss, n + seq
            for k in P:  # min-char-rnn's Adagrad
                np.clip(grads[k], -5, 5, out=grads[k])
                mem[k] += grads[k] ** 2
                P[k] -= 0.1 * grads[k] / np.sqrt(mem[k] + 1e-8)
        per_char.append(total / n)
        assert state["h0"].shape == (H,)
    # uniform guessing among the text's letters costs log(len(chars)) per letter
    assert per_char[0] > np.log(len(chars)) > 5 * per_char[-1], per_char
    assert per_char[-1] < min(per_char[:-1])


def test_cli_checkpoint_every_needs_the_checkpointed_form(tmp_path, capsys):
    assert cli_main(["codegen", "--checkpoint-every", "4", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--checkpoint-every is for --form checkpointed" in err
    assert not list(tmp_path.iterdir())
    assert cli_main(["codegen", "--form", "checkpointed", "--checkpoint-every", "4",
                     "--reduction", "mean", "--out", str(tmp_path)]) == 0
    path = tmp_path / "rnn_checkpointed_k4_mean.py"
    m = import_file(path, "ck_module")
    assert m.CHECKPOINT_EVERY == 4 and m.FORM == "checkpointed" and m.REDUCTION == "mean"
    assert re.search(r"^# Regenerate: symrnn codegen --form checkpointed --checkpoint-every 4 "
                     r"--reduction mean --out ", path.read_text(), re.M)
