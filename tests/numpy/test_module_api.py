"""What the emitted modules offer for training beyond the loss and its gradients: index (token)
inputs, the initializer, sampling, the bridge to PyTorch's state_dict names, the refusal of
batch-first arrays, symrnn.load / as_module, names of a cell that the module uses itself, and
docstrings that say what the code does."""

from __future__ import annotations

import ast
import functools
import types
from pathlib import Path

import numpy as np
import pytest

from reference import make_inputs
from support import cell, import_file
from symrnn import RNNSpec, analyse, emit_numpy, load
from symrnn.backends.numpy.emitter import KERNEL_NAMES, TEMPLATE_NAMES
from symrnn.models import MODELS, get_model

GATED = ("lstm-torch", "gru-torch")


@functools.lru_cache(maxsize=None)
def analysed(model, loss="softmax-ce", act="tanh"):
    return analyse(RNNSpec(tau=3, n_in=2, n_hidden=2, n_out=2, loss=loss, activation=act,
                           h0="symbol", model=model), certify=False)


@functools.lru_cache(maxsize=None)
def module(model, form="loop", sizes=(5, 4, 3), inputs="vector", loss="softmax-ce",
           act="tanh", reduction="sum", tau=3):
    spec = RNNSpec(tau=tau, n_in=sizes[0], n_hidden=sizes[1], n_out=sizes[2], model=model,
                   loss=loss, activation=act, reduction=reduction)
    src = emit_numpy(spec, form, results=analysed(model, loss, act), inputs=inputs)
    m = types.ModuleType(f"gen_{model}_{form}_{inputs}")
    exec(compile(src, f"<{m.__name__}>", "exec"), m.__dict__)
    m.SOURCE = src
    return m


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


# ---------------------------------------------------------------- index inputs

@pytest.mark.parametrize("model", ["rnn", "teacher-forcing", "deep", *GATED])
@pytest.mark.parametrize("form", ["loop", "unrolled", "checkpointed"])
def test_index_input_is_the_one_hot_path(model, form):
    """x(t) an integer: U[:, x] forward (the same numbers as U e_x), a sum of rows by index in
    the gradient (the one-hot GEMM's up to the order of the sums)."""
    mi, mv = module(model, form, inputs="index"), module(model, form)
    rng = np.random.default_rng(1)
    P = mv.init_params(seed=2)
    tokens, y = rng.integers(0, 5, size=(3, 4)), rng.integers(0, 3, size=(3, 4))
    onehot = np.eye(5)[tokens]
    a = (tokens, y) if model == "teacher-forcing" else (tokens,)
    b = (onehot, y) if model == "teacher-forcing" else (onehot,)
    for u, v in zip(mi.forward(P, *a), mv.forward(P, *b)):
        assert np.array_equal(u, v)
    Li, gi = mi.loss_and_grad(P, tokens, y)
    Lv, gv = mv.loss_and_grad(P, onehot, y)
    assert Li == Lv
    for k in gv:
        assert rel(gi[k], gv[k]) <= 1e-14, k
    assert "_index_sum(" in mi.SOURCE and "numpy.take(" in mi.SOURCE and mi.INPUT == "index"


def test_index_input_matches_central_differences_and_is_validated():
    m = module("lstm-torch", inputs="index")
    P = m.init_params(seed=3, scale=2.0)
    rng = np.random.default_rng(4)
    tokens, y = rng.integers(0, 5, size=(4, 2)), rng.integers(0, 3, size=(4, 2))
    _L, g = m.loss_and_grad(P, tokens, y)
    eps = 1e-6
    for k in ("W_ii", "W_ig"):
        for idx in np.ndindex(P[k].shape):
            Q = {q: v.copy() for q, v in P.items()}
            Q[k][idx] += eps
            up = m.loss(Q, tokens, y)
            Q[k][idx] -= 2 * eps
            assert abs((up - m.loss(Q, tokens, y)) / (2 * eps) - g[k][idx]) <= 1e-8
    with pytest.raises(ValueError, match=r"x: expected class indices in 0..4, got 5"):
        m.loss(P, tokens + 1, y)
    with pytest.raises(ValueError, match="x: expected integer class indices"):
        m.loss(P, tokens.astype(float), y)
    L1 = m.loss(P, tokens[:, 0], y[:, 0])  # one sequence: (tau,)
    assert rel(L1, m.loss(P, tokens[:, :1], y[:, :1])) <= 1e-15


def test_index_input_refuses_a_model_that_reads_x_otherwise(tmp_path):
    path = cell(tmp_path, "h = tanh(W @ h[t-1] + U @ (x * x))\no = V @ h")
    with pytest.raises(ValueError, match="inputs index: x\\(t\\) must be read only as a matrix "
                                         "product"):
        emit_numpy(RNNSpec(model=str(path), tau=2, n_in=1, n_hidden=1, n_out=2), "loop",
                   inputs="index")


# ---------------------------------------------------------------- initializer, sampling

def test_init_params_is_pytorchs_default_and_reproducible():
    m = module("lstm-torch")
    P = m.init_params(seed=0)
    assert set(P) == set(m.PARAM_SHAPES)
    for k, v in P.items():
        assert v.shape == m.PARAM_SHAPES[k] and v.dtype == np.float64
        assert np.all(np.abs(v) <= 1 / np.sqrt(m.N_HIDDEN))
    assert all(np.array_equal(P[k], m.init_params(seed=0)[k]) for k in P)
    P32 = m.init_params(seed=0, scale=0.5, dtype=np.float32)
    assert all(v.dtype == np.float32 for v in P32.values())
    assert rel(P32["V"], 0.5 * P["V"]) <= 1e-6


@pytest.mark.parametrize("model,inputs", [("rnn", "vector"), ("lstm-torch", "index"),
                                          ("gru-torch", "vector")])
def test_sample_feeds_each_label_back(model, inputs):
    """Greedy sampling equals forward on the sequence it produced (each step's input the
    previous label), and the state it returns continues that sequence."""
    m = module(model, sizes=(3, 4, 3), inputs=inputs)
    P = m.init_params(seed=5, scale=3.0)
    first = np.array([0, 2]) if inputs == "index" else np.eye(3)[[0, 2]]
    labels, state = m.sample(P, first, 6, greedy=True)
    assert labels.shape == (6, 2) and labels.dtype.kind == "i"
    seq = np.concatenate([[[0, 2]], labels[:-1]])
    x = seq if inputs == "index" else np.eye(3)[seq]
    *_states, yhat, final = m.forward(P, x, return_state=True)
    assert np.array_equal(yhat.argmax(axis=-1), labels)
    assert all(rel(state[k], final[k]) <= 1e-14 for k in final)
    # drawn: reproducible with a seed, and from the softmax (a certain label always comes)
    a, _s = m.sample(P, first, 6, seed=3)
    assert np.array_equal(a, m.sample(P, first, 6, seed=3)[0])
    one, _s = m.sample(P, first[0], 4, seed=1)
    assert one.shape == (4,)


def test_sample_exists_where_the_output_can_be_fed_back():
    assert hasattr(module("rnn", sizes=(3, 4, 3)), "sample")
    assert not hasattr(module("rnn", sizes=(5, 4, 3)), "sample")  # n_in != n_out
    assert not hasattr(module("single-output", sizes=(3, 4, 3)), "sample")
    assert not hasattr(module("rnn", sizes=(3, 4, 3), loss="mse"), "sample")


# ---------------------------------------------------------------- PyTorch's names

def test_torch_bridge_round_trips_and_is_only_where_torch_has_the_module():
    for model in ("rnn", *GATED):
        m = module(model)
        P = m.init_params(seed=6)
        sd = m.to_torch(P)
        assert all(isinstance(v, np.ndarray) for v in sd.values())
        prefix = m.TORCH["module"].rsplit(".", 1)[1].lower() + "."
        assert {k for k in sd if k.startswith(prefix)} == {
            prefix + n for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")}
        back = m.from_torch(sd)
        assert set(back) == set(P) and all(rel(back[k], P[k]) <= 1e-15 for k in P)
        assert "import torch" not in m.SOURCE
    assert not hasattr(module("lstm"), "to_torch") and not hasattr(module("deep"), "to_torch")
    assert not hasattr(module("rnn", act="sigmoid"), "to_torch")  # nn.RNN: tanh or relu


@pytest.mark.parametrize("model", ["rnn", *GATED])
def test_torch_bridge_loads_into_torch_and_computes_the_same(model):
    torch = pytest.importorskip("torch", reason="torch is not installed (the optional oracle "
                                                "extra: pip install -e '.[oracle]')")
    m = module(model)
    P = m.init_params(seed=7, scale=2.0)
    cls = {"rnn": torch.nn.RNN, "lstm-torch": torch.nn.LSTM, "gru-torch": torch.nn.GRU}[model]
    net = torch.nn.ModuleDict({m.TORCH["module"].rsplit(".", 1)[1].lower(): cls(5, 4),
                               "linear": torch.nn.Linear(4, 3)}).double()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in m.to_torch(P).items()})
    x = np.random.default_rng(8).normal(size=(3, 2, 5))
    out, _ = net[m.TORCH["module"].rsplit(".", 1)[1].lower()](torch.from_numpy(x))
    logits = net["linear"](out).detach().numpy()
    assert rel(m.forward(P, x)[-1], torch.softmax(torch.from_numpy(logits), -1).numpy()) <= 1e-12
    back = m.from_torch(net.state_dict())
    assert all(rel(back[k], P[k]) <= 1e-15 for k in P)


# ---------------------------------------------------------------- layout

def test_batch_first_arrays_are_refused_with_the_reason():
    m = module("rnn")
    P = m.init_params(seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 2, 5)), rng.integers(0, 3, size=(6, 2))
    xb, yb = np.swapaxes(x, 0, 1), y.T  # batch-first: (batch, tau, ...)
    with pytest.raises(ValueError, match=r"y: expected shape \(2, 6\).*batch-first"):
        m.loss(P, xb, y)
    with pytest.raises(ValueError, match=r"y: expected shape \(6, 2\).*batch-first"):
        m.loss(P, x, yb)
    with pytest.raises(ValueError, match=r"h0: expected shape.*x looks batch-first"):
        m.loss(P, xb, yb, h0=np.zeros((2, 4)))
    assert "cannot be told apart" in m.__doc__


# ---------------------------------------------------------------- load, as_module

def test_load_and_as_module(tmp_path):
    spec = RNNSpec(tau=3, n_in=5, n_hidden=4, n_out=3)
    src = emit_numpy(spec, results=analysed("rnn"))
    path = tmp_path / "rnn_loop.py"
    path.write_text(src)
    m = load(path)
    n = emit_numpy(spec, results=analysed("rnn"), as_module=True)
    assert m.MODEL == n.MODEL == "rnn" and callable(n.vjp_forward)
    assert "rnn_loop" not in __import__("sys").modules
    P = m.init_params(seed=0)
    x, y = np.zeros((3, 1, 5)), np.zeros((3, 1), int)
    assert m.loss(P, x, y) == n.loss(P, x, y)
    with pytest.raises(ValueError, match="path: expected a Python file written by symrnn"):
        load(tmp_path / "missing.py")


# ---------------------------------------------------------------- names

#: the issue's names and two more by default; the rest of the module's own names in the sweep
CLASHES = ["hs", "os", "z", "s", "WT", "h0", "grad", "dh"]
MORE_CLASHES = ["dhs", "tmp", "out", "dos", "final", "state", "tape", "seed", "rows", "g", "e",
                "k", "n", "x0", "Ux", "gradW", "dhout"]


@pytest.mark.parametrize("name", CLASHES + [pytest.param(n, marks=pytest.mark.slow)
                                            for n in MORE_CLASHES])
def test_cell_names_never_clash_with_the_modules_own(tmp_path, name):
    """A parameter, or a node, named like one of the module's own names gives a module that
    runs and is right (each form): the module's names step aside."""
    from reference import reference_grads
    for slot in ("param", "node"):
        if slot == "node" and name in ("x0",):
            continue
        W, h = (name, "h") if slot == "param" else ("W", name)
        text = f'''name = "clash"
[params]
U = ["n_hidden", "n_in"]
{W} = ["n_hidden", "n_hidden"]
V = ["n_out", "n_hidden"]
b = ["n_hidden"]
[inputs]
x = "n_in"
[nodes]
{h} = "n_hidden"
o = "n_out"
[step]
equations = """
{h} = tanh(b + {W} @ {h}[t-1] + U @ x)
o = V @ {h}
"""
'''
        path = tmp_path / f"{slot}.toml"
        path.write_text(text)
        spec = RNNSpec(model=str(path), tau=3, n_in=2, n_hidden=3, n_out=2)
        res = analyse(RNNSpec(model=str(path), tau=2, n_in=1, n_hidden=2, n_out=2,
                              h0="symbol"), certify=False)
        P, xs, y, init = make_inputs(str(path), np.random.default_rng(0),
                                     {"n_in": 2, "n_hidden": 3, "n_out": 2}, 3, 2, "softmax-ce")
        Lw, want = reference_grads(str(path), "tanh", "softmax-ce", P, xs, y, init)
        for form in ("loop", "unrolled", "checkpointed"):
            m = emit_numpy(spec, form, results=res, as_module=True)
            L, g = m.loss_and_grad(P, xs, y, **init)
            assert rel(L, Lw) <= 1e-12, (slot, form)
            assert all(rel(g[k], want[k]) <= 1e-11 for k in want), (slot, form)
            out, _f, tape = m.vjp_forward(P, xs, **init)
            m.vjp_backward(P, tape, {"o": out["o"]})


def _identifiers(src: str) -> dict[str, set[str]]:
    """Every identifier each function of a module binds or reads (module level under "")."""
    out: dict[str, set[str]] = {}
    tree = ast.parse(src)

    def names(node) -> set[str]:
        got = set()
        for n in ast.walk(node):
            if isinstance(n, ast.Name):
                got.add(n.id)
            elif isinstance(n, ast.arg):
                got.add(n.arg)
            elif isinstance(n, (ast.FunctionDef, ast.ClassDef)):
                got.add(n.name)
        return got

    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = names(node)
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef):
                    out[f"{node.name}.{sub.name}"] = names(sub)
        else:
            out.setdefault("", set()).update(names(node))
    return out


KERNEL_FUNCTIONS = {"_output", "_output_and_loss", "_loss_gradient"}


QUICK_MODELS = ("rnn", "output-recurrence", "teacher-forcing", "bidirectional", "lstm-torch")


@pytest.mark.parametrize("model", [m if m in QUICK_MODELS else
                                   pytest.param(m, marks=pytest.mark.slow) for m in MODELS])
def test_the_template_names_are_all_listed(model):
    """Each identifier of a generated module is one the templates list (TEMPLATE_NAMES), a
    loss kernel's (only inside the kernels' functions) or one the emitter took from the
    model: so the namer's list is complete, and a model's name never meets the module's own."""
    from symrnn.backends.numpy.emitter import _Emitter, reflow, render  # noqa: F401
    from symrnn.pipeline import equations_for_code
    m = get_model(model)
    for form in ("loop", "unrolled", "checkpointed"):
        for inputs in ("vector", "index"):
            spec = RNNSpec(tau=3, n_in=5, n_hidden=4, n_out=3, model=model)
            try:
                src = module(model, form, inputs=inputs).SOURCE
            except ValueError:
                continue
            em = _Emitter(m, spec, form, equations_for_code(spec, analysed(model)), (),
                          inputs == "index")
            em.build()
            derived = em.derived_names()
            assert not derived & TEMPLATE_NAMES
            for fn, ids in _identifiers(src).items():
                if fn in KERNEL_FUNCTIONS:
                    assert ids <= KERNEL_NAMES | TEMPLATE_NAMES, (fn, ids - KERNEL_NAMES)
                else:
                    unknown = ids - TEMPLATE_NAMES - KERNEL_NAMES - derived
                    assert not unknown, (model, form, inputs, fn, unknown)


# ---------------------------------------------------------------- docstrings

def test_docstrings_say_what_the_code_does():
    mean = module("rnn", reduction="mean")
    assert "reduction mean" in mean.loss.__doc__ and "/ (tau * batch)" in mean.loss.__doc__
    assert "with reduction mean" not in mean.loss.__doc__.replace("(reduction mean)", "")
    assert "relu'(0)" not in module("lstm-torch").__doc__
    assert "relu'(0) = 0" in module("rnn", act="relu").__doc__
    tf = module("teacher-forcing")
    assert '"c", }' not in tf.SOURCE and '{"U", "W", "V", "b", "c"}' in tf.loss_and_grad.__doc__
    single = module("single-output", reduction="mean")
    assert "yhat (1, batch, n_out): y^(tau)" in single.forward.__doc__
    assert "/ batch" in single.loss.__doc__ and "divided by batch" in single.__doc__


def test_single_output_shapes_and_mean_agree_with_the_model():
    """single-output has one output and one loss per sequence, at tau: y^ is (1, batch, n),
    and the mean divides by the batch (the number of per-step losses)."""
    s, m = module("single-output"), module("single-output", reduction="mean")
    P, xs, y, init = make_inputs("single-output", np.random.default_rng(1),
                                 {"n_in": 5, "n_hidden": 4, "n_out": 3}, 4, 3, "softmax-ce")
    h, yhat = s.forward(P, xs, **init)
    assert h.shape == (4, 3, 4) and yhat.shape == (1, 3, 3)
    Ls, gs = s.loss_and_grad(P, xs, y, **init)
    Lm, gm = m.loss_and_grad(P, xs, y, **init)
    assert rel(Lm, Ls / 3) <= 1e-15 and all(rel(gm[k], gs[k] / 3) <= 1e-15 for k in gs)
